"""The risk register (重大风险点): the one place that creates risks and changes their level or
status, the register as of any moment, and headquarters' weekly risk figures.

Like tracker.workflow for problems: every change of level or status appends a RiskChange in the
same flush, and bad input raises the workflow's error classes (InvalidFields 400, NotAllowed 403,
StaleVersion 409) so pages and the API answer them the same way. Services flush, never commit.
"""
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import aliased, selectinload

from ..calendar import TZ
from ..extensions import db
from ..models import (Department, Problem, Project, Risk, RiskCategory, RiskChange, RiskLevel,
                      RiskStatus, Role, Stage, User, Visit, utcnow)
from ..visibility import risk_condition
from ..workflow import InvalidFields, NotAllowed, StaleVersion, fields_message, record
from .audit import audit

LEVEL_RANK = {RiskLevel.high: 3, RiskLevel.medium: 2, RiskLevel.low: 1}
OPEN_STATUSES = (RiskStatus.watching, RiskStatus.mitigated)
EDITABLE = ("title", "description", "category", "stage", "department_id")


# ---------------------------------------------------------------- who may change

def can_change(project: Project, actor: User) -> bool:
    """The project's current supervisor and admin keep the register; everyone else reads."""
    return actor.role is Role.admin or (
        actor.role is Role.supervisor and project.supervisor_id == actor.id)


def _require_change(project: Project, actor: User) -> None:
    if not can_change(project, actor):
        raise NotAllowed(_l("只有该项目的纪检监察员或管理员可以维护风险点"))


# ---------------------------------------------------------------- field parsing

def _raise(errors: dict) -> None:
    if errors:
        raise InvalidFields(fields_message(errors), errors)


def _enum(enum_cls, value, name: str, errors: dict, required: bool = True):
    if value is None or value == "":
        if required:
            errors[name] = _("必填")
        return None
    try:
        return enum_cls(value)
    except ValueError:
        errors[name] = _("取值无效：%(value)s", value=str(value)[:40])
        return None


def _text(value, name: str, errors: dict, required: bool = True, max_len: int = 5000) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors[name] = _("必填")
        return ""
    if not isinstance(value, str):
        errors[name] = _("应为文本")
        return ""
    if len(value.strip()) > max_len:
        errors[name] = _("不能超过 %(n)s 字", n=max_len)
    return value.strip()


def _department_id(value, name: str, errors: dict) -> int | None:
    if value in (None, ""):
        return None
    dept_id = _int_or_none(value)
    dept = db.session.get(Department, dept_id) if dept_id is not None else None
    if dept is None or not dept.active:
        errors[name] = _("没有这个单位")
        return None
    return dept.id


# ---------------------------------------------------------------- the register's changes

def create_risk(actor: User, project: Project, *, title: str, category: RiskCategory | str,
                level: RiskLevel | str, description: str = "", stage: Stage | str | None = None,
                department_id: int | None = None, status: RiskStatus | str = RiskStatus.watching,
                reason: str = "", visit: Visit | None = None, at: datetime | None = None) -> Risk:
    """Register a risk point on `project` with its first RiskChange (from nothing)."""
    _require_change(project, actor)
    errors: dict = {}
    title = _text(title, "title", errors, max_len=200)
    description = _text(description, "description", errors, required=False)
    category = _enum(RiskCategory, category, "category", errors)
    level = _enum(RiskLevel, level, "level", errors)
    status = _enum(RiskStatus, status, "status", errors)
    stage = _enum(Stage, stage, "stage", errors, required=False) or project.stage
    department_id = _department_id(department_id, "department_id", errors)
    reason = _text(reason, "reason", errors, required=False)
    if visit is not None and visit.project_id != project.id:
        errors["visit_id"] = _("走访记录不属于该项目")
    _raise(errors)
    at = at or utcnow()
    risk = Risk(project=project, project_id=project.id, title=title, description=description,
                stage=stage, category=category, level=level, status=status,
                department_id=department_id, created_by_id=actor.id, created_at=at, updated_at=at)
    db.session.add(risk)
    db.session.flush()
    db.session.add(RiskChange(risk_id=risk.id, at=at, actor_id=actor.id,
                              visit_id=visit.id if visit else None, from_level=None,
                              to_level=level, from_status=None, to_status=status,
                              reason=reason or "登记风险点"))  # stored: the source language
    db.session.flush()
    return risk


