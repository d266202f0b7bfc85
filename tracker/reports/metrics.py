"""Headquarters' figures (DOMAIN.md "What headquarters reads") as of any day, in SQL.

Every figure is taken from the append-only problem event log, so it is honest about the past: as
of day D (the end of D in Asia/Shanghai) a problem has the state of its latest event before then
(ties broken by event id), the due date and department of its latest event that set them, and
the rating of its latest close. A reopen today therefore does not rewrite last month's figures.

Definitions (DOMAIN.md, CONTRACT.md):
- registered: problems whose first event (`record`) is before the bound;
- total = registered − withdrawn; open = total − closed; closure_rate = closed / total
  (None when total is 0);
- overdue: open (not closed, not withdrawn) with the due date in force before D;
- on_time_rate = closed on or before the ORIGINAL due date (Problem.original_due_on, which only
  `assign` and a class-10 `accept` set — both before any close, so the current value is the one
  in force at every past close) / closed;
- by supervisor: the project's supervisor at the bound (from the assignment history);
- by department: the department the problem was handed to at the bound (assign/transfer events);
- by week: the ISO week (Asia/Shanghai) in which the problem was registered, state as of D.

Counting happens in GROUP BY queries. A problem untouched since the bound is read from its
row (the workflow keeps the row equal to its log); only those changed since are read back from
the log, through the (problem_id, at) index. Working days need the calendar: ageing returns one
row per due date with a count for Python to weigh, and durations join a table of the days'
working-day numbers (`_workday_numbers`) so SQL groups them by length; either way the rows are
bounded by calendar days, not by problems. The dashboard, the weekly pack and the department
ledger read all their figures from one statement (`board`).

`user=None` means headquarters' own scope (the CLI export); otherwise a user's scope is
tracker.visibility's problem/project/visit condition.
"""
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext

from ..calendar import TZ, WorkCalendar, end_of_local_day, load_calendar, local_today
from ..extensions import db
from ..models import (Action, Department, Problem, ProblemEvent, ProblemStatus, Project,
                      Role, Satisfaction, Stage, SupervisorAssignment, User, Visit)
from ..visibility import problem_condition, project_condition, sees_everything, visit_condition
from .sqlfuncs import date_text, json_entries, local_date, local_week_start

S = ProblemStatus
ACTIVE = (S.open, S.assigned, S.rectifying, S.rectified)
GROUPS = ("project", "stage", "department", "supervisor", "week")
AGEING_BUCKETS = ((1, 5, "1–5"), (6, 10, "6–10"), (11, 20, "11–20"), (21, None, "20+"))


# ---------------------------------------------------------------- result types

@dataclass(frozen=True)
class Figures:
    """Closure figures of one group (or of everything) as of a day."""

    key: object
    label: str
    registered: int = 0
    withdrawn: int = 0
    closed: int = 0
    closed_on_time: int = 0
    overdue: int = 0
    escalated: int = 0

    @property
    def total(self) -> int:
        return self.registered - self.withdrawn

    @property
    def open(self) -> int:
        return self.total - self.closed

    @property
    def closure_rate(self) -> float | None:
        return self.closed / self.total if self.total else None

    @property
    def on_time_rate(self) -> float | None:
        return self.closed_on_time / self.closed if self.closed else None


@dataclass(frozen=True)
class Headline:
    as_of: date
    projects: int
    figures: Figures


@dataclass(frozen=True)
class AgeingBucket:
    label: str
    low: int
    high: int | None
    count: int


@dataclass(frozen=True)
class Durations:
    """Working days from registration to closure of the problems closed as of the day."""

    count: int
    average: float | None
    p90: int | None


@dataclass(frozen=True)
class WeekPoint:
    week: str           # "2026-W47"
    monday: date
    new: int            # problems registered that week
    closed: int         # close events that week
    cumulative_closure_rate: float | None  # as of the end of that week


@dataclass(frozen=True)
class Count:
    key: object
    label: str
    count: int


@dataclass(frozen=True)
class StaleProject:
    id: int
    code: str
    name: str
    supervisor: str
    last_visit: date | None
    days_since: int | None


@dataclass(frozen=True)
class OverdueProblem:
    id: int
    title: str
    project: str
    department: str
    due_on: date
    working_days_overdue: int


@dataclass(frozen=True)
class DepartmentLedger:
    """DOMAIN.md's per-department ledger: the basis for yellow-card warnings."""

    department_id: int
    name: str
    handed_over: int
    accepted_late: int
    closed: int
    closed_on_time: int
    open: int
    overdue: int
    average_days_to_close: float | None

    @property
    def on_time_rate(self) -> float | None:
        return self.closed_on_time / self.closed if self.closed else None


