"""The problem lifecycle (发现问题 → 交办 → 整改 → 反馈 → 跟踪回访 → 销号).

The transition table says which action moves a problem from which state to which, and who may
take it. `apply` is the only code that changes a problem's status: it checks the move and the
actor, changes the problem and appends its event in the same flush, or raises a WorkflowError
and changes nothing. Pages, the API, the CLI and the demo data all come through here.
"""
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .calendar import WorkCalendar, load_calendar, local_today
from .extensions import db
from .models import (HANDLING_CLASSES, Action, Department, Problem, ProblemEvent, ProblemStatus,
                     Project, Role, Satisfaction, Source, Stage, User, utcnow)

S = ProblemStatus
SOURCE_LOCALE = "zh_CN"  # the language the messages are written in, and what is stored


def in_source_language(text) -> str:
    """`text` as written in the source language, whoever is reading: a lazy `_l(...)` is rendered
    in Chinese, a plain string stays as it is. For what is stored (the audit of a refusal)."""
    with force_locale(SOURCE_LOCALE):
        return str(text)


class Rel(Enum):
    """How an actor stands to a problem."""

    admin = "admin"
    supervisor = "supervisor"          # the project's current supervisor
    lead_department = "lead_department"
    co_department = "co_department"
    viewer = "viewer"


class WorkflowError(Exception):
    """A refusal. `message` and `fields` are in the reader's language (plain strings, safe to
    flash, store in the session or serialise). Refusals that are audited (403, 409) are raised
    with a lazy `_l(...)` message, so `source_message` keeps the text in the source language."""

    code = "conflict"

    def __init__(self, message, fields: dict | None = None):
        self.message = str(message)
        self.source_message = in_source_language(message)
        super().__init__(self.message)
        self.fields = {name: str(text) for name, text in (fields or {}).items()}


class IllegalMove(WorkflowError):
    """The problem's state does not allow this action (409)."""
    code = "illegal_move"


class StaleVersion(WorkflowError):
    """The caller acted on an older version of the problem (409)."""
    code = "stale_version"


class NotAllowed(WorkflowError):
    """This user may not take this action on this problem (403)."""
    code = "forbidden"


class InvalidFields(WorkflowError):
    """Some fields are missing or wrong; `fields` names each (400)."""
    code = "invalid"


@dataclass(frozen=True)
class Move:
    action: Action
    source: ProblemStatus
    target: ProblemStatus | None  # None: the state does not change
    actors: frozenset[Rel]


ACTIVE = (S.open, S.assigned, S.rectifying, S.rectified)
HANDED_OVER = (S.assigned, S.rectifying)
A, SUP, LEAD, CO, VIEW = Rel.admin, Rel.supervisor, Rel.lead_department, Rel.co_department, Rel.viewer


def _moves(action, sources, target, *actors):
    return [Move(action, s, target, frozenset(actors)) for s in sources]


TRANSITIONS: dict[tuple[Action, ProblemStatus], Move] = {
    (m.action, m.source): m for m in [
        *_moves(Action.assign, [S.open], S.assigned, SUP, A),
        *_moves(Action.accept, [S.assigned], S.rectifying, LEAD, A),
        *_moves(Action.report, [S.rectifying], S.rectified, LEAD, A),
        *_moves(Action.close, [S.rectified], S.closed, SUP, A),
        *_moves(Action.reopen, [S.rectified], S.rectifying, SUP, A),
        *_moves(Action.reopen, [S.closed], S.rectifying, A),
        *_moves(Action.withdraw, ACTIVE, S.withdrawn, A),
        *_moves(Action.escalate, ACTIVE, None, A),
        *_moves(Action.request_extension, HANDED_OVER, None, LEAD, A),
        *_moves(Action.decide_extension, HANDED_OVER, None, A),
        *_moves(Action.set_due, (*HANDED_OVER, S.rectified), None, A),
        *_moves(Action.transfer, (*HANDED_OVER, S.rectified, S.closed), None, A),
        *_moves(Action.instruct, list(S), None, VIEW, A),
        *_moves(Action.comment, list(S), None, SUP, LEAD, CO, A),
    ]
}
ACTORS_BY_ACTION: dict[Action, frozenset[Rel]] = {}
for _move in TRANSITIONS.values():
    ACTORS_BY_ACTION[_move.action] = ACTORS_BY_ACTION.get(_move.action, frozenset()) | _move.actors

# Actions a user would take from the problem page, in the order buttons are shown.
USER_ACTIONS = [Action.assign, Action.accept, Action.report, Action.close, Action.reopen,
                Action.request_extension, Action.decide_extension, Action.set_due,
                Action.escalate, Action.withdraw, Action.instruct, Action.comment]


