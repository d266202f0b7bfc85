"""Key projects as use cases: create and edit, assign the supervisor, move through the stages.

Plain functions of (actor, …) that pages, the API, the import and the CLI all call. They flush and
never commit; errors are the workflow's (InvalidFields 400, NotAllowed 403, IllegalMove 409,
StaleVersion 409), each naming the bad fields.
"""
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_sqlalchemy.pagination import SelectPagination

from ..calendar import local_today
from ..extensions import db
from ..models import (ChecklistItem, ChecklistTemplate, Level, Problem, ProblemStatus, Project,
                      Role, Stage, StageChange, SupervisorAssignment, User, utcnow)
from ..workflow import IllegalMove, InvalidFields, NotAllowed, StaleVersion, fields_message
from .audit import audit

FINAL = (ProblemStatus.closed, ProblemStatus.withdrawn)
ACTIVE = tuple(s for s in ProblemStatus if s not in FINAL)  # IN (…) uses the status indexes
MAX_INVESTMENT = Decimal("999999999999.99")  # Numeric(14, 2)

# Field: (maximum length, required).
TEXT_FIELDS = {"code": (32, True), "name": (200, True), "category": (50, True),
               "responsible_unit": (100, False), "owner": (200, False), "location": (200, False)}
EDITABLE = (*TEXT_FIELDS, "level", "investment_wan")

LEVEL_WORDS = {"省重点": Level.provincial, "省级": Level.provincial, "省重点项目": Level.provincial,
               "市重点": Level.municipal, "市级": Level.municipal, "市重点项目": Level.municipal,
               "县重点": Level.county, "县级": Level.county, "县重点项目": Level.county}
STAGE_WORDS = {"招商签约": Stage.signing, "审批落地开工": Stage.approval, "审批落地": Stage.approval,
               "工程建设实施": Stage.construction, "工程建设": Stage.construction,
               "验收结算资金": Stage.acceptance, "验收结算": Stage.acceptance,
               "完成": Stage.completed, "已完成": Stage.completed}


# ---------------------------------------------------------------- parsing the fields

