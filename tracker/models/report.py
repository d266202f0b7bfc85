"""Reports kept once produced: the weekly pack of a closed week."""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, utcnow


class StoredPack(db.Model):
    """The zip of one closed week's pack as one scope saw it in one language, with the
    high-water marks of the tables it was counted from (reports/stored.py decides whether
    anything written since reaches back into the week)."""

    __tablename__ = "stored_packs"
    __table_args__ = (sa.UniqueConstraint("week", "scope", "locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    week: Mapped[str] = mapped_column(sa.String(8))  # 2026-W47
    scope: Mapped[str] = mapped_column(sa.String(32))  # "all", or "user:<id>"
    locale: Mapped[str] = mapped_column(sa.String(16))
    code: Mapped[str] = mapped_column(sa.String(64))  # what drew it (stored.code_version)
    marks: Mapped[dict] = mapped_column(sa.JSON)
    built_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    build_seconds: Mapped[float]
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)