@dataclass
class Dashboard:
    """Everything the dashboard page shows, gathered with a fixed number of queries."""

    headline: Headline
    by: dict[str, list[Figures]] = field(default_factory=dict)
    ageing: list[AgeingBucket] = field(default_factory=list)
    oldest_overdue: list[OverdueProblem] = field(default_factory=list)
    durations: Durations | None = None
    stale: list[StaleProject] | None = None
    open_by_stage: dict[str, dict[str, int]] = field(default_factory=dict)
    satisfaction: list[Count] = field(default_factory=list)
    ledger: list[DepartmentLedger] | None = None


# ---------------------------------------------------------------- scope and time

class WorkingDays:
    """`working_days_between` in constant time: prefix counts of working days over the range
    asked for so far (grown on demand), so weighing thousands of date pairs stays cheap."""

    def __init__(self, calendar: WorkCalendar):
        self.calendar = calendar
        self.first: date | None = None
        self.counts: list[int] = []  # counts[i]: working days in [first, first + i]

    def _cover(self, start: date, end: date) -> None:
        if self.first is not None and self.first <= start and \
                end < self.first + timedelta(days=len(self.counts)):
            return
        last = end if self.first is None else max(end, self.first + timedelta(len(self.counts)))
        first = start if self.first is None else min(start, self.first)
        first, last = first - timedelta(days=31), last + timedelta(days=31)
        counts, running = [], 0
        for i in range((last - first).days + 1):
            running += self.calendar.is_workday(first + timedelta(days=i))
            counts.append(running)
        self.first, self.counts = first, counts

    def numbered(self, first: date, last: date) -> dict[str, int]:
        """Each day from `first` to `last` ('YYYY-MM-DD') with the running count of working days
        up to it: the working days between two of them are the difference of their numbers."""
        self._cover(first, last)
        offset = (first - self.first).days
        return {(first + timedelta(days=i)).isoformat(): self.counts[offset + i]
                for i in range((last - first).days + 1)}

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]; 0 when end is not after start."""
        if end <= start:
            return 0
        self._cover(start, end)
        return (self.counts[(end - self.first).days] - self.counts[(start - self.first).days])


def working_days(calendar: "WorkCalendar | WorkingDays | None" = None) -> WorkingDays:
    if isinstance(calendar, WorkingDays):
        return calendar
    return WorkingDays(calendar or load_calendar(db.session))


def bound_of(day: date) -> datetime:
    """The exclusive upper bound of "as of `day`": the end of that day in Asia/Shanghai."""
    return end_of_local_day(day)


def _problem_scope(user: User | None):
    return sa.true() if user is None else problem_condition(user)


def _project_scope(user: User | None):
    return sa.true() if user is None else project_condition(user)


def _visit_scope(user: User | None):
    return sa.true() if user is None else visit_condition(user)


def _from_log(bound: datetime, column, *where, order=None):
    """The value of `column` in the problem's latest event before `bound` matching `where`
    (a correlated subquery: an index seek on (problem_id, at) per problem)."""
    E = ProblemEvent
    return (sa.select(column).where(E.problem_id == Problem.id, E.at < bound, *where)
            .order_by(*(order if order is not None else (E.at.desc(), E.id.desc())))
            .limit(1).scalar_subquery())


def problem_states(bound: datetime, user: User | None = None, detail: bool = True,
                   as_cte: bool = False, among=None):
    """A subquery: one row per visible problem registered before `bound`, with its state then.

    Columns: problem_id, project_id, stage, status, registered_on, registered_week (its
    Monday); with `detail` also closed_on and satisfaction (of the latest close), due_on (in
    force), department_id (in force), original_due_on, escalated (the escalation level then,
    0 none). Dates are 'YYYY-MM-DD' text. `as_cte`: a materialised common table expression
    instead, for a statement that reads it several times. `among`: a selectable of problem ids
    the rows are limited to.

    The log is append-only and the workflow keeps each problem's row equal to what its log
    says, so a problem with no event at or after `bound` stands then as it stands now: its row
    is read as it is. Only problems that changed since are read back from their events.
    """
    E = ProblemEvent
    # The problems with an event at or after `bound`: found once (a range on ix_problem_events_at)
    # and left-joined, not a correlated EXISTS repeated in every column for every problem. As of
    # today the set is empty and the figures are one plain pass over `problems`.
    since = (sa.select(E.problem_id).where(E.at >= bound).group_by(E.problem_id)
             .subquery("changed_since"))
    changed = since.c.problem_id.is_not(None)

    def then(from_log, current):
        return sa.case((changed, from_log), else_=current)

    columns = [Problem.id.label("problem_id"), Problem.project_id, Problem.stage,
               then(_from_log(bound, E.to_status), Problem.status).label("status"),
               local_date(Problem.created_at).label("registered_on"),
               local_week_start(Problem.created_at).label("registered_week")]
    if detail:
        is_close = E.action == Action.close
        due = E.data["due_on"].as_string()
        columns += [
            then(local_date(_from_log(bound, E.at, is_close)),
                 local_date(Problem.closed_at)).label("closed_on"),
            then(_from_log(bound, E.data["satisfaction"].as_string(), is_close),
                 Problem.satisfaction).label("satisfaction"),
            then(_from_log(bound, due, due.is_not(None)),
                 date_text(Problem.due_on)).label("due_on"),
            then(_from_log(bound, E.data["department_id"].as_integer(),
                           E.action.in_((Action.assign, Action.transfer))),
                 Problem.department_id).label("department_id"),
            date_text(Problem.original_due_on).label("original_due_on"),
            # Levels only go up, so the level then is the highest one raised before.
            then(sa.func.coalesce(_from_log(bound, E.data["level"].as_integer(),
                                            E.action == Action.escalate), 0),
                 Problem.escalation).label("escalated"),
        ]
    query = (sa.select(*columns).select_from(Problem)
             .outerjoin(since, since.c.problem_id == Problem.id)
             .where(Problem.created_at < bound, _problem_scope(user)))
    if among is not None:
        query = query.where(Problem.id.in_(among))
    if as_cte:  # read several times in one statement: computed once
        return query.cte("problem_states").prefix_with("MATERIALIZED")
    return query.subquery("problem_states")


def _sum(condition) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def _figure_columns(st, day: date) -> list:
    active = st.c.status.in_(ACTIVE)
    closed = st.c.status == S.closed
    return [
        sa.func.count().label("registered"),
        _sum(st.c.status == S.withdrawn).label("withdrawn"),
        _sum(closed).label("closed"),
        _sum(sa.and_(closed, st.c.closed_on <= st.c.original_due_on)).label("closed_on_time"),
        _sum(sa.and_(active, st.c.due_on < day.isoformat())).label("overdue"),
        _sum(sa.and_(active, st.c.escalated > 0)).label("escalated"),
    ]


def _figures(key, label, row=None) -> Figures:
    if row is None:
        return Figures(key=key, label=label)
    return Figures(key=key, label=label, registered=row.registered, withdrawn=row.withdrawn,
                   closed=row.closed, closed_on_time=row.closed_on_time, overdue=row.overdue,
                   escalated=row.escalated)


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def parse_iso_week(text: str) -> date:
    """The Monday of an ISO week written "2026-W47"; ValueError for anything else."""
    text = (text or "").strip()
    try:
        year_part, week_part = text.upper().split("-W")
        if len(year_part) != 4 or not 1 <= len(week_part) <= 2:
            raise ValueError
        return date.fromisocalendar(int(year_part), int(week_part), 1)
    except (ValueError, TypeError):
        raise ValueError(f"invalid ISO week: {text!r}") from None


def last_full_week(today: date | None = None) -> date:
    """The Monday of the last complete ISO week before today (Asia/Shanghai)."""
    today = today or local_today()
    return today - timedelta(days=today.weekday() + 7)


# ---------------------------------------------------------------- figures

def closure(user: User | None, group_by: str, day: date | None = None) -> list[Figures]:
    """Closure figures grouped by project, stage, department, supervisor or week (two queries).

    Groups that exist but hold no problem are listed too (stages always; projects the user may
    see; departments for those who see everything), with closure_rate None.
    """
    if group_by not in GROUPS:
        raise ValueError(f"group_by must be one of {GROUPS}")
    day = day or local_today()
    bound = bound_of(day)
    st = problem_states(bound, user)
    if group_by == "supervisor":
        SA = SupervisorAssignment
        key = SA.user_id
        source = st.outerjoin(Project, Project.id == st.c.project_id).outerjoin(SA, sa.and_(
            SA.project_id == Project.id, SA.started_at < bound,
            sa.or_(SA.ended_at.is_(None), SA.ended_at >= bound)))
    else:
        key = {"project": st.c.project_id, "stage": st.c.stage,
               "department": st.c.department_id,
               "week": st.c.registered_week}[group_by]
        source = st
    rows = db.session.execute(
        sa.select(key.label("key"), *_figure_columns(st, day)).select_from(source)
        .group_by(key)).all()
    found = {row.key: row for row in rows}
    return _label_groups(user, group_by, found, bound)


def _label_groups(user, group_by, found: dict, bound: datetime) -> list[Figures]:
    none_label = {"department": gettext("未交办"), "supervisor": gettext("未配备纪检监察员"),
                  "project": "", "stage": "", "week": ""}[group_by]
    if group_by == "stage":
        result = [_figures(s.value, s.label, found.pop(s, found.pop(s.value, None)))
                  for s in Stage]
        return result
    if group_by == "week":
        out = []
        for key in sorted(k for k in found if k is not None):
            monday = date.fromisoformat(key)
            out.append(_figures(iso_week(monday), iso_week(monday), found[key]))
        return out
    if group_by == "project":
        labels = db.session.execute(
            sa.select(Project.id, Project.name).where(_project_scope(user))
            .where(sa.or_(Project.created_at < bound,
                          Project.id.in_([k for k in found if k is not None])))
            .order_by(Project.code)).all()
    elif group_by == "department":
        query = sa.select(Department.id, Department.name).order_by(Department.code)
        if user is None or sees_everything(user):
            query = query.where(sa.or_(Department.active, Department.id.in_(
                [k for k in found if k is not None])))
        else:
            query = query.where(Department.id.in_([k for k in found if k is not None]))
        labels = db.session.execute(query).all()
    else:  # supervisor
        labels = db.session.execute(
            sa.select(User.id, User.name).where(User.id.in_([k for k in found if k is not None]))
            .order_by(User.name)).all()
    out = [_figures(key, name, found.get(key)) for key, name in labels]
    known = {key for key, _ in labels}
    out += [_figures(key, none_label if key is None else str(key), row)
            for key, row in found.items() if key not in known]
    return out


def headline(user: User | None, day: date | None = None) -> Headline:
    """The dashboard's cards: projects, and the closure figures of everything visible."""
    day = day or local_today()
    bound = bound_of(day)
    st = problem_states(bound, user)
    row = db.session.execute(sa.select(*_figure_columns(st, day))).one()
    projects = db.session.scalar(
        sa.select(sa.func.count()).select_from(Project)
        .where(_project_scope(user), Project.created_at < bound))
    return Headline(as_of=day, projects=projects, figures=_figures(None, "", row))