def normalise_text(value) -> str:
    """Full-width characters to their ASCII forms, stray and inner runs of spaces collapsed."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFKC", str(value)).replace("\u3000", " ")
    return re.sub(r"\s+", " ", text).strip()


def parse_level(value) -> Level | None:
    text = normalise_text(value)
    if text in LEVEL_WORDS:
        return LEVEL_WORDS[text]
    try:
        return Level(text.lower())
    except ValueError:
        return None


def parse_stage(value) -> Stage | None:
    if isinstance(value, Stage):
        return value
    text = normalise_text(value)
    if text in STAGE_WORDS:
        return STAGE_WORDS[text]
    try:
        return Stage(text.lower())
    except ValueError:
        return None


def parse_investment(value) -> tuple[Decimal | None, str | None]:
    """万元 as a Decimal with two places, or the reason it is not one."""
    if isinstance(value, bool):
        return None, _("应为数字（万元）")
    if isinstance(value, (int, float, Decimal)):
        text = str(value)
    else:
        text = normalise_text(value).replace(",", "").replace(" ", "").replace("万元", "")
    if not text:
        return None, _("必填")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None, _("“%(value)s”不是数字（万元）", value=normalise_text(value))
    if not amount.is_finite():
        return None, _("应为数字（万元）")
    if amount < 0:
        return None, _("总投资不能为负数")
    if amount > MAX_INVESTMENT:
        return None, _("总投资过大")
    return amount.quantize(Decimal("0.01")), None


def clean_fields(raw: dict, *, partial: bool = False) -> tuple[dict, dict[str, str]]:
    """Checked values of the editable fields present in `raw` and a reason for each bad one.

    Without `partial`, every required field must be there.
    """
    clean, errors = {}, {}
    for name, (max_len, required) in TEXT_FIELDS.items():
        if name not in raw:
            if required and not partial:
                errors[name] = _("必填")
            continue
        value = normalise_text(raw[name])
        if name == "code":
            value = value.replace(" ", "")
        if required and not value:
            errors[name] = _("必填")
        elif len(value) > max_len:
            errors[name] = _("不能超过 %(n)s 字", n=max_len)
        else:
            clean[name] = value
    if "level" in raw:
        level = parse_level(raw["level"])
        if level is None:
            errors["level"] = _("项目级别应为 省重点/市重点/县重点（provincial/municipal/county）")
        else:
            clean["level"] = level
    elif not partial:
        errors["level"] = _("必填")
    if "investment_wan" in raw:
        amount, reason = parse_investment(raw["investment_wan"])
        if reason:
            errors["investment_wan"] = reason
        else:
            clean["investment_wan"] = amount
    elif not partial:
        errors["investment_wan"] = _("必填")
    return clean, errors


def _raise(errors: dict[str, str]) -> None:
    if errors:
        raise InvalidFields(fields_message(errors), errors)


def _require_admin(actor: User, refusal) -> None:
    """`refusal` is the whole lazy message, e.g. _l("只有管理员可以登记重点项目")."""
    if actor.role is not Role.admin:
        raise NotAllowed(refusal)


def code_taken(code: str, except_id: int | None = None) -> bool:
    query = sa.select(Project.id).where(Project.code == code)
    if except_id is not None:
        query = query.where(Project.id != except_id)
    return db.session.scalar(query) is not None


# ---------------------------------------------------------------- create and edit

def create_project(actor: User, raw: dict, *, stage: Stage | str = Stage.signing,
                   supervisor: User | None = None, changed_on: date | None = None,
                   at: datetime | None = None) -> Project:
    """Register a key project in `stage` (its first timeline entry) with its checklist."""
    _require_admin(actor, _l("只有管理员可以登记重点项目"))
    clean, errors = clean_fields(raw)
    stage_value = parse_stage(stage)
    if stage_value is None:
        errors["stage"] = _("阶段取值无效")
    if "code" in clean and code_taken(clean["code"]):
        errors["code"] = _("项目编号已存在")
    if supervisor is not None and (reason := supervisor_problem(supervisor)):
        errors["supervisor_id"] = reason
    _raise(errors)
    at = at or utcnow()
    project = Project(stage=stage_value, created_at=at, **clean)
    db.session.add(project)
    db.session.flush()
    db.session.add(StageChange(project_id=project.id, from_stage=None, to_stage=stage_value,
                               changed_on=changed_on or local_today(at), note="纳入重点项目",
                               actor_id=actor.id, at=at))
    give_checklist([project], stage_value)
    if supervisor is not None:
        db.session.add(SupervisorAssignment(project_id=project.id, user_id=supervisor.id,
                                            assigned_by_id=actor.id, started_at=at))
    audit(actor, "project.create", "project", project.id, {"code": project.code})
    db.session.flush()
    return project


def update_project(actor: User, project: Project, raw: dict, *,
                   version: int | None = None) -> Project:
    """Change the registry fields (not the stage or supervisor, which have their own moves)."""
    _require_admin(actor, _l("只有管理员可以修改重点项目"))
    if version is not None and version != project.version:
        raise StaleVersion(_l("该项目已被他人更新，请刷新后再试"))
    clean, errors = clean_fields({k: v for k, v in raw.items() if k in EDITABLE}, partial=True)
    if "code" in clean and code_taken(clean["code"], except_id=project.id):
        errors["code"] = _("项目编号已存在")
    _raise(errors)
    changed = {}
    for name, value in clean.items():
        if getattr(project, name) != value:
            changed[name] = [_jsonable(getattr(project, name)), _jsonable(value)]
            setattr(project, name, value)
    if changed:
        audit(actor, "project.update", "project", project.id, changed)
        db.session.flush()
    return project


def _jsonable(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Level):
        return value.value
    return value


# ---------------------------------------------------------------- supervisors

def supervisor_problem(user: User | None) -> str | None:
    """Why `user` cannot supervise a project, or None."""
    if user is None:
        return _("没有这个用户")
    if user.role is not Role.supervisor:
        return _("只能指派项目纪检监察员")
    if not user.active:
        return _("该用户已停用")
    return None


def assign_supervisor(actor: User, project: Project, user: User, *, note: str = "",
                      at: datetime | None = None) -> SupervisorAssignment:
    """Give `project` to `user`: the active assignment ends and the new one opens (admin only).

    Assigning the current supervisor again changes nothing and answers the current assignment.
    """
    _require_admin(actor, _l("只有管理员可以指派纪检监察员"))
    errors = {}
    if reason := supervisor_problem(user):
        errors["user_id"] = reason
    note = normalise_text(note)
    if len(note) > 500:
        errors["note"] = _("不能超过 %(n)s 字", n=500)
    _raise(errors)
    at = at or utcnow()
    current = db.session.scalar(sa.select(SupervisorAssignment).where(
        SupervisorAssignment.project_id == project.id, SupervisorAssignment.ended_at.is_(None)))
    if current is not None and current.user_id == user.id:
        return current
    previous_id = None
    if current is not None:
        previous_id = current.user_id
        current.ended_at = max(at, current.started_at)
        db.session.flush()  # the one active row per project is a unique index: end it first
    assignment = SupervisorAssignment(project_id=project.id, user_id=user.id,
                                      assigned_by_id=actor.id, started_at=at, note=note)
    db.session.add(assignment)
    audit(actor, "project.supervisor", "project", project.id,
          {"from_user_id": previous_id, "to_user_id": user.id, "note": note})
    db.session.flush()
    db.session.expire(project, ["current_assignment"])
    return assignment


def end_assignment(actor: User, project: Project, *, note: str = "",
                   at: datetime | None = None) -> SupervisorAssignment | None:
    """Leave `project` without a supervisor for now (admin only); the history keeps the old one."""
    _require_admin(actor, _l("只有管理员可以调整纪检监察员"))
    current = db.session.scalar(sa.select(SupervisorAssignment).where(
        SupervisorAssignment.project_id == project.id, SupervisorAssignment.ended_at.is_(None)))
    if current is None:
        return None
    at = at or utcnow()
    current.ended_at = max(at, current.started_at)
    audit(actor, "project.supervisor", "project", project.id,
          {"from_user_id": current.user_id, "to_user_id": None, "note": normalise_text(note)})
    db.session.flush()
    db.session.expire(project, ["current_assignment"])
    return current


def assignment_history(project: Project) -> list[SupervisorAssignment]:
    """Who held the project when, newest first."""
    return list(db.session.scalars(
        sa.select(SupervisorAssignment).where(SupervisorAssignment.project_id == project.id)
        .options(sa.orm.joinedload(SupervisorAssignment.assigned_by))
        .order_by(SupervisorAssignment.started_at.desc(), SupervisorAssignment.id.desc())))


# ---------------------------------------------------------------- stages

def open_problems_of_stage(project: Project, stage: Stage | None = None) -> int:
    """Problems of the (current) stage not yet crossed off or withdrawn."""
    return db.session.scalar(
        sa.select(sa.func.count(Problem.id)).where(
            Problem.project_id == project.id, Problem.stage == (stage or project.stage),
            Problem.status.not_in(FINAL))) or 0


def give_checklist(projects: list[Project] | list[int], stage: Stage, *,
                   new: bool = False) -> int:
    """Add the active template lines of `stage` that each project does not have yet.

    Takes projects or their ids (`new`: just created, so they have none); the rows go in with
    one bulk INSERT (an import adds thousands).
    """
    if stage not in Stage.supervised() or not projects:
        return 0
    templates = list(db.session.scalars(
        sa.select(ChecklistTemplate).where(ChecklistTemplate.stage == stage,
                                           ChecklistTemplate.active.is_(True))
        .order_by(ChecklistTemplate.position, ChecklistTemplate.id)))
    if not templates:
        return 0
    ids = [p if isinstance(p, int) else p.id for p in projects]
    have = set() if new else _existing_items(ids, templates)
    rows = [{"project_id": pid, "template_id": t.id, "stage": stage, "text": t.text,
             "position": t.position, "note": "", "version": 1}
            for pid in ids for t in templates if (pid, t.id) not in have]
    if rows:
        db.session.execute(ChecklistItem.__table__.insert(), rows)
    return len(rows)


def _existing_items(ids: list[int], templates: list[ChecklistTemplate]) -> set[tuple[int, int]]:
    have = set()
    for start in range(0, len(ids), 900):
        chunk = ids[start:start + 900]
        have |= set(db.session.execute(
            sa.select(ChecklistItem.project_id, ChecklistItem.template_id)
            .where(ChecklistItem.project_id.in_(chunk),
                   ChecklistItem.template_id.in_([t.id for t in templates]))).all())
    return have


@dataclass(frozen=True)
class StageRule:
    """What a move from the project's stage to `to_stage` needs."""

    backward: bool
    skips: bool
    open_problems: int

    @property
    def admin_only(self) -> bool:
        return self.backward or self.skips or self.open_problems > 0

    @property
    def needs_reason(self) -> bool:
        return self.backward or self.open_problems > 0


