""""My work" (ball in court): what waits on a user now, most urgent first.

Each role runs a fixed handful of queries whatever the data size; an item names a problem or a
project with its due date and how many working days it is overdue. Pages and the API share it.
"""
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext, pgettext
from sqlalchemy.orm import aliased

from ..calendar import TZ, WorkCalendar, end_of_local_day, load_calendar, local_today
from ..extensions import db
from ..models import (ESCALATION_LABELS, Action, ChecklistItem, Problem, ProblemEvent,
                      ProblemStatus, Project, Risk, RiskLevel, Role, Stage, SupervisorAssignment,
                      User, Visit)
from ..models.base import N_
from ..templating import cn_date
from ..visibility import problem_condition
from .risks import OPEN_STATUSES as OPEN_RISK_STATUSES
from .risks import open_high_risks
from ..workflow import WorkflowError

S = ProblemStatus
ACTIVE = (S.open, S.assigned, S.rectifying, S.rectified)
HANDED_OVER = (S.assigned, S.rectifying)

STALE_VISIT_DAYS = 30        # default of the `stale_visit_days` setting
YELLOW_CARD_THRESHOLD = 3    # default of the `yellow_card_threshold` setting


def setting(key: str, default: int) -> int:
    """An admin setting through tracker.services.settings, or its default without that module."""
    try:
        from . import settings
    except ImportError:  # the settings service is optional for this module
        return default
    try:
        return settings.get(key)
    except WorkflowError:  # a key that service does not know (yet): the default
        return default


# kind -> (rank among items of equal urgency, label shown on the page)
KINDS = {
    "overdue": (0, N_("已逾期")),
    "instruction": (1, N_("领导批示")),
    "due_soon": (2, N_("即将到期")),
    "extension_request": (3, N_("延期申请待审批")),
    "escalated": (4, N_("升级督办")),
    "to_accept": (5, N_("待签收")),
    "to_report": (6, N_("待反馈整改")),
    "to_revisit": (7, N_("待回访")),
    "to_assign": (8, N_("待交办")),
    "unchecked_items": (9, N_("监督清单未检查")),
    "stale_project": (10, N_("长期未走访")),
    "no_supervisor": (11, N_("未配备纪检监察员")),
    "high_risk": (12, N_("高风险点")),
}


class WorkingDaysBack:
    """Working days in (day, today] for many days at once: the calendar is walked back from today
    once, instead of once per item."""

    def __init__(self, calendar: WorkCalendar, today: date):
        self.calendar, self.today = calendar, today
        self._count = {today: 0}
        self._earliest = today

    def since(self, day: date) -> int:
        if day >= self.today:
            return 0
        while self._earliest > day:
            d = self._earliest
            self._count[d - timedelta(days=1)] = self._count[d] + self.calendar.is_workday(d)
            self._earliest = d - timedelta(days=1)
        return self._count[day]


@dataclass
class WorkItem:
    kind: str
    title: str
    problem_id: int | None = None
    project_id: int | None = None
    due_on: date | None = None
    overdue_days: int = 0
    project_name: str = ""
    status: ProblemStatus | None = None
    detail: str = ""          # e.g. the leader's instruction, the requested date

    @property
    def label(self) -> str:
        return gettext(KINDS[self.kind][1])

    def sort_key(self):
        return (-self.overdue_days, self.due_on or date.max, KINDS[self.kind][0],
                self.problem_id or 0, self.project_id or 0)


@dataclass
class WeekFigures:
    """The viewer's headline figures for the current ISO week (Asia/Shanghai)."""

    week_start: date
    week_end: date
    registered: int = 0
    closed: int = 0
    open: int = 0
    overdue: int = 0
    escalated: int = 0
    visits: int = 0
    total: int = 0
    closed_total: int = 0

    @property
    def closure_rate(self) -> float | None:
        return self.closed_total / self.total if self.total else None


