"""Settings stored in the database and editable by admin: typed values with defaults.

`get(key)` reads the database (cached for the rest of the request in `g`), so a change made by
`set(actor, key, value)` takes effect at once, without a restart. Every change is audited.
"""
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app, g, has_request_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import Setting, Source, User, utcnow
from ..workflow import InvalidFields, fields_message
from .audit import audit


class SettingError(InvalidFields):
    """A setting value was refused; `fields` names the key (pages show it, the API answers 400)."""


@dataclass(frozen=True)
class Spec:
    key: str
    default: int
    minimum: int
    maximum: int
    label: object  # a lazy string
    help: object = ""
    allowed: tuple[int, ...] | None = None

    def parse(self, raw) -> int:
        """The typed value of `raw`, or SettingError naming what is wrong."""
        if isinstance(raw, bool):
            self._refuse(_("应为整数"))
        if isinstance(raw, str):
            raw = raw.strip()
        try:
            value = int(raw)
        except (TypeError, ValueError):
            self._refuse(_("应为整数"))
        if self.allowed is not None and value not in self.allowed:
            self._refuse(_("取值应为 %(values)s", values=_("、").join(str(a) for a in self.allowed)))
        if not self.minimum <= value <= self.maximum:
            self._refuse(_("取值应在 %(min)s 到 %(max)s 之间", min=self.minimum, max=self.maximum))
        return value

    def _refuse(self, why: str):
        raise SettingError(fields_message({self.key: why}), {self.key: why}) from None


def _handling_class_spec(source: Source) -> Spec:
    return Spec(f"default_handling_class_{source.value}", 5, 1, 10,
                _l("默认办理时限（%(source)s）", source=source.lazy_label),
                _l("该来源的问题交办时默认的“1510”类别（工作日）"), allowed=(1, 5, 10))


SPECS: dict[str, Spec] = {spec.key: spec for spec in [
    Spec("yellow_card_threshold", 3, 1, 1000, _l("黄牌警告阈值"),
         _l("责任单位逾期问题达到此数即列为黄牌警告候选")),
    Spec("stale_visit_days", 30, 1, 365, _l("走访间隔天数"),
         _l("项目超过此天数无走访记录即视为长期未走访")),
    *[_handling_class_spec(source) for source in Source],
    Spec("upload_max_mb", 10, 1, 200, _l("上传文件大小上限（MB）")),
    Spec("reminder_hour", 8, 0, 23, _l("每日提醒时间（时，0–23）")),
]}


def _spec(key: str) -> Spec:
    try:
        return SPECS[key]
    except KeyError:
        raise SettingError(_("未知设置项：%(key)s", key=key), {"key": _("未知设置项")}) from None


def _cache() -> dict | None:
    # Per request only: a long-lived app context (CLI, tests) must see others' changes at once.
    if not has_request_context():
        return None
    if "_settings_cache" not in g:
        g._settings_cache = {}
    return g._settings_cache


def get(key: str) -> int:
    """The setting's current value (its default when never set, or when the stored text is bad)."""
    spec = _spec(key)
    cache = _cache()
    if cache is not None and key in cache:
        return cache[key]
    raw = db.session.scalar(sa.select(Setting.value).where(Setting.key == key))
    value = spec.default
    if raw is not None:
        try:
            value = spec.parse(raw)
        except SettingError:
            value = spec.default
    if cache is not None:
        cache[key] = value
    return value


def get_all() -> dict[str, int]:
    """Every setting's current value, in SPECS order, with one query."""
    stored = dict(db.session.execute(sa.select(Setting.key, Setting.value)).all())
    values = {}
    for key, spec in SPECS.items():
        try:
            values[key] = spec.parse(stored[key]) if key in stored else spec.default
        except SettingError:
            values[key] = spec.default
    return values


def upload_max_bytes() -> int:
    """The upload size limit: admin's setting (upload_max_mb) once set, else the deployment's
    UPLOAD_MAX_BYTES (config, default 10 MB)."""
    stored = db.session.scalar(sa.select(Setting.value).where(Setting.key == "upload_max_mb"))
    if stored is not None:
        return get("upload_max_mb") * 1024 * 1024
    return int(current_app.config.get("UPLOAD_MAX_BYTES", SPECS["upload_max_mb"].default << 20))


def default_handling_class(source: Source | str) -> int:
    return get(f"default_handling_class_{Source(source).value}")


def set(actor: User, key: str, value) -> int:  # noqa: A001 - the seam's name
    """Validate and store one setting; audited with before/after; returns the typed value."""
    spec = _spec(key)
    new = spec.parse(value)
    old = get(key)
    row = db.session.get(Setting, key)
    if old == new and row is not None:
        return new
    actor_id = actor.id if actor is not None else None
    if row is None:
        row = Setting(key=key, value=str(new))
        db.session.add(row)
    row.value, row.updated_by_id, row.updated_at = str(new), actor_id, utcnow()
    audit(actor, "setting.change", "setting", None, {"key": key, "before": old, "after": new})
    db.session.flush()
    cache = _cache()
    if cache is not None:
        cache[key] = new
    return new


def set_many(actor: User, values: dict) -> dict[str, int]:
    """Validate all values first (naming each bad key), then store the ones that changed."""
    errors: dict[str, str] = {}
    parsed: dict[str, int] = {}
    for key, raw in values.items():
        try:
            parsed[key] = _spec(key).parse(raw)
        except SettingError as error:
            errors.update(error.fields if key in SPECS else {key: _("未知设置项")})
    if errors:
        raise SettingError(fields_message(errors), errors)
    current = get_all()
    return {key: set(actor, key, value) for key, value in parsed.items() if current[key] != value}
