"""Use cases of the problem list (问题清单): recording a problem, the filtered list with its
per-status counts and overdue ages, and taking an action through the workflow core.

Pages, the API, the visit form and the checklist all call these; they flush, never commit.
"""
from dataclasses import dataclass, fields as dc_fields
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from .. import paging, workflow
from ..calendar import WorkCalendar, load_calendar, local_today
from ..extensions import db
from ..models import (HANDLING_CLASSES, Action, Attachment, ChecklistItem, Problem, ProblemEvent,
                      ProblemStatus, Project, Source, Stage, User, problem_co_departments)
from ..visibility import visible
from ..workflow import InvalidFields, NotAllowed
from . import uploads

S = ProblemStatus
ACTIVE = (S.open, S.assigned, S.rectifying, S.rectified)


def record_problem(actor: User, project: Project, *, title: str, description: str = "",
                   source: Source | str = Source.other, stage: Stage | str | None = None,
                   handling_class: int | str | None = None, checklist_item_id: int | None = None,
                   risk_id: int | None = None, at: datetime | None = None) -> Problem:
    """Register a problem on `project` (from the project page, a checklist item or a visit).

    Checks the input a person may get wrong (stage, handling class, the checklist item belonging
    to the project) and names each bad field; the workflow checks who may record.
    """
    errors: dict[str, str] = {}
    if stage in (None, ""):
        stage = None
    else:
        try:
            stage = Stage(stage)
        except ValueError:
            errors["stage"] = _("阶段取值无效")
    if handling_class in (None, ""):
        handling_class = None
    else:
        try:
            handling_class = int(handling_class)
            if isinstance(handling_class, bool) or handling_class not in HANDLING_CLASSES:
                raise ValueError
        except (TypeError, ValueError):
            errors["handling_class"] = _("取值应为 1、5、10")
    if checklist_item_id is not None:
        item = db.session.get(ChecklistItem, checklist_item_id) \
            if _id_in_range(checklist_item_id) else None
        if item is None or item.project_id != project.id:
            errors["checklist_item_id"] = _("该项目没有这一条监督清单")
    if not isinstance(title, str) or not title.strip():
        errors["title"] = _("必填")
    elif len(title.strip()) > 200:
        errors["title"] = _("不能超过 %(n)s 字", n=200)
    if description is not None and not isinstance(description, str):
        errors["description"] = _("应为文本")
    elif description and len(description) > 5000:
        errors["description"] = _("不能超过 %(n)s 字", n=5000)
    try:
        Source(source)
    except ValueError:
        errors["source"] = _("问题来源取值无效")
    if errors:
        raise InvalidFields(workflow.fields_message(errors), errors)
    return workflow.record(project, actor, title=title, description=description or "",
                           source=source, stage=stage, handling_class=handling_class,
                           checklist_item_id=checklist_item_id, risk_id=risk_id, at=at)


def take_action(actor: User, problem: Problem, action: str | Action, *, version: int | None = None,
                **fields) -> ProblemEvent:
    """One action on one problem, through the workflow core (which writes the event)."""
    fields = {k: v for k, v in fields.items() if v is not None}
    # Ids the database cannot hold name no department (and must not reach the query).
    if fields.get("department_id") not in (None, "") and not _id_in_range(fields["department_id"]):
        raise InvalidFields(workflow.fields_message({"department_id": _("没有这个单位")}),
                            {"department_id": _("没有这个单位")})
    if isinstance(fields.get("co_department_ids"), list):
        if not all(_id_in_range(i) for i in fields["co_department_ids"]):
            raise InvalidFields(workflow.fields_message({"co_department_ids": _("没有这个单位")}),
                                {"co_department_ids": _("没有这个单位")})
        # The same helping department named twice is one department (the link table's key).
        fields["co_department_ids"] = list(dict.fromkeys(fields["co_department_ids"]))
    return workflow.apply(problem, action, actor, version=version, **fields)