def ageing(user: User | None, day: date | None = None,
           calendar: WorkCalendar | None = None) -> list[AgeingBucket]:
    """Overdue problems by how many working days they are overdue (one query)."""
    day = day or local_today()
    calendar = working_days(calendar)
    st = problem_states(bound_of(day), user)
    rows = db.session.execute(
        sa.select(st.c.due_on, sa.func.count()).where(
            st.c.status.in_(ACTIVE), st.c.due_on < day.isoformat()).group_by(st.c.due_on)).all()
    return _aged(rows, day, calendar)


def _aged(rows, day: date, calendar: WorkingDays) -> list[AgeingBucket]:
    """(due date 'YYYY-MM-DD', count) of overdue problems weighed into the ageing buckets."""
    counts = dict.fromkeys(range(len(AGEING_BUCKETS)), 0)
    for due, n in rows:
        age = calendar.working_days_between(date.fromisoformat(due), day)
        for i, (low, high, _) in enumerate(AGEING_BUCKETS):
            # A problem due on Friday and seen on Saturday is overdue by 0 working days yet:
            # it belongs to the first bucket all the same.
            if (high is None or age <= high) and (age >= low or i == 0):
                counts[i] += n
                break
    return [AgeingBucket(label, low, high, counts[i])
            for i, (low, high, label) in enumerate(AGEING_BUCKETS)]


