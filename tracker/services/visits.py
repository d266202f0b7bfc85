"""Field visits: logging a visit with its new problems, revisit outcomes and files in one go,
and the visit history that pages and headquarters read (figures as SQL aggregates).

`log_visit` checks everything it can before it writes, then records the visit, registers and
links the new problems (workflow.record) and closes or reopens the revisited ones
(workflow.apply). Any refusal raises `VisitInvalid` naming each bad field the way the form names
it (`revisits-2-comment`); the caller rolls back, so a failed submission leaves nothing behind.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.functions import FunctionElement

from .. import workflow
from ..calendar import local_today
from ..extensions import db
from ..models import (Attachment, Problem, ProblemStatus, Project, QuietDayExemption, Role,
                      Satisfaction, Source, Stage, User, Visit, VisitKind, visit_problems)
from ..workflow import InvalidFields, NotAllowed, WorkflowError
from . import risks, uploads
from .audit import audit

FAR_FROM_SITE_M = 2000   # a visit logged farther than this from the project's location is flagged
QUIET_DAYS = range(6, 26)  # 企业宁静日: the 6th to the 25th of each month
STALE_AFTER_DAYS = 30
# Said beside the rating before the workflow is asked; the workflow refuses such a close as well.
FAILED_RATING = _l("满意度为“不满意”及以下，回访未通过，不能销号：请改选“重新整改”并说明原因")


class VisitInvalid(InvalidFields):
    """Some fields of a visit submission are wrong; `fields` names each, as the form does."""


@dataclass
class NewProblem:
    title: str = ""
    description: str = ""
    handling_class: int | str | None = None


@dataclass
class RevisitOutcome:
    problem_id: int | str | None
    outcome: str = ""            # "" (not checked this time), "close" or "reopen"
    satisfaction: str = ""
    comment: str = ""


def may_log_visit(actor: User, project: Project) -> bool:
    return actor.role is Role.admin or (
        actor.role is Role.supervisor and project.supervisor_id == actor.id)


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(min(1.0, math.sqrt(a)))


def quiet_day_applies(project: Project, day: date | None) -> bool:
    return bool(project.quiet_days_apply and day is not None and day.day in QUIET_DAYS)


def awaiting_revisit(project: Project) -> list[Problem]:
    """The project's problems in 待回访, oldest first: the revisit part of the form."""
    return list(db.session.scalars(
        sa.select(Problem).where(Problem.project_id == project.id,
                                 Problem.status == ProblemStatus.rectified)
        .options(selectinload(Problem.department)).order_by(Problem.id)))


# ---------------------------------------------------------------- logging a visit