def relations(problem: Problem, actor: User) -> set[Rel]:
    rels: set[Rel] = set()
    if actor.role is Role.admin:
        rels.add(A)
    elif actor.role is Role.viewer:
        rels.add(VIEW)
    elif actor.role is Role.supervisor:
        if problem.project.supervisor_id == actor.id:
            rels.add(SUP)
    elif actor.role is Role.department and actor.department_id is not None:
        if problem.department_id == actor.department_id:
            rels.add(LEAD)
        elif any(d.id == actor.department_id for d in problem.co_departments):
            rels.add(CO)
    return rels


def available_actions(problem: Problem, actor: User) -> list[Action]:
    """The actions this actor may take on this problem now (the page's buttons)."""
    rels = relations(problem, actor)
    return [a for a in USER_ACTIONS
            if (m := TRANSITIONS.get((a, problem.status))) and m.actors & rels
            and _precondition(problem, a) is None]


def _precondition(problem: Problem, action: Action):
    """A reason (lazy: it is audited) the action cannot be taken now beyond the state, or None."""
    if action is Action.decide_extension and problem.extension_requested_on is None:
        return _l("没有待审批的延期申请")
    if action is Action.request_extension and problem.extension_requested_on is not None:
        return _l("已有待审批的延期申请")
    if action is Action.escalate and problem.escalation >= 3:
        return _l("已是最高督办等级")
    return None


# ---------------------------------------------------------------- field parsing

def _text(fields: dict, name: str, errors: dict, required: bool = True, max_len: int = 5000) -> str:
    value = fields.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors[name] = _("必填")
        return ""
    if not isinstance(value, str):
        errors[name] = _("应为文本")
        return ""
    if len(value) > max_len:
        errors[name] = _("不能超过 %(n)s 字", n=max_len)
    return value.strip()


def _date(fields: dict, name: str, errors: dict, required: bool = True) -> date | None:
    value = fields.get(name)
    if value in (None, ""):
        if required:
            errors[name] = _("必填")
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        errors[name] = _("日期格式应为 YYYY-MM-DD")
        return None


def _int(fields: dict, name: str, errors: dict, allowed) -> int | None:
    value = fields.get(name)
    if value in (None, ""):
        errors[name] = _("必填")
        return None
    try:
        if isinstance(value, bool):
            raise ValueError
        number = int(value)
    except (TypeError, ValueError):
        errors[name] = _("应为整数")
        return None
    if number not in allowed:
        errors[name] = _("取值应为 %(values)s", values=_("、").join(str(a) for a in allowed))
        return None
    return number


def _department(fields: dict, name: str, errors: dict) -> Department | None:
    value = fields.get(name)
    if value in (None, ""):
        errors[name] = _("必填")
        return None
    try:
        dept = db.session.get(Department, int(value)) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        dept = None
    if dept is None or not dept.active:
        errors[name] = _("没有这个单位")
        return None
    return dept


def _bool(fields: dict, name: str, errors: dict) -> bool | None:
    value = fields.get(name)
    if isinstance(value, bool):
        return value
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off"):
        return False
    errors[name] = _("必填（是/否）")
    return None


# ---------------------------------------------------------------- handlers

def _assign(p: Problem, f: dict, ctx: "_Ctx") -> dict:
    errors: dict = {}
    dept = _department(f, "department_id", errors)
    handling_class = _int(f, "handling_class", errors, HANDLING_CLASSES)
    co_ids = f.get("co_department_ids") or []
    co_depts: list[Department] = []
    if not isinstance(co_ids, list):
        errors["co_department_ids"] = _("应为单位编号列表")
    else:
        for cid in dict.fromkeys(co_ids):  # each department once, in the order given
            d = _department({"x": cid}, "x", {})
            if d is None:
                errors["co_department_ids"] = _("没有这个单位：%(id)s", id=cid)
            elif (dept is None or d.id != dept.id) and d not in co_depts:
                co_depts.append(d)
    _raise(errors)
    due = ctx.calendar.add_working_days(ctx.today, handling_class)
    p.department_id, p.handling_class = dept.id, handling_class
    p.co_departments = co_depts
    p.due_on = p.original_due_on = due
    p.assigned_at = ctx.at
    return {"department_id": dept.id, "handling_class": handling_class, "due_on": due.isoformat(),
            "co_department_ids": [d.id for d in co_depts]}


