"""Use cases of the supervision list (监督清单): headquarters' templates per stage, a project's
items for a stage, marking an item (a `problem` result opens a linked problem in the same
transaction), and progress per stage. They flush, never commit.
"""
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import (CheckResult, ChecklistItem, ChecklistTemplate, Problem, ProblemStatus, Project,
                      Role, Source, Stage, User, utcnow)
from ..workflow import InvalidFields, NotAllowed, StaleVersion, fields_message
from .audit import audit
from .problems import record_problem

NOTE_MAX = 2000
TEXT_MAX = 500


def _raise(errors: dict) -> None:
    if errors:
        raise InvalidFields(fields_message(errors), errors)


def _check_version(obj, version) -> None:
    if version is not None and version != obj.version:
        raise StaleVersion(_l("该条目已被他人更新，请刷新后再试"))


def _stage(value, errors: dict, name: str = "stage") -> Stage | None:
    try:
        stage = Stage(value)
    except ValueError:
        errors[name] = _("阶段取值无效")
        return None
    if stage not in Stage.supervised():
        errors[name] = _("该阶段没有监督清单")
        return None
    return stage


def _template_text(text, errors: dict) -> str:
    if not isinstance(text, str) or not text.strip():
        errors["text"] = _("必填")
        return ""
    if len(text.strip()) > TEXT_MAX:
        errors["text"] = _("不能超过 %(n)s 字", n=TEXT_MAX)
    return text.strip()


def _require_admin(actor: User) -> None:
    if actor.role is not Role.admin:
        raise NotAllowed(_l("只有县纪委监委（管理员）可以维护监督清单模板"))


# ---------------------------------------------------------------- templates (headquarters)

def templates_by_stage(include_retired: bool = True) -> dict[Stage, list[ChecklistTemplate]]:
    query = sa.select(ChecklistTemplate).order_by(ChecklistTemplate.stage,
                                                  ChecklistTemplate.active.desc(),
                                                  ChecklistTemplate.position, ChecklistTemplate.id)
    if not include_retired:
        query = query.where(ChecklistTemplate.active.is_(True))
    out: dict[Stage, list[ChecklistTemplate]] = {s: [] for s in Stage.supervised()}
    for template in db.session.scalars(query):
        out.setdefault(template.stage, []).append(template)
    return out


def add_template(actor: User, stage: Stage | str, text: str) -> ChecklistTemplate:
    """A new line at the end of the stage's list; projects in that stage get it when next read."""
    _require_admin(actor)
    errors: dict = {}
    stage = _stage(stage, errors)
    text = _template_text(text, errors)
    _raise(errors)
    last = db.session.scalar(sa.select(sa.func.max(ChecklistTemplate.position))
                             .where(ChecklistTemplate.stage == stage))
    template = ChecklistTemplate(stage=stage, text=text, position=(last or 0) + 1)
    db.session.add(template)
    db.session.flush()
    audit(actor, "checklist_template.add", "checklist_template", template.id,
          {"stage": stage.value, "text": text})
    return template


def reword_template(actor: User, template: ChecklistTemplate, text: str,
                    version: int | None = None) -> ChecklistTemplate:
    """New wording; items not yet checked take it, checked items keep what was checked."""
    _require_admin(actor)
    _check_version(template, version)
    errors: dict = {}
    text = _template_text(text, errors)
    _raise(errors)
    if text == template.text:
        return template
    before, template.text = template.text, text
    db.session.flush()
    unchecked = db.session.scalars(sa.select(ChecklistItem).where(
        ChecklistItem.template_id == template.id, ChecklistItem.result.is_(None))).all()
    for item in unchecked:
        item.text = text
    db.session.flush()
    audit(actor, "checklist_template.reword", "checklist_template", template.id,
          {"before": before, "after": text, "items_reworded": len(unchecked)})
    return template


def set_template_active(actor: User, template: ChecklistTemplate, active: bool,
                        version: int | None = None) -> ChecklistTemplate:
    """Retire (or restore) a line. Retiring keeps every project's checked record of it."""
    _require_admin(actor)
    _check_version(template, version)
    if template.active == active:
        return template
    template.active = active
    db.session.flush()
    audit(actor, "checklist_template.restore" if active else "checklist_template.retire",
          "checklist_template", template.id, {"stage": template.stage.value, "text": template.text})
    return template


# ---------------------------------------------------------------- a project's list

def _shown(query):
    """Items shown on a list: their line is still in use, or they carry a result (a record)."""
    active = sa.select(ChecklistTemplate.id).where(ChecklistTemplate.active.is_(True))
    return query.where(sa.or_(ChecklistItem.template_id.in_(active),
                              ChecklistItem.result.is_not(None)))


def ensure_items(project: Project, stage: Stage | None = None) -> int:
    """Give `project` its copy of every active template line of `stage` (default: its current
    stage) that it lacks; returns how many were added. Idempotent."""
    stage = Stage(stage or project.stage)
    if stage not in Stage.supervised():
        return 0
    have = sa.select(ChecklistItem.template_id).where(ChecklistItem.project_id == project.id)
    missing = db.session.scalars(
        sa.select(ChecklistTemplate).where(ChecklistTemplate.stage == stage,
                                           ChecklistTemplate.active.is_(True),
                                           ChecklistTemplate.id.not_in(have))
        .order_by(ChecklistTemplate.position, ChecklistTemplate.id)).all()
    for template in missing:
        db.session.add(ChecklistItem(project_id=project.id, template_id=template.id, stage=stage,
                                     text=template.text, position=template.position))
    if missing:
        db.session.flush()
    return len(missing)