def attach_evidence(actor: User, problem: Problem,
                    prepared: list["uploads.PreparedUpload"]) -> list[Attachment]:
    """Rectification evidence (photos, PDFs) on a problem, by those who work on it: the lead
    department, the project's supervisor, admin. Rows flushed with their audit entries; the
    caller writes the files (uploads.write) once the transaction is sure to commit."""
    rels = workflow.relations(problem, actor)
    if not rels & {workflow.Rel.admin, workflow.Rel.supervisor, workflow.Rel.lead_department}:
        raise NotAllowed(_l("您无权为该问题上传整改材料"))
    return [uploads.add_attachment(actor, item, problem=problem) for item in prepared]


def evidence(problem: Problem) -> list[Attachment]:
    return db.session.scalars(sa.select(Attachment).where(Attachment.problem_id == problem.id)
                              .order_by(Attachment.id)).all()


def _id_in_range(value) -> bool:
    """An integer (or its text) that a database id column can hold."""
    try:
        return not isinstance(value, bool) and -2**63 < int(value) < 2**63
    except (TypeError, ValueError):
        return True  # not a number at all: the workflow names it


# ---------------------------------------------------------------- the list

@dataclass
class ProblemFilter:
    """The list's filters, as the page's query string and the API's parameters give them."""

    project_id: int | None = None
    stage: Stage | None = None
    status: ProblemStatus | None = None
    department_id: int | None = None
    handling_class: int | None = None
    overdue: bool = False
    escalated: bool = False
    source: Source | None = None
    q: str = ""

    @classmethod
    def from_args(cls, args) -> "ProblemFilter":
        """Lenient parsing for the page: a value that makes no sense is ignored."""
        def enum(kind, name):
            try:
                return kind(args.get(name)) if args.get(name) else None
            except ValueError:
                return None

        def number(name):
            try:
                value = int(args.get(name)) if args.get(name) else None
            except (TypeError, ValueError):
                return None
            return value if value is None or 0 < value < 2**63 else None

        hc = number("handling_class")
        return cls(project_id=number("project_id"), stage=enum(Stage, "stage"),
                   status=enum(ProblemStatus, "status"), department_id=number("department_id"),
                   handling_class=hc if hc in HANDLING_CLASSES else None,
                   overdue=args.get("overdue") in ("1", "true", "on", "yes"),
                   escalated=args.get("escalated") in ("1", "true", "on", "yes"),
                   source=enum(Source, "source"), q=(args.get("q") or "").strip()[:100])

    def as_args(self, **changes) -> dict:
        """Query-string arguments for links that keep the other filters."""
        out = {}
        for f in dc_fields(self):
            value = changes.get(f.name, getattr(self, f.name))
            if value in (None, "", False):
                continue
            out[f.name] = "1" if value is True else getattr(value, "value", value)
        return out

    @property
    def active(self) -> bool:
        return bool(self.as_args(status=None))


def overdue_condition(today: date):
    """Not closed or withdrawn, and the due date has passed."""
    return sa.and_(Problem.status.in_(ACTIVE), Problem.due_on.is_not(None), Problem.due_on < today)


def _conditions(user: User, f: ProblemFilter, today: date, with_status: bool = True) -> list:
    conds = []
    if f.project_id is not None:
        conds.append(Problem.project_id == f.project_id)
    if f.stage is not None:
        conds.append(Problem.stage == f.stage)
    if with_status and f.status is not None:
        conds.append(Problem.status == f.status)
    if f.department_id is not None:
        conds.append(Problem.department_id == f.department_id)
    if f.handling_class is not None:
        conds.append(Problem.handling_class == f.handling_class)
    if f.overdue:
        conds.append(overdue_condition(today))
    if f.escalated:
        conds.append(Problem.escalation > 0)
    if f.source is not None:
        conds.append(Problem.source == f.source)
    if f.q:
        like = "%" + f.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conds.append(sa.or_(Problem.title.like(like, escape="\\"),
                            Problem.description.like(like, escape="\\")))
    return conds