def log_visit(actor: User, project: Project, *, visited_on, kind, people_met: str = "",
              summary: str = "", lat=None, lon=None, quiet_day_exemption=None,
              new_problems: list[NewProblem] = (), revisits: list[RevisitOutcome] = (),
              files: list[uploads.PreparedUpload] = (), risk_changes: list[dict] = (),
              today: date | None = None, far_from_site_m: float = FAR_FROM_SITE_M) -> Visit:
    """Record a visit with everything found and decided on it; flush, never commit.

    `risk_changes` re-rates the project's risk points on this visit (tracker.services.risks,
    `rerate_changes_from_form` builds them); their errors are named `risks-<id>-<field>`.
    """
    if not may_log_visit(actor, project):
        raise NotAllowed(_l("只有该项目的纪检监察员或管理员可以登记走访"))
    today = today or local_today()
    errors: dict[str, str] = {}

    day = _visit_date(visited_on, today, errors)
    kind = _choice(VisitKind, kind, "kind", errors, _("请选择走访类型"))
    people_met = _text(people_met, "people_met", 2000, errors)
    summary = _text(summary, "summary", 5000, errors)
    if not summary:
        errors["summary"] = _("请填写走访情况")
    lat, lon = _position(lat, lon, errors)
    exemption = None
    if quiet_day_applies(project, day):
        exemption = _choice(QuietDayExemption, quiet_day_exemption, "quiet_day_exemption", errors,
                            _("企业宁静日（每月6日至25日）走访该企业，须选择例外情形"))

    wanted = [(i, p) for i, p in enumerate(new_problems) if _filled(p)]
    for i, p in wanted:
        if not (p.title or "").strip():
            errors[f"new_problems-{i}-title"] = _("请填写问题标题")
        elif len(p.title.strip()) > 200:
            errors[f"new_problems-{i}-title"] = _("标题不能超过 %(n)s 字", n=200)
        if p.handling_class not in (None, "", 1, 5, 10, "1", "5", "10"):
            errors[f"new_problems-{i}-handling_class"] = _("办理类别应为 1、5、10")

    decided = [(i, r) for i, r in enumerate(revisits) if r.outcome]
    targets = _revisit_targets(project, decided, errors)
    for i, r in decided:
        if r.outcome == "close" and not r.satisfaction:
            errors[f"revisits-{i}-satisfaction"] = _("销号须填写企业满意度")
        elif r.satisfaction:
            try:
                rating = Satisfaction(r.satisfaction)
            except ValueError:
                errors[f"revisits-{i}-satisfaction"] = _("满意度取值无效")
            else:
                if r.outcome == "close" and not rating.passes:
                    errors[f"revisits-{i}-satisfaction"] = str(FAILED_RATING)
        if r.outcome == "reopen" and not (r.comment or "").strip():
            errors[f"revisits-{i}-comment"] = _("重新整改须说明原因")
    risk_changes = list(risk_changes or [])
    if risk_changes:
        errors.update(risks.check_rerates(actor, project, risk_changes))
    if errors:
        raise VisitInvalid(_("走访记录有误，请检查标出的各项"), errors)

    far = (project.lat is not None and project.lon is not None and lat is not None
           and distance_m(lat, lon, project.lat, project.lon) > far_from_site_m)
    visit = Visit(project_id=project.id, project=project, supervisor_id=actor.id, supervisor=actor,
                  visited_on=day, kind=kind, stage=project.stage, people_met=people_met,
                  summary=summary, lat=lat, lon=lon, far_from_site=far,
                  quiet_day_exemption=exemption)
    db.session.add(visit)
    db.session.flush()

    raised = []
    for i, p in wanted:
        try:
            problem = workflow.record(project, actor, title=p.title.strip(),
                                      description=(p.description or "").strip(),
                                      source=Source.visit,
                                      handling_class=int(p.handling_class) if p.handling_class
                                      else None)
        except WorkflowError as error:
            _collect(error, f"new_problems-{i}-", "title", errors)
            continue
        raised.append(problem)
        _link(visit, problem, "raised")

    revisited = []
    for i, r in decided:
        problem = targets[i]
        fields = {"comment": (r.comment or "").strip()}
        if r.satisfaction:
            fields["satisfaction"] = r.satisfaction
        try:
            workflow.apply(problem, r.outcome, actor, **fields)
        except WorkflowError as error:
            _collect(error, f"revisits-{i}-", "outcome", errors)
            continue
        revisited.append(problem)
        _link(visit, problem, "revisited", outcome=r.outcome)

    if risk_changes and not errors:
        try:
            risks.rerate_from_visit(actor, visit, risk_changes)
        except WorkflowError as error:
            errors.update(error.fields or {"risks": error.message})
    if errors:
        raise VisitInvalid(_("走访记录有误，请检查标出的各项"), errors)

    attachments = [uploads.add_attachment(actor, f, visit=visit) for f in files]
    audit(actor, "visit.create", "visit", visit.id, {
        "project_id": project.id, "visited_on": day.isoformat(), "kind": kind.value,
        "far_from_site": far, "quiet_day_exemption": exemption.value if exemption else None,
        "raised_problem_ids": [p.id for p in raised],
        "revisited": {str(p.id): p.status.value for p in revisited},
        "attachment_ids": [a.id for a in attachments]})
    db.session.flush()
    return visit


def add_files(actor: User, visit: Visit, files: list[uploads.PreparedUpload]) -> list[Attachment]:
    """Attach more photos or documents to an existing visit (its supervisor or admin)."""
    if not (actor.role is Role.admin or visit.supervisor_id == actor.id
            or may_log_visit(actor, visit.project)):
        raise NotAllowed(_l("只有该项目的纪检监察员或管理员可以补充走访附件"))
    if not files:
        raise InvalidFields(_("请选择文件"), {"file": _("请选择文件")})
    return [uploads.add_attachment(actor, f, visit=visit) for f in files]