def project_items(project: Project, stage: Stage) -> list[ChecklistItem]:
    """The project's list for one stage, in the templates' order, with the checker loaded."""
    return db.session.scalars(
        _shown(sa.select(ChecklistItem))
        .where(ChecklistItem.project_id == project.id, ChecklistItem.stage == stage)
        .options(selectinload(ChecklistItem.checked_by))
        .order_by(ChecklistItem.position, ChecklistItem.id)).all()


def linked_problems(items) -> dict[int, list[Problem]]:
    """Problems opened from each item (item id → problems), in one query."""
    ids = [i.id for i in items]
    out: dict[int, list[Problem]] = {i: [] for i in ids}
    if ids:
        for problem in db.session.scalars(sa.select(Problem).where(
                Problem.checklist_item_id.in_(ids)).order_by(Problem.id)):
            out[problem.checklist_item_id].append(problem)
    return out


def may_mark(actor: User, project: Project) -> bool:
    return actor.role is Role.admin or (actor.role is Role.supervisor
                                        and project.supervisor_id == actor.id)


def mark_item(actor: User, item: ChecklistItem, *, result: CheckResult | str, note: str = "",
              version: int | None = None, problem_title: str | None = None,
              problem_description: str | None = None, handling_class: int | str | None = None,
              at: datetime | None = None) -> tuple[ChecklistItem, Problem | None]:
    """Record the supervisor's result on an item. A `problem` result opens a problem prefilled
    from the item and linked to it, in the same transaction, unless one opened from this item is
    still being worked on. Returns the item and the problem opened (or None)."""
    project = item.project
    if not may_mark(actor, project):
        raise NotAllowed(_l("只有该项目的纪检监察员或管理员可以核查监督清单"))
    _check_version(item, version)
    errors: dict = {}
    try:
        result = CheckResult(result)
    except ValueError:
        errors["result"] = _("请选择核查结果")
    if note is None:
        note = ""
    if not isinstance(note, str):
        errors["note"] = _("应为文本")
    elif len(note) > NOTE_MAX:
        errors["note"] = _("不能超过 %(n)s 字", n=NOTE_MAX)
    _raise(errors)
    at = at or utcnow()
    problem = None
    if result is CheckResult.problem and not _has_live_problem(item):
        title = (problem_title or "").strip() or item.text.strip()[:200]
        description = problem_description if problem_description not in (None, "") else note
        try:
            problem = record_problem(actor, project, title=title, description=description,
                                     source=Source.checklist, stage=item.stage,
                                     handling_class=handling_class, checklist_item_id=item.id,
                                     at=at)
        except InvalidFields as error:
            # Name the fields as the checklist form and API call them.
            renamed = {{"title": "problem_title", "description": "problem_description"}.get(k, k): v
                       for k, v in error.fields.items()}
            raise InvalidFields(error.message, renamed) from None
    before = item.result
    item.result, item.note = result, note.strip()
    item.checked_at, item.checked_by_id = at, actor.id
    db.session.flush()
    audit(actor, "checklist_item.mark", "checklist_item", item.id,
          {"project_id": project.id, "stage": item.stage.value,
           "from": before.value if before else None, "to": result.value,
           "problem_id": problem.id if problem else None})
    return item, problem


def _has_live_problem(item: ChecklistItem) -> bool:
    return db.session.scalar(sa.select(sa.func.count(Problem.id)).where(
        Problem.checklist_item_id == item.id,
        Problem.status.not_in((ProblemStatus.closed, ProblemStatus.withdrawn)))) > 0


# ---------------------------------------------------------------- progress

@dataclass(frozen=True)
class StageProgress:
    stage: Stage
    checked: int
    total: int
    problems: int
    current: bool

    @property
    def percent(self) -> int:
        return round(100 * self.checked / self.total) if self.total else 0


def progress(project: Project) -> list[StageProgress]:
    """Checked / total per stage up to the project's current one, counted in SQL. Active lines
    the project has no item for yet count as unchecked, so the figure is right before the list
    was first opened."""
    stages = [s for s in Stage.supervised() if s.order <= project.stage.order]
    rows = db.session.execute(
        _shown(sa.select(ChecklistItem.stage, sa.func.count(ChecklistItem.id),
                         sa.func.count(ChecklistItem.result),
                         sa.func.sum(sa.case((ChecklistItem.result == CheckResult.problem, 1),
                                             else_=0))))
        .where(ChecklistItem.project_id == project.id).group_by(ChecklistItem.stage)).all()
    have = sa.select(ChecklistItem.template_id).where(ChecklistItem.project_id == project.id)
    missing = dict(db.session.execute(
        sa.select(ChecklistTemplate.stage, sa.func.count(ChecklistTemplate.id))
        .where(ChecklistTemplate.active.is_(True), ChecklistTemplate.id.not_in(have))
        .group_by(ChecklistTemplate.stage)).all())
    counted = {Stage(stage): (total, checked, problems or 0) for stage, total, checked, problems in rows}
    out = []
    for stage in stages:
        total, checked, problems = counted.get(stage, (0, 0, 0))
        out.append(StageProgress(stage=stage, checked=checked,
                                 total=total + missing.get(stage, 0), problems=problems,
                                 current=stage is project.stage))
    return out