def problem_query(user: User, f: ProblemFilter, today: date | None = None,
                  with_names: bool = True) -> sa.Select:
    """The problems `user` may see that pass the filters, ordered; `with_names` eager-loads
    their projects and departments (the page shows names; the API gives ids only)."""
    today = today or local_today()
    # An explicit FROM: api.common.paginate counts with with_only_columns(1), which would lose
    # the table when no condition names it (an admin's unfiltered list).
    query = visible(Problem, user).select_from(Problem).where(*_conditions(user, f, today))
    if with_names:
        query = query.options(selectinload(Problem.project), selectinload(Problem.department))
    if f.overdue:
        return query.order_by(Problem.due_on, Problem.id)
    return query.order_by(Problem.created_at.desc(), Problem.id.desc())


def problem_records(query: sa.Select) -> list[dict]:
    """The problems `query` selects as plain records — their columns and `co_department_ids` —
    in two statements and without ORM objects: what the list API returns, read at a fraction
    of the cost of loading 50 problems and their helping departments as objects."""
    rows = db.session.execute(query.with_only_columns(*Problem.__table__.columns)).all()
    helping: dict[int, list[int]] = {row.id: [] for row in rows}
    if helping:
        links = problem_co_departments.c
        for problem_id, department_id in db.session.execute(
                sa.select(links.problem_id, links.department_id)
                .where(links.problem_id.in_(list(helping))).order_by(links.department_id)):
            helping[problem_id].append(department_id)
    return [{**row._mapping, "co_department_ids": helping[row.id]} for row in rows]


@dataclass
class ListCounts:
    """The list's counts: each status tab's (None: all of them), up to paging.TAB_CAP + 1, and
    the chosen tab's total for paging through it, up to paging.COUNT_CAP + 1."""

    tabs: dict[ProblemStatus | None, int]
    total: int


def list_counts(user: User, f: ProblemFilter, today: date | None = None) -> ListCounts:
    """How many problems each status tab would show (the other filters applied) and how many
    the chosen one holds: one statement of capped counts (tracker.paging), so the tabs do not
    grow with a province's history."""
    today = today or local_today()
    base = (sa.select(Problem.id).select_from(Problem)
            .where(visible(Problem, user).whereclause,
                   *_conditions(user, f, today, with_status=False)))

    def of(status: ProblemStatus | None):
        return base if status is None else base.where(Problem.status == status)

    tabs = [None, *ProblemStatus]
    counts = [paging.capped(of(s), paging.TAB_CAP) for s in tabs]
    counts.append(paging.capped(of(f.status)))  # the chosen tab, to page through
    rows = db.session.execute(sa.union_all(*(
        count.add_columns(sa.literal_column(str(i), sa.Integer).label("branch"))
        for i, count in enumerate(counts)))).all()
    found = {branch: n for n, branch in rows}
    return ListCounts(tabs={s: found[i] for i, s in enumerate(tabs)}, total=found[len(tabs)])


def overdue_days(problems, today: date | None = None,
                 calendar: WorkCalendar | None = None) -> dict[int, int]:
    """Working days each overdue problem is past its due date (problem id → days)."""
    today = today or local_today()
    late = [p for p in problems
            if p.status in ACTIVE and p.due_on is not None and p.due_on < today]
    if not late:
        return {}
    calendar = calendar or load_calendar(db.session)
    # One walk over the calendar from the earliest due date: working days after each day up to
    # today (a day-by-day count per row took 0.8 s for a page of year-old problems).
    first = min(p.due_on for p in late)
    after: dict[date, int] = {}
    count, day = 0, today
    while day >= first:
        after[day] = count
        if calendar.is_workday(day):
            count += 1
        day -= timedelta(days=1)
    # A problem due on Friday is overdue on Saturday with 0 working days of age yet.
    return {p.id: after[p.due_on] for p in late}


def is_overdue(problem: Problem, today: date | None = None) -> bool:
    today = today or local_today()
    return problem.status in ACTIVE and problem.due_on is not None and problem.due_on < today