def oldest_overdue(user: User | None, day: date | None = None, limit: int = 10,
                   calendar: WorkCalendar | None = None) -> list[OverdueProblem]:
    """The longest-overdue problems, for the dashboard's list (one query)."""
    day = day or local_today()
    calendar = working_days(calendar)
    st = problem_states(bound_of(day), user)
    rows = db.session.execute(
        sa.select(st.c.problem_id, Problem.title, Project.name, Department.name, st.c.due_on)
        .select_from(st).join(Problem, Problem.id == st.c.problem_id)
        .join(Project, Project.id == st.c.project_id)
        .outerjoin(Department, Department.id == st.c.department_id)
        .where(st.c.status.in_(ACTIVE), st.c.due_on < day.isoformat())
        .order_by(st.c.due_on, st.c.problem_id).limit(limit)).all()
    return [OverdueProblem(pid, title, project, dept or "", date.fromisoformat(due),
                           calendar.working_days_between(date.fromisoformat(due), day))
            for pid, title, project, dept, due in rows]


def _weighted_durations(spans: list[tuple[int, int]]) -> Durations:
    """Average and nearest-rank 90th percentile of (working days, how many problems) pairs."""
    spans = sorted(spans)
    count = sum(n for _, n in spans)
    if not count:
        return Durations(0, None, None)
    average = sum(days * n for days, n in spans) / count
    rank, seen, p90 = -(-9 * count // 10), 0, spans[-1][0]  # nearest rank: ceil(0.9 n)
    for days, n in spans:
        seen += n
        if seen >= rank:
            p90 = days
            break
    return Durations(count, round(average, 1), p90)


def _workday_numbers(calendar: WorkingDays, last: date):
    """A small table numbering the working days: each day from the first problem's registration
    to `last`, as 'YYYY-MM-DD', with n = working days up to it, so the working days from one day
    to a later one are the difference of their numbers and a duration is counted in SQL, grouped
    by its length (rows bounded by the longest span, not by problems or date pairs). It travels
    as one JSON parameter, so the statement around it stays in the compiled cache."""
    first_at = db.session.scalar(sa.select(sa.func.min(Problem.created_at)))
    first = min(first_at.astimezone(TZ).date(), last) if first_at else last
    numbers = json.dumps(calendar.numbered(first, last))
    entries = json_entries(sa.literal(numbers, sa.String)).table_valued("key", "value")
    return (sa.select(entries.c.key.label("day"), sa.cast(entries.c.value, sa.Integer).label("n"))
            .cte("workdays").prefix_with("MATERIALIZED"))


def _closed_spans(st, workdays):
    """(FROM clause, span): `st` joined to the working-day numbers of each closed problem's
    registration and closing days, and the working days between them. `st` should be the
    materialised states (`as_cte`): as a plain subquery SQLite may loop over the days outside
    and scan every problem for each."""
    registered, closed = workdays.alias("registered_day"), workdays.alias("closed_day")
    source = (st.join(registered, registered.c.day == st.c.registered_on)
              .join(closed, closed.c.day == st.c.closed_on))
    return source, (closed.c.n - registered.c.n)


def durations(user: User | None, day: date | None = None,
              calendar: WorkCalendar | None = None) -> Durations:
    """Average and 90th percentile (nearest rank) working days from registration to closure."""
    day = day or local_today()
    st = problem_states(bound_of(day), user, as_cte=True)
    source, span = _closed_spans(st, _workday_numbers(working_days(calendar), day))
    rows = db.session.execute(
        sa.select(span, sa.func.count()).select_from(source).where(st.c.status == S.closed)
        .group_by(span)).all()
    return _weighted_durations(rows)


def satisfaction(user: User | None, day: date | None = None) -> list[Count]:
    """The ratings of the problems closed as of the day (latest close), every level listed."""
    day = day or local_today()
    st = problem_states(bound_of(day), user)
    rows = dict(db.session.execute(
        sa.select(st.c.satisfaction, sa.func.count()).where(st.c.status == S.closed)
        .group_by(st.c.satisfaction)).all())
    return [Count(s.value, s.label, rows.get(s.value, 0)) for s in Satisfaction]


def open_by_stage(user: User | None, day: date | None = None) -> dict[str, dict[str, int]]:
    """{stage: {status: count}} of the open problems as of the day (one query)."""
    day = day or local_today()
    st = problem_states(bound_of(day), user, detail=False)
    rows = db.session.execute(
        sa.select(st.c.stage, st.c.status, sa.func.count()).where(st.c.status.in_(ACTIVE))
        .group_by(st.c.stage, st.c.status)).all()
    out: dict[str, dict[str, int]] = {s.value: {a.value: 0 for a in ACTIVE} for s in Stage}
    for stage, status, n in rows:
        out[Stage(stage).value][ProblemStatus(status).value] = n
    return out


def weekly_series(user: User | None, last_monday: date, weeks: int = 12,
                  totals: Figures | None = None) -> list[WeekPoint]:
    """New and closed problems per ISO week, and the cumulative closure rate at each week's end,
    for `weeks` weeks ending with the week of `last_monday` (two queries; one with `totals`).

    The cumulative figures are running sums of the log: registered = `record` events, withdrawn
    = `withdraw` events (nothing leaves withdrawn), closed = `close` events less `reopen` events
    from closed (the only ways into and out of closed). `totals`, the headline figures as of the
    last week's Sunday when the caller has them (the board), lets the sums be walked back from
    there instead of reading the whole log before the window.
    """
    mondays = [last_monday - timedelta(weeks=i) for i in reversed(range(weeks))]
    start, end = bound_of(mondays[0] - timedelta(days=1)), bound_of(mondays[-1] + timedelta(days=6))
    E = ProblemEvent
    columns = [
        _sum(E.action == Action.record).label("new"),
        _sum(E.action == Action.close).label("closed"),
        _sum(E.action == Action.withdraw).label("withdrawn"),
        _sum(sa.and_(E.action == Action.reopen, E.from_status == S.closed)).label("reopened"),
    ]
    counted = (Action.record, Action.close, Action.withdraw, Action.reopen)
    week = local_week_start(E.at)
    scope = sa.select(Problem.id).where(_problem_scope(user))
    visible = E.problem_id.in_(scope) if user is not None else sa.true()
    flows = {row.week: row for row in db.session.execute(
        sa.select(week.label("week"), *columns)
        .where(E.at >= start, E.at < end, E.action.in_(counted), visible)
        .group_by(week)).all()}
    if totals is None:
        before = db.session.execute(
            sa.select(*columns).where(E.at < start, E.action.in_(counted), visible)).one()
        registered, withdrawn = before.new, before.withdrawn
        closed = before.closed - before.reopened
    else:
        registered, withdrawn, closed = totals.registered, totals.withdrawn, totals.closed
        for flow in flows.values():
            registered -= flow.new
            withdrawn -= flow.withdrawn
            closed -= flow.closed - flow.reopened
    points = []
    for monday in mondays:
        flow = flows.get(monday.isoformat())
        if flow is not None:
            registered += flow.new
            withdrawn += flow.withdrawn
            closed += flow.closed - flow.reopened
        total = registered - withdrawn
        points.append(WeekPoint(
            week=iso_week(monday), monday=monday,
            new=flow.new if flow else 0, closed=flow.closed if flow else 0,
            cumulative_closure_rate=closed / total if total else None))
    return points


def visits_per_supervisor(user: User | None, first: date, last: date) -> list[Count]:
    """Visits from `first` to `last` (inclusive) by supervisor, most first (one query).

    Those who see everything get every active supervisor, with 0 for those who made no visit —
    the ones the chart is there to show (as on the visits page); a supervisor gets themselves
    and whoever else visited their projects."""
    made = (sa.select(Visit.supervisor_id, sa.func.count(Visit.id).label("n"))
            .where(Visit.visited_on >= first, Visit.visited_on <= last, _visit_scope(user))
            .group_by(Visit.supervisor_id).subquery("made"))
    if user is None or sees_everything(user):
        expected = sa.and_(User.role == Role.supervisor, User.active)
    elif user.role is Role.supervisor:
        expected = User.id == user.id
    else:
        expected = sa.false()
    n = sa.func.coalesce(made.c.n, 0)
    rows = db.session.execute(
        sa.select(User.id, User.name, n).select_from(User)
        .outerjoin(made, made.c.supervisor_id == User.id)
        .where(sa.or_(made.c.n.is_not(None), expected))
        .order_by(n.desc(), User.name, User.id)).all()
    return [Count(uid, name, count) for uid, name, count in rows]


def stale_projects(user: User | None, day: date | None = None,
                   days: int = 30) -> list[StaleProject]:
    """Projects not completed with no visit in the `days` days up to `day` (one query: each
    project's latest visit is one seek on the (project_id, visited_on) index, so the cost follows
    the projects, not the years of visits)."""
    day = day or local_today()
    last_visit = (sa.select(sa.func.max(Visit.visited_on))
                  .where(Visit.project_id == Project.id, Visit.visited_on <= day,
                         _visit_scope(user))
                  .scalar_subquery())
    SA = SupervisorAssignment
    latest = (sa.select(Project.id, Project.code, Project.name, User.name.label("supervisor"),
                        last_visit.label("last_visit"))
              .select_from(Project)
              .outerjoin(SA, sa.and_(SA.project_id == Project.id, SA.ended_at.is_(None)))
              .outerjoin(User, User.id == SA.user_id)
              .where(_project_scope(user), Project.stage != Stage.completed,
                     Project.created_at < bound_of(day))
              .subquery("latest"))
    rows = db.session.execute(
        sa.select(latest.c.id, latest.c.code, latest.c.name, latest.c.supervisor,
                  latest.c.last_visit)
        .where(sa.or_(latest.c.last_visit.is_(None),
                      latest.c.last_visit < day - timedelta(days=days)))
        .order_by(latest.c.last_visit.is_(None).desc(), latest.c.last_visit, latest.c.code)).all()
    out = []
    for pid, code, name, supervisor, last in rows:
        if isinstance(last, str):  # SQLite's max() of a DATE column comes back as text
            last = date.fromisoformat(last)
        out.append(StaleProject(pid, code, name, supervisor or "",
                                last, (day - last).days if last else None))
    return out


def department_ledger(user: User | None, day: date | None = None,
                      calendar: WorkCalendar | None = None) -> list[DepartmentLedger]:
    """Per department (as of the day): handed over, accepted late, closed, on time, open,
    overdue and average working days to close — the departments handed anything, by name.
    Counted in the dashboard's one statement (`board`)."""
    return board(user, day, calendar=calendar, with_ledger=True).ledger


def dashboard(user: User, day: date | None = None, stale_days: int = 30,
              with_stale: bool = True) -> Dashboard:
    """The dashboard's figures for `user` as of `day`, in a fixed number of queries."""
    out = board(user, day)
    out.stale = stale_projects(user, day or local_today(), stale_days) if with_stale else None
    return out


def board(user: User | None, day: date | None = None, calendar: WorkCalendar | None = None,
          with_ledger: bool = False) -> Dashboard:
    """Every problem figure of a day for `user` (None: headquarters' scope) from ONE statement,
    one pass over the problems' states as of the day (`_board_rows`): the closure figures by
    project, stage and department, the overdue problems by due date, the closed ones by
    department and working days taken, the open ones by stage and status, the ratings, the
    ten longest overdue and, `with_ledger`, the departments' late acceptances.

    The headline sums the projects' rows, the supervisors' figures are their projects' (the
    supervisor at the bound), ageing and durations are weighed from the grouped rows — so they
    agree with `closure`, `headline`, `ageing`, `durations`, `oldest_overdue`, `open_by_stage`
    and `satisfaction` (tests/test_metrics.py holds them to it) at a fraction of the cost of
    asking each. The dashboard, the weekly pack and the department ledger read it.
    """
    day = day or local_today()
    calendar = working_days(calendar)
    bound = bound_of(day)
    found: dict[str, dict] = {"project": {}, "stage": {}, "department": {}}
    overdue_days, spans, oldest, late = [], {}, [], {}
    opened = {s.value: {a.value: 0 for a in ACTIVE} for s in Stage}
    ratings = {}
    for row in _board_rows(user, day, calendar, with_ledger):
        if row.kind in found:
            key = {"project": row.project_id, "stage": row.stage,
                   "department": row.department_id}[row.kind]
            found[row.kind][key] = row
        elif row.kind == "overdue":
            overdue_days.append((row.due_on, row.registered))
        elif row.kind == "closed":
            spans.setdefault(row.department_id, []).append((row.span, row.registered))
        elif row.kind == "open":
            opened[Stage(row.stage).value][ProblemStatus(row.status).value] = row.registered
        elif row.kind == "rating":
            ratings[row.status] = row.registered
        elif row.kind == "late":
            late[row.department_id] = row.registered
        else:
            oldest.append(row)
    out = Dashboard(headline=Headline(
        as_of=day, projects=_project_count(user, bound),
        figures=_summed(None, "", found["project"].values())))
    supervisors = _supervisors_at(bound, [k for k in found["project"] if k is not None])
    by_supervisor: dict[int | None, list] = {}
    for project_id, row in found["project"].items():
        by_supervisor.setdefault(supervisors.get(project_id), []).append(row)
    out.by["stage"] = _label_groups(user, "stage", found["stage"], bound)
    out.by["department"] = _label_groups(user, "department", dict(found["department"]), bound)
    out.by["supervisor"] = _label_groups(
        user, "supervisor", {k: _summed(k, "", rows) for k, rows in by_supervisor.items()}, bound)
    out.by["project"] = _label_groups(user, "project", found["project"], bound)
    out.ageing = _aged(overdue_days, day, calendar)
    out.oldest_overdue = _named_overdue(oldest, day, calendar)
    out.durations = _weighted_durations([s for rows in spans.values() for s in rows])
    out.open_by_stage = opened
    out.satisfaction = [Count(s.value, s.label, ratings.get(s.value, 0)) for s in Satisfaction]
    if with_ledger:
        handed = sorted((f for f in out.by["department"]
                         if f.key is not None and f.key in found["department"]),
                        key=lambda f: f.label)
        out.ledger = [DepartmentLedger(
            f.key, f.label, handed_over=f.total, accepted_late=late.get(f.key, 0),
            closed=f.closed, closed_on_time=f.closed_on_time, open=f.open, overdue=f.overdue,
            average_days_to_close=_weighted_durations(spans.get(f.key, [])).average)
            for f in handed]
    return out


OLDEST_OVERDUE = 10
_FIGURES = ("registered", "withdrawn", "closed", "closed_on_time", "overdue", "escalated")


def _board_rows(user: User | None, day: date, calendar: WorkingDays, with_ledger: bool = False):
    """The board's one statement: the states as of the day, materialised once, read by UNION
    ALL branches told apart by `kind` — figures by project / stage / department; counts
    ('registered') of the 'overdue' by due date, the 'closed' by department and working days
    taken (span), the 'open' by stage and status, the closed by 'rating' (in status); the
    'oldest' overdue problems one row each; with_ledger, the problems accepted 'late' by
    department."""
    bound = bound_of(day)
    st = problem_states(bound, user, as_cte=True)
    overdue = sa.and_(st.c.status.in_(ACTIVE), st.c.due_on < day.isoformat())
    no_int, no_text = sa.cast(sa.null(), sa.Integer), sa.cast(sa.null(), sa.String)

    def branch(kind, *, project=no_int, stage=no_text, department=no_int, problem=no_int,
               due_on=no_text, span=no_int, status=no_text, figures=None):
        return [sa.literal_column(f"'{kind}'", sa.String).label("kind"),
                project.label("project_id"), stage.label("stage"),
                department.label("department_id"), problem.label("problem_id"),
                due_on.label("due_on"), span.label("span"), status.label("status"),
                *(figures or count)]

    figures = _figure_columns(st, day)
    count = [sa.func.count().label("registered"),
             *(sa.literal_column("0", sa.Integer).label(name) for name in _FIGURES[1:])]
    zeros = [sa.literal_column("0", sa.Integer).label(name) for name in _FIGURES]
    worst = (sa.select(st.c.problem_id, st.c.department_id, st.c.due_on).where(overdue)
             .order_by(st.c.due_on, st.c.problem_id).limit(OLDEST_OVERDUE).subquery("worst"))
    taken, span = _closed_spans(st, _workday_numbers(calendar, day))
    stage, status = sa.cast(st.c.stage, sa.String), sa.cast(st.c.status, sa.String)
    branches = [
        sa.select(*branch("project", project=st.c.project_id, figures=figures))
        .group_by(st.c.project_id),
        sa.select(*branch("stage", stage=stage, figures=figures)).group_by(st.c.stage),
        sa.select(*branch("department", department=st.c.department_id, figures=figures))
        .group_by(st.c.department_id),
        sa.select(*branch("overdue", due_on=st.c.due_on)).where(overdue).group_by(st.c.due_on),
        sa.select(*branch("closed", department=st.c.department_id, span=span))
        .select_from(taken).where(st.c.status == S.closed).group_by(st.c.department_id, span),
        sa.select(*branch("open", stage=stage, status=status)).where(st.c.status.in_(ACTIVE))
        .group_by(st.c.stage, st.c.status),
        sa.select(*branch("rating", status=st.c.satisfaction)).where(st.c.status == S.closed)
        .group_by(st.c.satisfaction),
        sa.select(*branch("oldest", problem=worst.c.problem_id,
                          department=worst.c.department_id, due_on=worst.c.due_on,
                          figures=zeros)),
    ]
    if with_ledger:
        E = ProblemEvent
        late = (sa.select(E.problem_id).where(E.at < bound, E.action == Action.accept,
                                              E.data["late"].as_boolean())
                .group_by(E.problem_id).subquery("accepted_late"))
        branches.append(
            sa.select(*branch("late", department=st.c.department_id))
            .select_from(st.join(late, late.c.problem_id == st.c.problem_id))
            .where(st.c.department_id.is_not(None)).group_by(st.c.department_id))
    return db.session.execute(sa.union_all(*branches)).all()


def _summed(key, label, rows) -> Figures:
    return Figures(key=key, label=label,
                   **{name: sum(getattr(row, name) for row in rows) for name in _FIGURES})


def _project_count(user: User | None, bound: datetime) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Project)
                             .where(_project_scope(user), Project.created_at < bound))


