"""A closed week's pack, produced once and then served as stored.

Every figure of a pack is "as of" the end of its Sunday, so a past week's pack comes out the same
whenever it is produced (exports.py) — at a province's size it takes half a minute to produce, and
then nothing needs producing again unless something written later reaches back into the week.
The pack is stored with the high-water marks (largest ids) of the tables it is counted from, and
before it is served again one statement asks whether anything written since could change it:

- a problem event or a risk change timed before the week's end (a back-dated entry, an import);
- a problem registered before the week's end;
- a visit dated on or before the Sunday (visits are often entered a few days late);
- any audited change other than those listed in HARMLESS: names of projects, departments and
  people, supervisor assignments, project stages, settings (the yellow-card line), the calendar,
  the risk register.

Work done after the week — transitions, new problems, visits dated later — leaves it as it is.
Any write that does reach back, or another version of the code, translations or holiday package,
makes the next download produce the pack again and store it in place of the old one; each scope
(headquarters, or one user) and language has a pack of its own. The week still in progress is
always produced fresh, and a week is stored only once it has been over for SETTLE (a write begun
before Sunday midnight has long committed by then).
"""
import hashlib
import time
import zipfile
from datetime import date, timedelta
from functools import lru_cache
from importlib import metadata
from io import BytesIO
from pathlib import Path

import sqlalchemy as sa
from flask_babel import get_locale
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import (AuditEntry, Problem, ProblemEvent, RiskChange, StoredPack, User, Visit,
                      utcnow)
from ..visibility import sees_everything
from . import exports
from .metrics import bound_of, iso_week

SETTLE = timedelta(hours=1)

# Audited actions that cannot change a past week's pack: sign-ins, refusals and passwords, and
# records the pack does not show (checklists, evidence, accountability). A visit's own effect —
# being dated in the week — is checked on the visits themselves.
HARMLESS = (
    "signin", "signin.failed", "refused", "user.password", "user.password_reset", "visit.create",
    "attachment.add", "checklist_item.mark", "checklist_template.add",
    "checklist_template.reword", "checklist_template.restore", "accountability.record",
    "accountability.decide",
)

# What each mark watches: (the table's id, the column that places a row in time — None: any row
# not HARMLESS counts —, True when that column is a date rather than an instant).
WATCHED = {
    "events": (ProblemEvent.id, ProblemEvent.at, False),
    "problems": (Problem.id, Problem.created_at, False),
    "visits": (Visit.id, Visit.visited_on, True),
    "risk_changes": (RiskChange.id, RiskChange.at, False),
    "audit": (AuditEntry.id, None, None),
}


def weekly_zip(user: User | None, monday: date) -> tuple[str, bytes]:
    """(ISO week, zip of the week's pack) as `user` may see it (None: headquarters, the CLI):
    the stored pack while it still stands, else a fresh one (stored when the week is over)."""
    week, sunday = iso_week(monday), monday + timedelta(days=6)
    if utcnow() < bound_of(sunday) + SETTLE:
        return week, exports.weekly_pack(user, monday).zip_bytes()
    key = {"week": week, "scope": scope_of(user), "locale": str(get_locale())}
    stored = db.session.scalar(sa.select(StoredPack).filter_by(**key))
    if stored is not None and stored.code == code_version() and not changed_since(
            stored.marks, sunday):
        return week, stored.data
    marks = high_water_marks()  # before counting: whatever is written meanwhile is after them
    started = time.perf_counter()
    data = exports.weekly_pack(user, monday).zip_bytes()
    _store(key, marks, data, time.perf_counter() - started)
    return week, data


def files_of(week: str, data: bytes) -> dict[str, bytes]:
    """The pack's files (name → bytes) out of its zip."""
    with zipfile.ZipFile(BytesIO(data)) as archive:
        return {name.removeprefix(f"{week}/"): archive.read(name) for name in archive.namelist()}


def scope_of(user: User | None) -> str:
    """Who sees the same pack: headquarters and leadership see everything; anyone else their own."""
    return "all" if user is None or sees_everything(user) else f"user:{user.id}"


def high_water_marks() -> dict[str, int]:
    """The largest id of every watched table (0 when empty), in one statement."""
    row = db.session.execute(sa.select(*(
        sa.select(sa.func.coalesce(sa.func.max(column), 0)).scalar_subquery().label(name)
        for name, (column, _, _) in WATCHED.items()))).one()
    return dict(row._mapping)


def changed_since(marks: dict[str, int], sunday: date) -> bool:
    """Whether anything written after `marks` reaches back to `sunday` or before (one
    statement; each part is a range of the primary key: the rows written since, not the years)."""
    bound = bound_of(sunday)
    parts = []
    for name, (column, placed, is_date) in WATCHED.items():
        since = column > int(marks.get(name, 0))
        if placed is None:
            condition = sa.and_(since, AuditEntry.action.not_in(HARMLESS))
        else:
            condition = sa.and_(since, placed <= (sunday if is_date else bound))
        parts.append(sa.exists().where(condition))
    return any(db.session.execute(sa.select(*parts)).one())


@lru_cache(maxsize=1)
def code_version() -> str:
    """A digest of what draws a pack — the application's code and translations and the holiday
    calendar's version — so a deploy that changes any of them produces packs afresh."""
    digest = hashlib.sha256()
    root = Path(__file__).resolve().parent.parent
    for path in sorted([*root.rglob("*.py"), *root.parent.glob("translations/*/LC_MESSAGES/*.po")]):
        digest.update(path.relative_to(root.parent).as_posix().encode())
        digest.update(path.read_bytes())
    try:
        digest.update(metadata.version("chinesecalendar").encode())
    except metadata.PackageNotFoundError:  # pragma: no cover - a dependency of the app
        pass
    return digest.hexdigest()


def _store(key: dict, marks: dict[str, int], data: bytes, seconds: float) -> None:
    """Keep the pack in place of any older one (its own commit: a pack outlives the request).
    Two workers producing the same pack at once both serve theirs; the second store yields."""
    try:
        db.session.execute(sa.delete(StoredPack).filter_by(**key))
        db.session.add(StoredPack(**key, code=code_version(), marks=marks, data=data,
                                  built_at=utcnow(), build_seconds=round(seconds, 3)))
        db.session.commit()
    except IntegrityError:
        db.session.rollback()