@dataclass
class MyWork:
    items: list[WorkItem] = field(default_factory=list)
    figures: WeekFigures | None = None
    # How many items of each kind wait in all (with a `limit`, more than `items` holds).
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def my_work(user: User, today: date | None = None, calendar: WorkCalendar | None = None,
            limit: int | None = None) -> MyWork:
    """What waits on `user`, most urgent first. With `limit`, each query fetches at most that
    many of its most urgent rows (a page shows the top); `counts` always counts everything."""
    today = today or local_today()
    calendar = calendar or load_calendar(db.session)
    soon = calendar.add_working_days(today, 1)
    late = WorkingDaysBack(calendar, today)
    builder = {Role.department: _department, Role.supervisor: _supervisor,
               Role.admin: _admin, Role.viewer: _viewer}[user.role]
    work = builder(user, today, soon, late, limit)
    if user.role in (Role.department, Role.supervisor):
        instructions = _instructions(user, today, late)
        work.items.extend(instructions)
        if instructions:
            work.counts["instruction"] = len(instructions)
    work.items.sort(key=WorkItem.sort_key)
    return work


def _count_by_kind(kind, where) -> dict[str, int]:
    """{kind: count} of the problems matching `where`, `kind` being an SQL CASE of kind names."""
    rows = db.session.execute(sa.select(kind.label("kind"), sa.func.count(Problem.id))
                              .where(*where).group_by(kind)).all()
    return {k: n for k, n in rows if n}


def _overdue_days(due_on: date | None, today: date, late: WorkingDaysBack) -> int:
    if due_on is None or due_on >= today:
        return 0
    return late.since(due_on)


def _problem_rows(where, *extra_columns, limit: int | None = None):
    """Rows of the problems matching `where`, the earliest due (the most overdue) first."""
    query = (sa.select(Problem.id, Problem.title, Problem.status, Problem.due_on,
                       Project.id.label("project_id"), Project.name.label("project_name"),
                       *extra_columns)
             .join(Project, Project.id == Problem.project_id).where(*where)
             .order_by(Problem.due_on.asc().nulls_last(), Problem.id))
    if limit is not None:
        query = query.limit(limit)
    return db.session.execute(query).all()


def _problem_item(kind: str, row, today: date, late: WorkingDaysBack, detail: str = ""):
    return WorkItem(kind=kind, title=row.title, problem_id=row.id, project_id=None,
                    due_on=row.due_on, overdue_days=_overdue_days(row.due_on, today, late),
                    project_name=row.project_name, status=row.status, detail=detail)


def _urgency(row, today: date, soon: date, normal: str) -> str:
    """The most urgent kind of a problem that waits on someone: overdue > due soon > `normal`."""
    if row.due_on is not None and row.due_on < today:
        return "overdue"
    if row.due_on is not None and row.due_on <= soon:
        return "due_soon"
    return normal


def _department(user: User, today, soon, late, limit) -> MyWork:
    where = [Problem.department_id == user.department_id, Problem.status.in_(HANDED_OVER)]
    rows = _problem_rows(where, limit=limit)
    normal = {S.assigned: "to_accept", S.rectifying: "to_report"}
    kind = sa.case((Problem.due_on < today, "overdue"), (Problem.due_on <= soon, "due_soon"),
                   (Problem.status == S.assigned, "to_accept"), else_="to_report")
    return MyWork([_problem_item(_urgency(r, today, soon, normal[r.status]), r, today, late)
                   for r in rows], counts=_count_by_kind(kind, where))


def _supervised_projects(user: User):
    return sa.select(SupervisorAssignment.project_id).where(
        SupervisorAssignment.user_id == user.id, SupervisorAssignment.ended_at.is_(None))


