"""API: a project's supervision list (监督清单) and marking its items."""
import marshmallow as ma
import sqlalchemy as sa
from flask import abort
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import CheckResult, ChecklistItem, HANDLING_CLASSES, Project, Role, Stage
from ..services import checklists as service
from ..visibility import get_visible_or_404, visible
from . import bp
from .common import PageArgsSchema, actor


class ChecklistItemSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    project_id = ma.fields.Integer(required=True)
    template_id = ma.fields.Integer(required=True)
    stage = ma.fields.String(required=True)
    text = ma.fields.String(required=True)
    position = ma.fields.Integer()
    result = ma.fields.String(allow_none=True, metadata={"enum": [r.value for r in CheckResult]})
    note = ma.fields.String()
    checked_at = ma.fields.AwareDateTime(allow_none=True)
    checked_by_id = ma.fields.Integer(allow_none=True)
    problem_ids = ma.fields.List(ma.fields.Integer(),
                                 metadata={"description": "problems opened from this item"})
    version = ma.fields.Integer(required=True)


class ChecklistArgsSchema(PageArgsSchema):
    stage = ma.fields.String(validate=ma.validate.OneOf([s.value for s in Stage.supervised()]),
                             metadata={"description": "default: the project's current stage"})


class ChecklistPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ChecklistItemSchema), required=True)
    total = ma.fields.Integer(required=True)
    page = ma.fields.Integer(required=True)
    per_page = ma.fields.Integer(required=True)
    project_id = ma.fields.Integer(required=True)
    stage = ma.fields.String(required=True)
    checked = ma.fields.Integer(required=True, metadata={"description": "items with a result"})


class ChecklistMarkSchema(ma.Schema):
    result = ma.fields.String(required=True,
                              validate=ma.validate.OneOf([r.value for r in CheckResult]))
    note = ma.fields.String(load_default="", validate=ma.validate.Length(max=service.NOTE_MAX))
    version = ma.fields.Integer(metadata={"description": "the version acted on; older → 409"})
    problem_title = ma.fields.String(validate=ma.validate.Length(max=200), metadata={
        "description": "result `problem`: the new problem's title (default: the item's text)"})
    problem_description = ma.fields.String(validate=ma.validate.Length(max=5000), metadata={
        "description": "result `problem`: its description (default: the note)"})
    handling_class = ma.fields.Integer(allow_none=True,
                                       validate=ma.validate.OneOf(HANDLING_CLASSES))


class ChecklistMarkedSchema(ChecklistItemSchema):
    problem_id = ma.fields.Integer(allow_none=True,
                                   metadata={"description": "the problem this marking opened"})


def _checklist_project(project_id: int) -> Project:
    """The project, if this user may see its supervision list (department users may not)."""
    project = get_visible_or_404(Project, project_id, actor())
    if actor().role is Role.department:
        abort(404)
    return project


def _with_problem_ids(items):
    linked = service.linked_problems(items)
    for item in items:
        item.problem_ids = [p.id for p in linked[item.id]]
    return items


@bp.route("/projects/<int:project_id>/checklist", methods=["GET"])
@bp.arguments(ChecklistArgsSchema, location="query")
@bp.response(200, ChecklistPageSchema)
@bp.doc(summary="A project's supervision list for a stage (default: its current stage)")
def project_checklist(args, project_id):
    project = _checklist_project(project_id)
    stage = Stage(args.get("stage") or project.stage)
    if stage is Stage.completed:
        items = []
    else:
        if service.ensure_items(project, stage):
            try:
                db.session.commit()  # the project's copy of new template lines, made once
            except IntegrityError:  # another request made them at the same moment
                db.session.rollback()
        items = service.project_items(project, stage)
    page, per_page = args["page"], args["per_page"]
    shown = _with_problem_ids(items[(page - 1) * per_page: page * per_page])
    return {"items": shown, "total": len(items), "page": page, "per_page": per_page,
            "project_id": project.id, "stage": stage.value,
            "checked": sum(1 for i in items if i.result is not None)}


@bp.route("/checklist-items/<int:item_id>", methods=["PATCH"])
@bp.arguments(ChecklistMarkSchema)
@bp.response(200, ChecklistMarkedSchema)
@bp.doc(summary="Mark a supervision-list item ok, problem or n/a",
        description="A `problem` result opens a problem prefilled from the item and linked to it, "
                    "in the same transaction (unless one opened from it is still open).")
def mark_checklist_item(body, item_id):
    if not -2**63 < item_id < 2**63:  # beyond any id the database can hold
        abort(404)
    item = db.session.scalar(
        sa.select(ChecklistItem).where(ChecklistItem.id == item_id,
                                       ChecklistItem.project_id.in_(
                                           visible(Project, actor()).with_only_columns(Project.id))))
    if item is None or actor().role is Role.department:
        abort(404)
    item, problem = service.mark_item(actor(), item, **body)
    db.session.commit()
    _with_problem_ids([item])
    item.problem_id = problem.id if problem else None
    return item
