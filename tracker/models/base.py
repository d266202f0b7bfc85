"""Shared column helpers for the models: UTC timestamps and enum CHECK constraints."""
import enum
from datetime import datetime, timezone

import sqlalchemy as sa
from flask_babel import lazy_gettext


def N_(s: str) -> str:
    """Marks a literal for extraction (`pybabel extract -k N_`); it is translated where it is shown."""
    return s


def NP_(context: str, s: str) -> str:
    """N_ for a word that needs a context in English (`-k NP_:1c,2`); shown with pgettext."""
    return s


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(sa.types.TypeDecorator):
    """Timestamps stored in UTC and always read back timezone-aware (SQLite keeps no offset)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given where UTC is required")
            value = value.astimezone(timezone.utc)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class LabelledEnum(enum.StrEnum):
    """A string enum whose member names equal their values, with a display label each."""

    @property
    def label(self) -> str:
        return str(lazy_gettext(self._labels()[self.value]))

    @property
    def lazy_label(self):
        """The label translated when it is shown, for texts built at import time."""
        return lazy_gettext(self._labels()[self.value])

    @classmethod
    def _labels(cls) -> dict[str, str]:
        return {m.value: m.value for m in cls}

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        return [(m.value, m.lazy_label) for m in cls]  # forms built at import time stay translatable


def enum_check(column: str, enum_cls: type[enum.Enum], nullable: bool = False) -> sa.CheckConstraint:
    values = ", ".join(f"'{m.value}'" for m in enum_cls)
    sql = f"{column} IN ({values})"
    if nullable:
        sql = f"{column} IS NULL OR {sql}"
    return sa.CheckConstraint(sql, name=f"{column}_valid")