def _link(visit: Visit, problem: Problem, role: str, outcome: str | None = None) -> None:
    db.session.execute(visit_problems.insert().values(visit_id=visit.id, problem_id=problem.id,
                                                      role=role, outcome=outcome))


def _collect(error: WorkflowError, prefix: str, default: str, errors: dict) -> None:
    if error.fields:
        for name, message in error.fields.items():
            # The workflow's whole sentence is what helps beside the rating.
            errors[prefix + name] = error.message if name == "satisfaction" else message
    else:
        errors[prefix + default] = error.message


def _filled(p: NewProblem) -> bool:
    return any(str(v or "").strip() for v in (p.title, p.description))


def _revisit_targets(project: Project, decided, errors: dict) -> dict[int, Problem]:
    ids = {}
    for i, r in decided:
        if r.outcome not in ("close", "reopen"):
            errors[f"revisits-{i}-outcome"] = _("回访结果应为销号或重新整改")
            continue
        try:
            ids[i] = int(r.problem_id)
        except (TypeError, ValueError):
            errors[f"revisits-{i}-outcome"] = _("没有这个问题")
    found = {p.id: p for p in db.session.scalars(
        sa.select(Problem).where(Problem.id.in_(set(ids.values())))
        .options(selectinload(Problem.project)))} if ids else {}
    targets, seen = {}, set()
    for i, pid in ids.items():
        problem = found.get(pid)
        if problem is None or problem.project_id != project.id:
            errors[f"revisits-{i}-outcome"] = _("该问题不属于本项目")
        elif problem.status is not ProblemStatus.rectified:
            errors[f"revisits-{i}-outcome"] = _("该问题处于“%(status)s”状态，不在待回访",
                                                status=problem.status.label)
        elif pid in seen:
            errors[f"revisits-{i}-outcome"] = _("同一问题只能填写一次回访结果")
        else:
            seen.add(pid)
            targets[i] = problem
    return targets


def _visit_date(value, today: date, errors: dict) -> date | None:
    if value in (None, ""):
        errors["visited_on"] = _("请填写走访日期")
        return None
    if not isinstance(value, date):
        try:
            value = date.fromisoformat(str(value))
        except ValueError:
            errors["visited_on"] = _("日期格式应为 YYYY-MM-DD")
            return None
    if value > today:
        errors["visited_on"] = _("走访日期不能晚于今天")
    elif value < today - timedelta(days=366):
        errors["visited_on"] = _("走访日期不能早于一年前")
    return value


def _choice(enum_cls, value, name: str, errors: dict, missing: str):
    if value in (None, ""):
        errors[name] = missing
        return None
    try:
        return enum_cls(value)
    except ValueError:
        errors[name] = _("取值无效")
        return None


def _text(value, name: str, max_len: int, errors: dict) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        errors[name] = _("应为文本")
        return ""
    value = value.strip()
    if len(value) > max_len:
        errors[name] = _("不能超过 %(n)s 字", n=max_len)
    return value


def _position(lat, lon, errors: dict) -> tuple[float | None, float | None]:
    if lat in (None, "") and lon in (None, ""):
        return None, None
    out = []
    for name, value, bound in (("lat", lat, 90), ("lon", lon, 180)):
        try:
            if isinstance(value, bool):
                raise ValueError
            number = float(value)
            if not math.isfinite(number) or abs(number) > bound:
                raise ValueError
            out.append(number)
        except (TypeError, ValueError):
            errors[name] = _("纬度无效") if name == "lat" else _("经度无效")
            out.append(None)
    if None in out:
        return None, None
    return out[0], out[1]


# ---------------------------------------------------------------- history

def with_details(query: sa.Select) -> sa.Select:
    """Eager-load what visit lists show, so a page costs a fixed number of queries."""
    return query.options(selectinload(Visit.project), selectinload(Visit.supervisor),
                         selectinload(Visit.attachments), selectinload(Visit.raised_problems),
                         selectinload(Visit.revisited_problems))


def revisit_outcomes(visits: list[Visit]) -> dict[tuple[int, int], str]:
    """What each visit decided for each problem it revisited: {(visit id, problem id): outcome}."""
    if not visits:
        return {}
    rows = db.session.execute(
        sa.select(visit_problems.c.visit_id, visit_problems.c.problem_id, visit_problems.c.outcome)
        .where(visit_problems.c.visit_id.in_([v.id for v in visits]),
               visit_problems.c.role == "revisited")).all()
    return {(v, p): o for v, p, o in rows if o}