def change_risk(actor: User, risk: Risk, *, level: RiskLevel | str | None = None,
                status: RiskStatus | str | None = None, reason: str = "",
                version: int | None = None, visit: Visit | None = None,
                at: datetime | None = None, **edits) -> RiskChange | None:
    """Re-rate, re-status or edit `risk`; the only code that changes a risk's level or status.

    A change of level or status needs a `reason` and appends a RiskChange (returned); edits of
    title, description, category, stage or department need none, bump the version and are
    audited. Values equal to the current ones are no change. Raises InvalidFields, NotAllowed
    or StaleVersion and then changes nothing.
    """
    _require_change(risk.project, actor)  # who first: a reader is refused, not told "stale"
    if version is not None and _int_or_none(version) != risk.version:
        raise StaleVersion(_l("该风险点已被他人更新，请刷新后再试"))
    unknown = set(edits) - set(EDITABLE)
    if unknown:
        raise InvalidFields(_("不能修改这些字段"), {name: _("不能修改") for name in sorted(unknown)})
    errors: dict = {}
    new_level = _enum(RiskLevel, level, "level", errors, required=False)
    new_status = _enum(RiskStatus, status, "status", errors, required=False)
    reason = _text(reason, "reason", errors, required=False)
    if visit is not None and visit.project_id != risk.project_id:
        errors["visit_id"] = _("走访记录不属于该项目")
    updates = _parse_edits(risk, edits, errors)
    rerated = ((new_level is not None and new_level is not risk.level)
               or (new_status is not None and new_status is not risk.status))
    if rerated and not reason and "reason" not in errors:
        errors["reason"] = _("调整风险等级或状态须说明理由")
    _raise(errors)
    if not rerated and not updates:
        return None

    at = at or utcnow()
    change = None
    if rerated:
        change = RiskChange(risk_id=risk.id, at=at, actor_id=actor.id,
                            visit_id=visit.id if visit else None,
                            from_level=risk.level, to_level=new_level or risk.level,
                            from_status=risk.status, to_status=new_status or risk.status,
                            reason=reason)
        risk.level, risk.status = change.to_level, change.to_status
        db.session.add(change)
    if updates:
        audit(actor, "risk.edit", "risk", risk.id,
              {name: [_plain(getattr(risk, name)), _plain(value)] for name, value in updates.items()})
        for name, value in updates.items():
            setattr(risk, name, value)
    risk.updated_at = max(risk.updated_at, at) if risk.updated_at else at
    db.session.flush()
    return change