def stage_rule(project: Project, to_stage: Stage) -> StageRule:
    backward = to_stage.order < project.stage.order
    skips = to_stage.order > project.stage.order + 1
    return StageRule(backward=backward, skips=skips,
                     open_problems=0 if backward else open_problems_of_stage(project))


def last_stage_change(project: Project) -> StageChange | None:
    return db.session.scalar(sa.select(StageChange).where(StageChange.project_id == project.id)
                             .order_by(StageChange.changed_on.desc(), StageChange.id.desc())
                             .limit(1))


def move_stage(actor: User, project: Project, to_stage: Stage | str, *, changed_on: date | None,
               note: str = "", reason: str | None = None, at: datetime | None = None,
               version: int | None = None) -> StageChange:
    """Move `project` to `to_stage` on `changed_on`, recorded on its timeline.

    The project gets the checklist items of the new stage. Moving on while problems of the current
    stage are open, skipping a stage, or moving back (a correction) needs an admin; the first and
    the last need a stated reason, which is recorded.
    """
    at = at or utcnow()
    if not (actor.role is Role.admin or
            (actor.role is Role.supervisor and project.supervisor_id == actor.id)):
        raise NotAllowed(_l("只有该项目的纪检监察员或管理员可以推进阶段"))
    if version is not None and version != project.version:
        raise StaleVersion(_l("该项目已被他人更新，请刷新后再试"))
    errors: dict[str, str] = {}
    stage = parse_stage(to_stage)
    if stage is None:
        errors["stage"] = _("阶段取值无效")
    elif stage is project.stage:
        errors["stage"] = _("项目已处于“%(stage)s”阶段", stage=stage.label)
    if changed_on is None:
        errors["changed_on"] = _("必填")
    elif changed_on > local_today(at):
        errors["changed_on"] = _("日期不能晚于今天")
    elif (last := last_stage_change(project)) is not None and changed_on < last.changed_on:
        errors["changed_on"] = _("日期不能早于上一次阶段变更（%(day)s）",
                                 day=last.changed_on.isoformat())
    note = (note or "").strip()
    reason = (reason or "").strip()
    if len(note) > 2000:
        errors["note"] = _("不能超过 %(n)s 字", n=2000)
    if len(reason) > 2000:
        errors["reason"] = _("不能超过 %(n)s 字", n=2000)
    _raise(errors)
    rule = stage_rule(project, stage)
    if rule.admin_only and actor.role is not Role.admin:
        if rule.backward:
            raise NotAllowed(_l("阶段回退属于更正，只有管理员可以操作"))
        if rule.open_problems:
            raise NotAllowed(_l("本阶段还有 %(n)s 个问题未销号，需由管理员说明理由后推进",
                                n=rule.open_problems))
        raise NotAllowed(_l("跳过阶段需由管理员操作"))
    if rule.needs_reason and not reason:
        why = (_("阶段回退须说明更正理由") if rule.backward else
               _("本阶段还有 %(n)s 个问题未销号，推进须说明理由", n=rule.open_problems))
        raise InvalidFields(why, {"reason": why})
    change = StageChange(project_id=project.id, from_stage=project.stage, to_stage=stage,
                         changed_on=changed_on, note=note,
                         reason=reason if rule.needs_reason or reason else None,
                         actor_id=actor.id, at=at)
    db.session.add(change)
    previous = project.stage
    project.stage = stage
    items = give_checklist([project], stage)
    audit(actor, "project.stage", "project", project.id,
          {"from": previous.value, "to": stage.value, "open_problems": rule.open_problems,
           "reason": reason, "checklist_items": items})
    db.session.flush()
    return change