def _accept(p: Problem, f: dict, ctx: "_Ctx") -> dict:
    errors: dict = {}
    data = {"late": bool(p.due_on and ctx.today > p.due_on)}
    if p.handling_class == 10:
        plan = _text(f, "plan", errors)
        planned_on = _date(f, "planned_on", errors)
        if planned_on and planned_on <= ctx.today:
            errors["planned_on"] = _("计划完成日期应晚于今天")
        _raise(errors)
        # For a difficult problem the deadline was for the written answer; the answer's planned
        # date is the deadline from now on, for the on-time rate too.
        p.plan, p.due_on, p.original_due_on = plan, planned_on, planned_on
        data.update(plan=plan, planned_on=planned_on.isoformat(), due_on=planned_on.isoformat())
    return data


def _report(p: Problem, f: dict, ctx: "_Ctx") -> dict:
    errors: dict = {}
    _text(f, "comment", errors)
    _raise(errors)
    return {}


def _close(p: Problem, f: dict, ctx: "_Ctx") -> dict:
    errors: dict = {}
    raw = f.get("satisfaction")
    try:
        rating = Satisfaction(raw)
    except ValueError:
        errors["satisfaction"] = _("请选择满意度")
        _raise(errors)
    if not rating.passes:
        raise InvalidFields(_("满意度为“不满意”及以下，回访未通过：不能销号，请退回重新整改并说明原因"),
                            {"satisfaction": _("回访未通过，不能销号")})
    p.satisfaction, p.closed_at = rating, ctx.at
    return {"satisfaction": rating.value}


def _reopen(p: Problem, f: dict, ctx: "_Ctx") -> dict:
    errors: dict = {}
    _text(f, "comment", errors)
    raw = f.get("satisfaction")
    data = {}
    if raw not in (None, ""):
        try:
            data["satisfaction"] = Satisfaction(raw).value
        except ValueError:
            errors["satisfaction"] = _("满意度取值无效")
    _raise(errors)
    p.satisfaction, p.closed_at = None, None
    return data


def _reason_only(p: Problem, f: dict, ctx: "_Ctx") -> dict:
    errors: dict = {}
    _text(f, "comment", errors)
    _raise(errors)
    return {}


def _escalate(p: Problem, f: dict, ctx: "_Ctx") -> dict:
    errors: dict = {}
    level = _int(f, "level", errors, (1, 2, 3))
    if level is not None and level <= p.escalation:
        errors["level"] = _("应高于当前等级 %(level)s", level=p.escalation)
    _raise(errors)
    p.escalation = level
    return {"level": level}


def _request_extension(p: Problem, f: dict, ctx: "_Ctx") -> dict:
    errors: dict = {}
    _text(f, "comment", errors)
    requested = _date(f, "requested_due_on", errors)
    if requested and p.due_on and requested <= p.due_on:
        errors["requested_due_on"] = _("应晚于当前期限")
    _raise(errors)
    p.extension_requested_on = requested
    return {"requested_due_on": requested.isoformat()}


def _decide_extension(p: Problem, f: dict, ctx: "_Ctx") -> dict:
    errors: dict = {}
    approve = _bool(f, "approve", errors)
    _raise(errors)
    requested, p.extension_requested_on = p.extension_requested_on, None
    data = {"approve": approve, "requested_due_on": requested.isoformat()}
    if approve:
        p.due_on = requested
        data["due_on"] = requested.isoformat()
    return data


def _set_due(p: Problem, f: dict, ctx: "_Ctx") -> dict:
    errors: dict = {}
    _text(f, "comment", errors)
    due = _date(f, "due_on", errors)
    _raise(errors)
    data = {"previous_due_on": p.due_on.isoformat() if p.due_on else None,
            "due_on": due.isoformat()}
    p.due_on = due
    return data


def _transfer(p: Problem, f: dict, ctx: "_Ctx") -> dict:
    errors: dict = {}
    dept = _department(f, "department_id", errors)
    _raise(errors)
    data = {"previous_department_id": p.department_id, "department_id": dept.id}
    p.department_id = dept.id
    p.co_departments = [d for d in p.co_departments if d.id != dept.id]
    return data


HANDLERS = {
    Action.assign: _assign, Action.accept: _accept, Action.report: _report,
    Action.close: _close, Action.reopen: _reopen, Action.withdraw: _reason_only,
    Action.escalate: _escalate, Action.request_extension: _request_extension,
    Action.decide_extension: _decide_extension, Action.set_due: _set_due,
    Action.transfer: _transfer, Action.instruct: _reason_only, Action.comment: _reason_only,
}


@dataclass
class _Ctx:
    at: datetime
    today: date
    calendar: WorkCalendar


def fields_message(errors: dict) -> str:
    """One line naming each bad field and what is wrong with it, in the reader's language."""
    return _("；").join(_("%(field)s：%(error)s", field=name, error=text)
                       for name, text in errors.items())