def _supervisor(user: User, today, soon, late, limit) -> MyWork:
    projects = _supervised_projects(user)
    items = []
    # Problems whose ball is in the supervisor's court: to revisit (rectified) and to assign.
    where = [Problem.project_id.in_(projects), Problem.status.in_((S.rectified, S.open))]
    kind = sa.case((Problem.status == S.open, "to_assign"), (Problem.due_on < today, "overdue"),
                   (Problem.due_on <= soon, "due_soon"), else_="to_revisit")
    counts = _count_by_kind(kind, where)
    for r in _problem_rows(where, limit=limit):
        normal = "to_revisit" if r.status is S.rectified else "to_assign"
        kind = normal if r.status is S.open else _urgency(r, today, soon, normal)
        items.append(_problem_item(kind, r, today, late))
    # Unchecked items of each project's current stage: one line per project.
    unchecked = db.session.execute(
        sa.select(Project.id, Project.name, sa.func.count(ChecklistItem.id))
        .join(ChecklistItem, sa.and_(ChecklistItem.project_id == Project.id,
                                     ChecklistItem.stage == Project.stage))
        .where(Project.id.in_(projects), ChecklistItem.result.is_(None))
        .group_by(Project.id, Project.name)).all()
    for project_id, name, count in unchecked:
        items.append(WorkItem(kind="unchecked_items", project_id=project_id, project_name=name,
                              title=name, detail=gettext("%(n)s 项未检查", n=count)))
    stale = _stale_projects(Project.id.in_(projects), today, late)
    items.extend(stale)
    counts.update({k: n for k, n in (("unchecked_items", len(unchecked)),
                                      ("stale_project", len(stale))) if n})
    return MyWork(items, counts=counts)


def _stale_projects(where, today: date, late: WorkingDaysBack) -> list[WorkItem]:
    """Projects under supervision with no visit in the last `stale_visit_days` days."""
    days = setting("stale_visit_days", STALE_VISIT_DAYS)
    last_visit = (sa.select(Visit.project_id, sa.func.max(Visit.visited_on).label("last"))
                  .group_by(Visit.project_id).subquery())
    cutoff = today - timedelta(days=days)
    rows = db.session.execute(
        sa.select(Project.id, Project.name, Project.created_at, last_visit.c.last)
        .outerjoin(last_visit, last_visit.c.project_id == Project.id)
        .where(where, Project.stage != Stage.completed,
               sa.or_(last_visit.c.last < cutoff,
                      sa.and_(last_visit.c.last.is_(None),
                              Project.created_at < end_of_local_day(cutoff))))).all()
    items = []
    for project_id, name, created_at, last in rows:
        since = last or created_at.astimezone(TZ).date()
        due = since + timedelta(days=days)
        detail = (gettext("上次走访：%(d)s", d=cn_date(last))
                  if last else gettext("尚无走访记录"))
        items.append(WorkItem(kind="stale_project", project_id=project_id, project_name=name,
                              title=name, due_on=due,
                              overdue_days=_overdue_days(due, today, late), detail=detail))
    return items


def _admin(user: User, today, soon, late, limit) -> MyWork:
    items = []
    active = Problem.status.in_(ACTIVE)
    is_overdue = sa.and_(Problem.due_on.is_not(None), Problem.due_on < today)
    overdue = [active, is_overdue]
    escalated = [active, Problem.escalation > 0, ~is_overdue]
    asks = [active, Problem.extension_requested_on.is_not(None)]

    def level(escalation: int) -> str:
        return gettext("督办等级 %(n)s · %(label)s", n=escalation,
                       label=pgettext("escalation", ESCALATION_LABELS[escalation]))

    extra = (Problem.escalation, Problem.extension_requested_on)
    for r in _problem_rows(overdue, *extra, limit=limit):
        items.append(_problem_item("overdue", r, today, late,
                                   detail=level(r.escalation) if r.escalation else ""))
    for r in _problem_rows(escalated, *extra, limit=limit):
        items.append(_problem_item("escalated", r, today, late, detail=level(r.escalation)))
    for r in _problem_rows(asks, *extra, limit=limit):
        d = r.extension_requested_on
        items.append(_problem_item("extension_request", r, today, late,
                                   detail=gettext("申请延期至 %(d)s",
                                                  d=cn_date(d))))

    def count_if(condition):
        return sa.func.sum(sa.case((condition, 1), else_=0))

    figures = db.session.execute(sa.select(
        count_if(is_overdue), count_if(sa.and_(Problem.escalation > 0, ~is_overdue)),
        count_if(Problem.extension_requested_on.is_not(None))).where(active)).one()
    unsupervised = [Project.stage != Stage.completed,
                    ~Project.id.in_(sa.select(SupervisorAssignment.project_id)
                                    .where(SupervisorAssignment.ended_at.is_(None)))]
    query = sa.select(Project.id, Project.name).where(*unsupervised).order_by(Project.id)
    projects = db.session.execute(query.limit(limit) if limit is not None else query).all()
    items.extend(WorkItem(kind="no_supervisor", project_id=pid, project_name=name, title=name)
                 for pid, name in projects)
    no_supervisor = db.session.scalar(sa.select(sa.func.count(Project.id)).where(*unsupervised))
    high_risks = open_high_risks(user, limit=limit if limit is not None else 10_000)
    items.extend(WorkItem(kind="high_risk", project_id=r.project_id, project_name=r.project.name,
                          title=gettext("%(project)s：%(title)s", project=r.project.name,
                                        title=r.title),
                          detail=gettext("高风险 · %(category)s · %(status)s",
                                         category=r.category.label, status=r.status.label))
                 for r in high_risks)
    high_count = db.session.scalar(sa.select(sa.func.count(Risk.id)).where(
        Risk.level == RiskLevel.high, Risk.status.in_(OPEN_RISK_STATUSES)))
    counts = dict(zip(("overdue", "escalated", "extension_request", "no_supervisor", "high_risk"),
                      (int(n or 0) for n in (*figures, no_supervisor, high_count))))
    return MyWork(items, counts={k: n for k, n in counts.items() if n})