def stage_history(project: Project) -> list[StageChange]:
    """The timeline, oldest first."""
    return list(db.session.scalars(
        sa.select(StageChange).where(StageChange.project_id == project.id)
        .options(sa.orm.joinedload(StageChange.actor))
        .order_by(StageChange.changed_on, StageChange.id)))


# ---------------------------------------------------------------- lists and figures

SORTS = {
    "code": lambda: Project.code,
    "name": lambda: Project.name,
    "level": lambda: sa.case({lv.value: i for i, lv in enumerate(Level)}, value=Project.level),
    "stage": lambda: sa.case({st.value: i for i, st in enumerate(Stage)}, value=Project.stage),
    "investment": lambda: Project.investment_wan,
    "supervisor": lambda: _current_supervisor.name,
}
# The current supervisor, outer-joined only when the list is sorted by supervisor.
_current_assignment = sa.orm.aliased(SupervisorAssignment, name="current_assignment")
_current_supervisor = sa.orm.aliased(User, name="current_supervisor")


@dataclass
class ListFilters:
    """What the project list (page or API) is narrowed and ordered by."""

    q: str = ""
    stage: Stage | None = None
    level: Level | None = None
    category: str = ""
    supervisor_id: int | None = None
    unassigned: bool = False
    overdue: bool = False
    sort: str = "code"
    descending: bool = False