def _int_or_none(value) -> int | None:
    """An integer a database column can hold, else None."""
    try:
        number = int(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None
    return number if number is not None and -2**63 < number < 2**63 else None


def _plain(value):
    return value.value if hasattr(value, "value") else value


def _parse_edits(risk: Risk, edits: dict, errors: dict) -> dict:
    """The edits that differ from the risk's current values, validated."""
    updates: dict = {}
    for name, raw in edits.items():
        if raw is None:
            continue
        if name == "title":
            value = _text(raw, name, errors, max_len=200)
        elif name == "description":
            value = _text(raw, name, errors, required=False)
        elif name == "category":
            value = _enum(RiskCategory, raw, name, errors)
        elif name == "stage":
            value = _enum(Stage, raw, name, errors)
        else:  # department_id; "" clears it
            value = _department_id(raw, name, errors)
        if name not in errors and value != getattr(risk, name):
            updates[name] = value
    return updates


def rerate_from_visit(actor: User, visit: Visit, changes: list[dict],
                      at: datetime | None = None) -> list[RiskChange]:
    """Re-rate several risks of the visit's project in one go: all of them or none.

    Each entry of `changes` is a dict (`rerate_changes_from_form` builds them from a form)::

        {"risk_id": 12, "level": "high" | "medium" | "low" | None,
         "status": "watching" | "mitigated" | "closed" | None,
         "reason": "why", "version": 3 (optional, the version the form showed)}

    Entries whose level and status equal the current ones are skipped. Every problem in every
    entry is collected first; if there is any, InvalidFields names each as
    `risks-<risk_id>-<field>` (e.g. `risks-12-reason`) and nothing is written. Otherwise each
    change is written with `visit_id` set, and the RiskChange rows are returned.
    """
    planned, errors = _plan_rerates(actor, visit.project, changes)
    _raise(errors)
    at = at or utcnow()
    return [change_risk(actor, risk, level=level, status=status, reason=reason, visit=visit, at=at)
            for risk, level, status, reason in planned]


def check_rerates(actor: User, project: Project, changes: list[dict]) -> dict[str, str]:
    """The errors `rerate_from_visit` would raise, without writing anything: lets a visit form
    show the visit's own errors and the re-ratings' together before the visit exists."""
    try:
        return _plan_rerates(actor, project, changes)[1]
    except InvalidFields as error:
        return error.fields


def _plan_rerates(actor: User, project: Project, changes) -> tuple[list, dict[str, str]]:
    if not isinstance(changes, list):
        raise InvalidFields(_("风险点调整数据有误"), {"risks": _("应为列表")})
    ids = []
    for entry in changes:
        rid = _int_or_none(entry.get("risk_id")) if isinstance(entry, dict) else None
        if rid is None:
            raise InvalidFields(_("风险点调整数据有误"), {"risks": _("缺少风险点编号")})
        ids.append(rid)
    _require_change(project, actor)
    risks = {r.id: r for r in db.session.scalars(
        sa.select(Risk).where(Risk.id.in_(ids), Risk.project_id == project.id))}

    errors: dict = {}
    planned = []
    for entry, rid in zip(changes, ids):
        prefix = f"risks-{rid}-"
        risk = risks.get(rid)
        if risk is None:
            errors[prefix + "risk_id"] = _("该项目没有这个风险点")
            continue
        if entry.get("version") not in (None, "") and _int_or_none(entry["version"]) != risk.version:
            errors[prefix + "version"] = _("该风险点已被他人更新，请刷新后再试")
            continue
        own: dict = {}
        level = _enum(RiskLevel, entry.get("level"), "level", own, required=False)
        status = _enum(RiskStatus, entry.get("status"), "status", own, required=False)
        reason = _text(entry.get("reason"), "reason", own, required=False)
        rerated = ((level is not None and level is not risk.level)
                   or (status is not None and status is not risk.status))
        if rerated and not reason and "reason" not in own:
            own["reason"] = _("调整风险等级或状态须说明理由")
        errors.update({prefix + k: v for k, v in own.items()})
        if rerated and not own:
            planned.append((risk, level, status, reason))
    return planned, errors


_RERATE_KEY = re.compile(r"^risks-(\d{1,18})-(level|status|reason|version)$")


def rerate_changes_from_form(formdata) -> list[dict]:
    """The `changes` list for rerate_from_visit from form fields named `risks-<id>-level`,
    `risks-<id>-status`, `risks-<id>-reason`, `risks-<id>-version` (as
    templates/risks/_visit_rerate.html names them), in the order the risks appear."""
    entries: dict[int, dict] = {}
    for key in formdata.keys():
        match = _RERATE_KEY.match(key)
        if match:
            rid = int(match.group(1))
            entries.setdefault(rid, {"risk_id": rid})[match.group(2)] = formdata.get(key)
    return list(entries.values())


def materialise(actor: User, risk: Risk, *, title: str | None = None, description: str = "",
                at: datetime | None = None) -> Problem:
    """The risk happened: open a problem on the problem list, linked to the risk."""
    _require_change(risk.project, actor)
    problem = record(risk.project, actor, title=title or risk.title,
                     description=description or risk.description, source="other",
                     risk_id=risk.id, at=at)
    audit(actor, "risk.materialise", "risk", risk.id, {"problem_id": problem.id})
    return problem


# ---------------------------------------------------------------- reading the register

@dataclass(frozen=True)
class RiskState:
    """A risk as the register stood at a moment: level and status from its RiskChange rows."""
    risk_id: int
    project_id: int
    title: str
    stage: Stage
    category: RiskCategory
    department_id: int | None
    level: RiskLevel
    status: RiskStatus


def _as_of(until: datetime):
    """An alias of RiskChange and the ON clause that joins each Risk to its last change at or
    before `until` (the register as it stood then).

    A correlated "latest row" lookup per risk rides the (risk_id, at) index, so the cost grows
    with the risks asked about, not with the length of their histories.
    """
    state = aliased(RiskChange, name="risk_state")
    later = aliased(RiskChange, name="risk_change_candidates")
    latest = (sa.select(later.id).where(later.risk_id == Risk.id, later.at <= until)
              .order_by(later.at.desc(), later.id.desc()).limit(1)
              .correlate(Risk).scalar_subquery())
    return state, state.id == latest


def register_as_of(project_id: int | None, at: datetime, user: User | None = None
                   ) -> list[RiskState]:
    """The register of one project (or of all, `None`) as it stood at `at`.

    Risks registered later are absent; level and status are those the history gave at `at`.
    Title, stage, category and department are today's (their edits are audited, not versioned).
    With `user`, only what that user may see.
    """
    state, as_of = _as_of(at)
    query = (sa.select(Risk.id, Risk.project_id, Risk.title, Risk.stage, Risk.category,
                       Risk.department_id, state.to_level, state.to_status)
             .select_from(Risk).join(state, as_of)
             .order_by(Risk.project_id, Risk.id))
    if project_id is not None:
        query = query.where(Risk.project_id == project_id)
    if user is not None:
        query = query.where(risk_condition(user))
    return [RiskState(*row) for row in db.session.execute(query)]


def level_rank_sql(column) -> sa.Case:
    return sa.case({lvl.value: rank for lvl, rank in LEVEL_RANK.items()}, value=column, else_=0)


def open_high_risks(user: User, limit: int = 20) -> list[Risk]:
    """Open high risks the user may see, most recently changed first (for my-work, dashboard)."""
    return list(db.session.scalars(
        sa.select(Risk).where(risk_condition(user), Risk.level == RiskLevel.high,
                              Risk.status.in_(OPEN_STATUSES))
        .options(selectinload(Risk.project))
        .order_by(Risk.updated_at.desc(), Risk.id.desc()).limit(limit)))


# ---------------------------------------------------------------- headquarters' weekly figures

def parse_week(week: str | date | None, today: date | None = None) -> date:
    """The Monday of an ISO week given as '2026-W47', any date in it, or None (this week)."""
    if week is None or week == "":
        day = today or datetime.now(TZ).date()
    elif isinstance(week, date):
        day = week
    else:
        try:
            year, _sep, num = str(week).strip().upper().partition("-W")
            day = date.fromisocalendar(int(year), int(num), 1)
        except ValueError:
            raise InvalidFields(_("周次格式应为 2026-W47"), {"week": _("格式应为 2026-W47")}) from None
    if not 1970 <= day.year <= 2999:  # keeps week arithmetic (previous/next) inside the calendar
        raise InvalidFields(_("周次超出范围"), {"week": _("周次超出范围")})
    return day - timedelta(days=day.weekday())


def week_label(monday: date) -> str:
    year, num, _day = monday.isocalendar()
    return f"{year}-W{num:02d}"


@dataclass(frozen=True)
class ProjectRisk:
    """One project's open risks, by level."""
    project_id: int
    code: str
    name: str
    stage: Stage
    highest: RiskLevel
    high: int
    medium: int
    low: int


@dataclass(frozen=True)
class HeatCell:
    high: int = 0
    medium: int = 0
    low: int = 0

    @property
    def total(self) -> int:
        return self.high + self.medium + self.low

    @property
    def top(self) -> RiskLevel | None:
        for lvl in RiskLevel:
            if getattr(self, lvl.value):
                return lvl
        return None


@dataclass(frozen=True)
class WeekChanges:
    """Risks that, during the week, were newly registered, raised, lowered or closed."""
    new: int = 0
    raised: int = 0
    lowered: int = 0
    closed: int = 0


@dataclass(frozen=True)
class ChangeRow:
    at: datetime
    risk_id: int
    title: str
    project_id: int
    project_name: str
    from_level: RiskLevel | None
    to_level: RiskLevel
    from_status: RiskStatus | None
    to_status: RiskStatus
    reason: str
    actor_name: str | None


@dataclass(frozen=True)
class RiskFigures:
    week: str
    starts_on: date
    ends_on: date               # the Sunday
    open_by_level: dict[RiskLevel, int]
    projects: list[ProjectRisk]  # by highest open level, then counts
    heat: dict[tuple[Stage, RiskCategory], HeatCell]
    changes: WeekChanges
    recent: list[ChangeRow] = field(default_factory=list)

    @property
    def open_total(self) -> int:
        return sum(self.open_by_level.values())

    @property
    def stages(self) -> list[Stage]:
        return list(Stage)

    @property
    def categories(self) -> list[RiskCategory]:
        return list(RiskCategory)

    def cell(self, stage: Stage, category: RiskCategory) -> HeatCell:
        return self.heat.get((stage, category), HeatCell())


def _week_bounds(monday: date) -> tuple[datetime, datetime]:
    start = datetime.combine(monday, datetime.min.time(), tzinfo=TZ)
    return start, start + timedelta(days=7)


def risk_figures(user: User, week: str | date | None = None, *, projects_limit: int = 100,
                 recent_limit: int = 50) -> RiskFigures:
    """Headquarters' risk figures for an ISO week (Monday–Sunday, Asia/Shanghai), in SQL.

    Open risks (watching or mitigated), the projects ranked by their highest open level and the
    stage × category heat table are the register as it stood at the end of the week (so a past
    week's figures do not change); "changed this week" counts distinct risks whose RiskChange
    rows in the week were a registration (new), a higher or lower level, or a move to closed.
    A risk can count under more than one heading (new and raised in the same week).
    """
    monday = parse_week(week)
    start, end = _week_bounds(monday)
    until = end - timedelta(microseconds=1)
    state, as_of = _as_of(until)
    visible = risk_condition(user)
    open_ = state.to_status.in_([s.value for s in OPEN_STATUSES])
    rank = level_rank_sql(state.to_level)

    def level_count(lvl: RiskLevel):
        return sa.func.sum(sa.case((state.to_level == lvl.value, 1), else_=0))

    open_by_level = {lvl: 0 for lvl in RiskLevel}
    for lvl, n in db.session.execute(
            sa.select(state.to_level, sa.func.count()).select_from(Risk)
            .join(state, as_of).where(visible, open_)
            .group_by(state.to_level)):
        open_by_level[RiskLevel(lvl)] = n

    top = sa.func.max(rank).label("top")
    project_rows = db.session.execute(
        sa.select(Project.id, Project.code, Project.name, Project.stage, top,
                  level_count(RiskLevel.high), level_count(RiskLevel.medium),
                  level_count(RiskLevel.low))
        .select_from(Risk).join(state, as_of)
        .join(Project, Project.id == Risk.project_id).where(visible, open_)
        .group_by(Project.id, Project.code, Project.name, Project.stage)
        .order_by(top.desc(), level_count(RiskLevel.high).desc(),
                  level_count(RiskLevel.medium).desc(), Project.code)
        .limit(projects_limit)).all()
    by_rank = {rank_: lvl for lvl, rank_ in LEVEL_RANK.items()}
    projects = [ProjectRisk(pid, code, name, Stage(stage), by_rank[top_], high, medium, low)
                for pid, code, name, stage, top_, high, medium, low in project_rows]

    heat: dict[tuple[Stage, RiskCategory], HeatCell] = {}
    for stage, category, high, medium, low in db.session.execute(
            sa.select(Risk.stage, Risk.category, level_count(RiskLevel.high),
                      level_count(RiskLevel.medium), level_count(RiskLevel.low))
            .select_from(Risk).join(state, as_of).where(visible, open_)
            .group_by(Risk.stage, Risk.category)):
        heat[(Stage(stage), RiskCategory(category))] = HeatCell(high, medium, low)

    in_week = sa.and_(RiskChange.at >= start, RiskChange.at < end)
    to_rank = level_rank_sql(RiskChange.to_level)
    from_rank = level_rank_sql(RiskChange.from_level)

    def distinct_risks(condition):
        return sa.func.count(sa.distinct(sa.case((condition, RiskChange.risk_id))))

    counts = db.session.execute(
        sa.select(
            distinct_risks(RiskChange.from_level.is_(None)),
            distinct_risks(sa.and_(RiskChange.from_level.is_not(None), to_rank > from_rank)),
            distinct_risks(sa.and_(RiskChange.from_level.is_not(None), to_rank < from_rank)),
            distinct_risks(sa.and_(RiskChange.to_status == RiskStatus.closed.value,
                                   sa.or_(RiskChange.from_status.is_(None),
                                          RiskChange.from_status != RiskStatus.closed.value))),
        ).select_from(RiskChange).join(Risk, Risk.id == RiskChange.risk_id)
        .where(visible, in_week)).one()
    changes = WeekChanges(*(n or 0 for n in counts))

    recent_rows = db.session.execute(
        sa.select(RiskChange.at, Risk.id, Risk.title, Project.id, Project.name,
                  RiskChange.from_level, RiskChange.to_level, RiskChange.from_status,
                  RiskChange.to_status, RiskChange.reason, User.name)
        .select_from(RiskChange).join(Risk, Risk.id == RiskChange.risk_id)
        .join(Project, Project.id == Risk.project_id)
        .outerjoin(User, User.id == RiskChange.actor_id)
        .where(visible, in_week)
        .order_by(RiskChange.at.desc(), RiskChange.id.desc()).limit(recent_limit)).all()
    recent = [ChangeRow(*row) for row in recent_rows]
    return RiskFigures(week=week_label(monday), starts_on=monday,
                       ends_on=monday + timedelta(days=6), open_by_level=open_by_level,
                       projects=projects, heat=heat, changes=changes, recent=recent)


def change_kind(row) -> str:
    """How one RiskChange reads: new, raised, lowered, closed, reopened or restated."""
    if row.from_level is None:
        return "new"
    if row.to_status is RiskStatus.closed and row.from_status is not RiskStatus.closed:
        return "closed"
    if row.from_status is RiskStatus.closed and row.to_status is not RiskStatus.closed:
        return "reopened"
    if LEVEL_RANK[row.to_level] > LEVEL_RANK[row.from_level]:
        return "raised"
    if LEVEL_RANK[row.to_level] < LEVEL_RANK[row.from_level]:
        return "lowered"
    return "status"


CHANGE_KIND_LABELS = {"new": _l("新增"), "raised": _l("升级"), "lowered": _l("降级"),
                      "closed": _l("关闭"), "reopened": _l("重新关注"), "status": _l("状态调整")}