def _instructions(user: User, today: date, late: WorkingDaysBack) -> list[WorkItem]:
    """Leader instructions on active problems this user acts on, until the user's side answers
    (any later event on the problem by this supervisor or by a user of this department)."""
    if user.role is Role.supervisor:
        mine = Problem.project_id.in_(_supervised_projects(user))
        our_side = sa.select(User.id).where(User.id == user.id)
    else:
        mine = Problem.department_id == user.department_id
        our_side = sa.select(User.id).where(User.department_id == user.department_id)
    later = aliased(ProblemEvent)
    answered = sa.select(later.id).where(
        later.problem_id == ProblemEvent.problem_id, later.id > ProblemEvent.id,
        later.actor_id.in_(our_side)).exists()
    rows = db.session.execute(
        sa.select(Problem.id, Problem.title, Problem.status, Problem.due_on,
                  Project.name.label("project_name"), ProblemEvent.comment)
        .join(Problem, Problem.id == ProblemEvent.problem_id)
        .join(Project, Project.id == Problem.project_id)
        .where(ProblemEvent.action == Action.instruct, Problem.status.in_(ACTIVE), mine,
               ~answered)
        .order_by(ProblemEvent.id.desc())).all()
    seen, items = set(), []
    for r in rows:  # newest instruction per problem
        if r.id in seen:
            continue
        seen.add(r.id)
        items.append(_problem_item("instruction", r, today, late, detail=r.comment))
    return items


def _viewer(user: User, today, soon, late, limit) -> MyWork:
    return MyWork(figures=week_figures(user, today))


def week_figures(user: User, today: date | None = None) -> WeekFigures:
    """Headline counts for the ISO week containing `today`: two aggregate queries."""
    today = today or local_today()
    start = today - timedelta(days=today.weekday())
    end = start + timedelta(days=6)
    lo = datetime.combine(start, datetime.min.time(), tzinfo=TZ)
    hi = end_of_local_day(end)
    visible = problem_condition(user)
    active = Problem.status.in_(ACTIVE)
    counted = Problem.status != S.withdrawn

    def count_if(condition):
        return sa.func.sum(sa.case((condition, 1), else_=0))

    row = db.session.execute(sa.select(
        count_if(sa.and_(Problem.created_at >= lo, Problem.created_at < hi, counted)),
        count_if(sa.and_(Problem.closed_at >= lo, Problem.closed_at < hi)),
        count_if(active),
        count_if(sa.and_(active, Problem.due_on < today)),
        count_if(sa.and_(active, Problem.escalation > 0)),
        count_if(counted),
        count_if(Problem.status == S.closed),
    ).where(visible)).one()
    visits = db.session.scalar(sa.select(sa.func.count(Visit.id)).where(
        Visit.visited_on >= start, Visit.visited_on <= end))
    values = [int(v or 0) for v in row]
    return WeekFigures(start, end, *values[:5], visits=visits or 0, total=values[5],
                       closed_total=values[6])