def project_timeline(project: Project, limit: int = 30) -> list[Visit]:
    return list(db.session.scalars(with_details(
        sa.select(Visit).where(Visit.project_id == project.id)
        .order_by(Visit.visited_on.desc(), Visit.id.desc()).limit(limit))))


class week_start(FunctionElement):
    """The Monday of a date's week, in SQL (SQLite and PostgreSQL spell it differently)."""

    type = sa.Date()
    name = "week_start"
    inherit_cache = True


@compiles(week_start, "postgresql")
def _week_start_pg(element, compiler, **kw):
    return f"CAST(date_trunc('week', {compiler.process(element.clauses, **kw)}) AS DATE)"


@compiles(week_start)
def _week_start_sqlite(element, compiler, **kw):
    day = compiler.process(element.clauses, **kw)
    return f"date({day}, '-' || ((CAST(strftime('%w', {day}) AS INTEGER) + 6) % 7) || ' days')"


@dataclass(frozen=True)
class WeeklyActivity:
    weeks: list[date]                                     # Mondays, oldest first
    rows: list[tuple[User, dict[date, int], int]]         # supervisor, visits per week, total


def visits_per_supervisor_per_week(weeks: int = 8, today: date | None = None) -> WeeklyActivity:
    """Visits per supervisor in each of the last `weeks` ISO weeks (this one included)."""
    today = today or local_today()
    this_monday = today - timedelta(days=today.weekday())
    mondays = [this_monday - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]
    week = week_start(Visit.visited_on).label("week")
    counts = db.session.execute(
        sa.select(Visit.supervisor_id, week, sa.func.count(Visit.id))
        .where(Visit.visited_on >= mondays[0], Visit.visited_on <= today)
        .group_by(Visit.supervisor_id, week)).all()
    per_user: dict[int, dict[date, int]] = {}
    for user_id, monday, n in counts:
        if isinstance(monday, str):  # SQLite hands back the text it computed
            monday = date.fromisoformat(monday)
        per_user.setdefault(user_id, {})[monday] = n
    supervisors = db.session.scalars(
        sa.select(User).where(sa.or_(User.id.in_(list(per_user)),
                                     sa.and_(User.role == Role.supervisor, User.active)))
        .order_by(User.name)).all()
    rows = [(u, per_user.get(u.id, {}), sum(per_user.get(u.id, {}).values())) for u in supervisors]
    rows.sort(key=lambda r: (r[2], r[0].name))
    return WeeklyActivity(weeks=mondays, rows=rows)


@dataclass(frozen=True)
class StaleProject:
    project: Project
    last_visit_on: date | None
    days_since: int | None


def projects_without_recent_visit(days: int = STALE_AFTER_DAYS, today: date | None = None,
                                  user: User | None = None) -> list[StaleProject]:
    """Projects still under supervision with no visit in the last `days` days (or none ever)."""
    today = today or local_today()
    last = (sa.select(Visit.project_id, sa.func.max(Visit.visited_on).label("last_on"))
            .group_by(Visit.project_id).subquery())
    query = (sa.select(Project, last.c.last_on)
             .outerjoin(last, last.c.project_id == Project.id)
             .where(Project.stage != Stage.completed,
                    sa.or_(last.c.last_on.is_(None),
                           last.c.last_on < today - timedelta(days=days)))
             .order_by(last.c.last_on.asc().nulls_first(), Project.code))
    if user is not None:
        from ..visibility import project_condition
        query = query.where(project_condition(user))
    out = []
    for project, last_on in db.session.execute(query).all():
        if isinstance(last_on, str):
            last_on = date.fromisoformat(last_on)
        out.append(StaleProject(project, last_on, (today - last_on).days if last_on else None))
    return out


def far_visits(limit: int = 20) -> list[Visit]:
    """Recent visits logged far from the project's recorded location, for headquarters."""
    return list(db.session.scalars(with_details(
        sa.select(Visit).where(Visit.far_from_site.is_(True))
        .order_by(Visit.visited_on.desc(), Visit.id.desc()).limit(limit))))