def _supervisors_at(bound: datetime, project_ids: list[int]) -> dict[int, int]:
    """{project id: the supervisor assigned to it at the bound} for the projects given (one row
    per project at most: a province's 10,000 are read whole rather than named in an IN list)."""
    SA = SupervisorAssignment
    rows = db.session.execute(sa.select(SA.project_id, SA.user_id).where(
        SA.started_at < bound, sa.or_(SA.ended_at.is_(None), SA.ended_at >= bound))).all()
    wanted = set(project_ids)
    return {project_id: user_id for project_id, user_id in rows if project_id in wanted}


def _named_overdue(rows, day: date, calendar: WorkingDays) -> list[OverdueProblem]:
    """The oldest overdue problems of `_board_rows`, with their titles and names."""
    if not rows:
        return []
    names = {pid: (title, project) for pid, title, project in db.session.execute(
        sa.select(Problem.id, Problem.title, Project.name).join(Project)
        .where(Problem.id.in_([r.problem_id for r in rows]))).all()}
    departments = dict(db.session.execute(sa.select(Department.id, Department.name).where(
        Department.id.in_([r.department_id for r in rows if r.department_id is not None]))).all())
    out = []
    for r in sorted(rows, key=lambda r: (r.due_on, r.problem_id)):
        due = date.fromisoformat(r.due_on)
        title, project = names[r.problem_id]
        out.append(OverdueProblem(r.problem_id, title, project,
                                  departments.get(r.department_id, ""), due,
                                  calendar.working_days_between(due, day)))
    return out