def _overdue_condition(today: date):
    return sa.and_(Problem.status.in_(ACTIVE), Problem.due_on < today)


def list_query(base: sa.Select, filters: ListFilters, today: date | None = None) -> sa.Select:
    """`base` (a visible(Project, user) select) narrowed and ordered by `filters`."""
    query = base
    if filters.q:
        like = f"%{_escape_like(filters.q)}%"
        if any(c.isascii() and c.isalpha() for c in filters.q):  # "hd003" finds "HD003"
            query = query.where(sa.or_(Project.name.ilike(like, escape="\\"),
                                       Project.code.ilike(like, escape="\\")))
        else:  # Chinese has no case: plain LIKE spares lower() on every row
            query = query.where(sa.or_(Project.name.like(like, escape="\\"),
                                       Project.code.like(like, escape="\\")))
    if filters.stage is not None:
        query = query.where(Project.stage == filters.stage)
    if filters.level is not None:
        query = query.where(Project.level == filters.level)
    if filters.category:
        query = query.where(Project.category == filters.category)
    if filters.supervisor_id is not None:
        query = query.where(Project.id.in_(
            sa.select(SupervisorAssignment.project_id).where(
                SupervisorAssignment.user_id == filters.supervisor_id,
                SupervisorAssignment.ended_at.is_(None))))
    if filters.unassigned:
        query = query.where(~Project.id.in_(
            sa.select(SupervisorAssignment.project_id)
            .where(SupervisorAssignment.ended_at.is_(None))))
    if filters.overdue:
        # EXISTS probes the (project_id, status) index once a project
        query = query.where(sa.exists().where(Problem.project_id == Project.id,
                                              _overdue_condition(today or local_today())))
    if filters.sort == "supervisor":
        query = (query.outerjoin(_current_assignment, sa.and_(
                     _current_assignment.project_id == Project.id,
                     _current_assignment.ended_at.is_(None)))
                 .outerjoin(_current_supervisor,
                            _current_supervisor.id == _current_assignment.user_id))
    column = SORTS.get(filters.sort, SORTS["code"])()
    order = column.desc() if filters.descending else column.asc()
    return query.order_by(order, Project.id.desc() if filters.descending else Project.id)


def paginate(query: sa.Select, page: int, per_page: int):
    """A page of `query` for the pager macro; the total counts ids only, not whole rows."""
    return _CountingPagination(select=query, session=db.session(), page=page, per_page=per_page,
                               error_out=False, count=True)


class _CountingPagination(SelectPagination):
    def _query_count(self) -> int:
        query = self._query_args["select"]
        ids = query.order_by(None).with_only_columns(Project.id).subquery()
        return self._query_args["session"].scalar(sa.select(sa.func.count()).select_from(ids))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class RiskSigns:
    open: int = 0
    overdue: int = 0
    escalated: int = 0


def risk_signs(project_ids: list[int], today: date | None = None) -> dict[int, RiskSigns]:
    """Open, overdue and escalated problem counts of each project, in one GROUP BY."""
    if not project_ids:
        return {}
    today = today or local_today()
    active = Problem.status.in_(ACTIVE)
    rows = db.session.execute(
        sa.select(Problem.project_id,
                  sa.func.count(Problem.id),
                  sa.func.count(sa.case((_overdue_condition(today), Problem.id))),
                  sa.func.count(sa.case((Problem.escalation > 0, Problem.id))))
        .where(Problem.project_id.in_(project_ids), active)
        .group_by(Problem.project_id)).all()
    return {pid: RiskSigns(open=o, overdue=d, escalated=e) for pid, o, d, e in rows}