def _raise(errors: dict) -> None:
    if errors:
        raise InvalidFields(fields_message(errors), errors)


def apply(problem: Problem, action: str | Action, actor: User, *, version: int | None = None,
          at: datetime | None = None, calendar: WorkCalendar | None = None,
          **fields) -> ProblemEvent:
    """Take `action` on `problem` as `actor`; flush the change and its event together.

    `at` lets the demo data replay history with past timestamps; it defaults to now.
    Raises InvalidFields, NotAllowed, IllegalMove or StaleVersion and then changes nothing.
    """
    try:
        action = Action(action)
    except ValueError:
        raise InvalidFields(_("未知操作：%(action)s", action=action),
                            {"action": _("未知操作")}) from None
    if action is Action.record or action not in ACTORS_BY_ACTION:
        raise InvalidFields(_("未知操作：%(action)s", action=action), {"action": _("未知操作")})
    if version is not None and version != problem.version:
        raise StaleVersion(_l("该问题已被他人更新，请刷新后再试"))
    rels = relations(problem, actor)
    if not rels & ACTORS_BY_ACTION[action]:
        raise NotAllowed(_l("您无权对该问题执行“%(action)s”", action=action.lazy_label))
    move = TRANSITIONS.get((action, problem.status))
    if move is None:
        raise IllegalMove(_l("问题处于“%(status)s”状态，不能“%(action)s”",
                             status=problem.status.lazy_label, action=action.lazy_label))
    if not move.actors & rels:
        raise NotAllowed(_l("问题处于“%(status)s”状态时，您无权“%(action)s”",
                            status=problem.status.lazy_label, action=action.lazy_label))
    if (reason := _precondition(problem, action)) is not None:
        raise IllegalMove(reason)

    at = at or utcnow()
    ctx = _Ctx(at=at, today=local_today(at), calendar=calendar or load_calendar(db.session))
    comment = fields.get("comment") if isinstance(fields.get("comment"), str) else ""
    if len(comment or "") > 5000:
        raise InvalidFields(_("说明不能超过 %(n)s 字", n=5000), {"comment": _("不能超过 %(n)s 字", n=5000)})
    with db.session.no_autoflush:
        data = HANDLERS[action](problem, fields, ctx)
    before = problem.status
    if move.target is not None:
        problem.status = move.target
    problem.updated_at = at
    return _append_event(problem, action=action, from_status=before, to_status=problem.status,
                         actor_id=actor.id, at=at, comment=(comment or "").strip(), data=data)


def _append_event(problem: Problem, **fields) -> ProblemEvent:
    """Flush the problem's change and its event, chained to the problem's previous event."""
    db.session.flush()
    previous = db.session.scalar(
        sa.select(ProblemEvent.hash).where(ProblemEvent.problem_id == problem.id)
        .order_by(ProblemEvent.id.desc()).limit(1))
    event = ProblemEvent(problem_id=problem.id, prev_hash=previous, **fields)
    event.hash = event.compute_hash()
    db.session.add(event)
    db.session.flush()
    return event


def record(project: Project, actor: User, *, title: str, description: str = "",
           source: Source | str = Source.other, stage: Stage | None = None,
           handling_class: int | None = None, checklist_item_id: int | None = None,
           risk_id: int | None = None, at: datetime | None = None) -> Problem:
    """Register a new problem (待交办) on a project, with its first event."""
    if not (actor.role is Role.admin or
            (actor.role is Role.supervisor and project.supervisor_id == actor.id)):
        raise NotAllowed(_l("只有该项目的纪检监察员或管理员可以登记问题"))
    errors: dict = {}
    title = _text({"title": title}, "title", errors, max_len=200)
    description = _text({"d": description}, "d", {}, required=False)
    try:
        source = Source(source)
    except ValueError:
        errors["source"] = _("问题来源取值无效")
    if handling_class not in (None, "", *HANDLING_CLASSES):
        errors["handling_class"] = _("取值应为 %(values)s", values=_("、").join(
            str(c) for c in HANDLING_CLASSES))
    _raise(errors)
    at = at or utcnow()
    problem = Problem(project=project, project_id=project.id, stage=stage or project.stage,
                      title=title, description=description, source=source,
                      handling_class=handling_class or None, status=S.open,
                      checklist_item_id=checklist_item_id, risk_id=risk_id,
                      created_by_id=actor.id, created_at=at, updated_at=at)
    db.session.add(problem)
    db.session.flush()
    _append_event(problem, action=Action.record, from_status=None, to_status=S.open,
                  actor_id=actor.id, at=at, comment=title, data={"source": source.value})
    return problem