def categories() -> list[str]:
    return list(db.session.scalars(
        sa.select(Project.category).distinct().order_by(Project.category)))


def supervisors(include_inactive: bool = False) -> list[User]:
    query = sa.select(User).where(User.role == Role.supervisor).order_by(User.name)
    if not include_inactive:
        query = query.where(User.active.is_(True))
    return list(db.session.scalars(query))


@dataclass(frozen=True)
class Workload:
    user: User
    projects: int
    investment_wan: Decimal
    open_problems: int
    overdue_problems: int


def workload(today: date | None = None) -> list[Workload]:
    """Each supervisor's current projects and their open and overdue problems (SQL aggregates)."""
    today = today or local_today()
    active = SupervisorAssignment.ended_at.is_(None)
    per_project = (sa.select(SupervisorAssignment.user_id,
                             sa.func.count(Project.id).label("projects"),
                             sa.func.coalesce(sa.func.sum(Project.investment_wan), 0).label("inv"))
                   .join(Project, Project.id == SupervisorAssignment.project_id)
                   .where(active).group_by(SupervisorAssignment.user_id).subquery())
    per_problem = (sa.select(SupervisorAssignment.user_id,
                             sa.func.count(Problem.id).label("open"),
                             sa.func.count(sa.case((_overdue_condition(today), Problem.id)))
                             .label("overdue"))
                   .join(Problem, Problem.project_id == SupervisorAssignment.project_id)
                   .where(active, Problem.status.in_(ACTIVE))
                   .group_by(SupervisorAssignment.user_id).subquery())
    rows = db.session.execute(
        sa.select(User, per_project.c.projects, per_project.c.inv, per_problem.c.open,
                  per_problem.c.overdue)
        .outerjoin(per_project, per_project.c.user_id == User.id)
        .outerjoin(per_problem, per_problem.c.user_id == User.id)
        .where(User.role == Role.supervisor,
               sa.or_(User.active.is_(True), per_project.c.projects > 0))
        .order_by(sa.func.coalesce(per_project.c.projects, 0).desc(), User.name)).all()
    return [Workload(u, p or 0, Decimal(inv or 0), o or 0, d or 0) for u, p, inv, o, d in rows]


def import_actor(username: str | None = None) -> User | None:
    """The admin a command-line import is recorded under: the one named, or the first active."""
    query = sa.select(User).where(User.role == Role.admin, User.active.is_(True))
    if username:
        query = query.where(User.username == username)
    return db.session.scalar(query.order_by(User.id).limit(1))


def workload_projects(per_supervisor: int = 8,
                      today: date | None = None) -> dict[int, list[tuple[int, str, str, int, int]]]:
    """Each supervisor's projects with the most open problems first (at most `per_supervisor`):
    user id → [(project id, code, name, open, overdue)], in one windowed query."""
    today = today or local_today()
    problems = (sa.select(Problem.project_id,
                          sa.func.count(Problem.id).label("open"),
                          sa.func.count(sa.case((Problem.due_on < today, Problem.id))).label("late"))
                .where(Problem.status.in_(ACTIVE)).group_by(Problem.project_id).subquery())
    open_count = sa.func.coalesce(problems.c.open, 0)
    late_count = sa.func.coalesce(problems.c.late, 0)
    ranked = (sa.select(SupervisorAssignment.user_id, Project.id, Project.code, Project.name,
                        open_count.label("open"), late_count.label("late"),
                        sa.func.row_number().over(
                            partition_by=SupervisorAssignment.user_id,
                            order_by=(late_count.desc(), open_count.desc(), Project.code))
                        .label("rank"))
              .join(Project, Project.id == SupervisorAssignment.project_id)
              .outerjoin(problems, problems.c.project_id == Project.id)
              .where(SupervisorAssignment.ended_at.is_(None)).subquery())
    rows = db.session.execute(
        sa.select(ranked.c.user_id, ranked.c.id, ranked.c.code, ranked.c.name, ranked.c.open,
                  ranked.c.late)
        .where(ranked.c.rank <= per_supervisor).order_by(ranked.c.user_id, ranked.c.rank)).all()
    out: dict[int, list[tuple[int, str, str, int, int]]] = {}
    for user_id, *project in rows:
        out.setdefault(user_id, []).append(tuple(project))
    return out
