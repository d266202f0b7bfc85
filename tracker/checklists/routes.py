"""Pages: headquarters' checklist templates per stage, and a project's supervision list."""
import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError

from ..auth import roles_required
from ..extensions import db
from ..models import ChecklistItem, ChecklistTemplate, CheckResult, Project, Role, Stage
from ..services import checklists as service
from ..visibility import get_visible_or_404
from ..workflow import WorkflowError

bp = Blueprint("checklists", __name__)


# ---------------------------------------------------------------- templates (admin)

@bp.route("/checklists/templates")
@roles_required(Role.admin)
def templates():
    return render_template("checklists/templates.html", by_stage=service.templates_by_stage())


def _in_range_or_404(object_id: int) -> int:
    if not -2**63 < object_id < 2**63:  # beyond any id the database can hold
        abort(404)
    return object_id


def _template_or_404(template_id: int) -> ChecklistTemplate:
    return db.get_or_404(ChecklistTemplate, _in_range_or_404(template_id))


def _version():
    return request.form.get("version", type=int)


def _done(message: str, stage: str | None = None):
    flash(message, "success")
    return redirect(url_for("checklists.templates", _anchor=f"stage-{stage}" if stage else None))


def _refused(error: WorkflowError):
    db.session.rollback()
    flash(error.message, "danger")
    return redirect(url_for("checklists.templates"))


@bp.route("/checklists/templates", methods=["POST"])
@roles_required(Role.admin)
def add_template():
    try:
        template = service.add_template(current_user, request.form.get("stage", ""),
                                        request.form.get("text", ""))
        db.session.commit()
    except WorkflowError as error:
        return _refused(error)
    return _done(_("已添加清单条目"), template.stage.value)


@bp.route("/checklists/templates/<int:template_id>/reword", methods=["POST"])
@roles_required(Role.admin)
def reword_template(template_id: int):
    template = _template_or_404(template_id)
    try:
        service.reword_template(current_user, template, request.form.get("text", ""), _version())
        db.session.commit()
    except WorkflowError as error:
        return _refused(error)
    return _done(_("已修改清单条目的表述"), template.stage.value)


@bp.route("/checklists/templates/<int:template_id>/<any(retire, restore):change>", methods=["POST"])
@roles_required(Role.admin)
def retire_template(template_id: int, change: str):
    template = _template_or_404(template_id)
    try:
        service.set_template_active(current_user, template, change == "restore", _version())
        db.session.commit()
    except WorkflowError as error:
        return _refused(error)
    return _done(_("已停用清单条目（已有核查记录保留）") if change == "retire"
                 else _("已恢复清单条目"), template.stage.value)


# ---------------------------------------------------------------- a project's list

def _project_for_checklist(project_id: int) -> Project:
    project = get_visible_or_404(Project, project_id, current_user)
    if current_user.role is Role.department:  # liaisons see a project's name and code only
        abort(404)
    return project


def _render(project: Project, stage: Stage, *, failed_item: int | None = None,
            error: WorkflowError | None = None, status: int = 200):
    if service.ensure_items(project, stage):
        try:
            db.session.commit()  # the project's copy of new template lines, made once
        except IntegrityError:  # another request made them at the same moment
            db.session.rollback()
    items = service.project_items(project, stage)
    stages = [s for s in Stage.supervised() if s.order <= max(project.stage.order, stage.order)]
    return render_template(
        "checklists/project.html", project=project, stage=stage, stages=stages, items=items,
        linked=service.linked_problems(items), can_mark=service.may_mark(current_user, project),
        progress={p.stage: p for p in service.progress(project)},
        failed_item=failed_item, error=error, submitted=request.form if error else {},
        CheckResult=CheckResult), status


@bp.route("/projects/<int:project_id>/checklist")
@login_required
def project_checklist(project_id: int):
    project = _project_for_checklist(project_id)
    try:
        stage = Stage(request.args.get("stage") or project.stage)
    except ValueError:
        abort(404)
    if stage is Stage.completed:
        stage = Stage.acceptance
    return _render(project, stage)


@bp.route("/projects/<int:project_id>/checklist/<int:item_id>", methods=["POST"])
@login_required
def mark(project_id: int, item_id: int):
    project = _project_for_checklist(project_id)
    item = db.session.scalar(sa.select(ChecklistItem).where(
        ChecklistItem.id == _in_range_or_404(item_id), ChecklistItem.project_id == project.id))
    if item is None:
        abort(404)
    form = request.form
    try:
        item, problem = service.mark_item(
            current_user, item, result=form.get("result", ""), note=form.get("note", ""),
            version=form.get("version", type=int), problem_title=form.get("problem_title"),
            problem_description=form.get("problem_description"),
            handling_class=form.get("handling_class") or None)
        db.session.commit()
    except WorkflowError as error:
        db.session.rollback()
        project = _project_for_checklist(project_id)
        stage = db.session.get(ChecklistItem, item_id).stage
        return _render(project, stage, failed_item=item_id, error=error,
                       status=403 if error.code == "forbidden" else 409
                       if error.code in ("illegal_move", "stale_version") else 400)
    if problem is not None:
        flash(_("已标记“发现问题”，并登记问题 #%(id)s（待交办）", id=problem.id), "warning")
    else:
        flash(_("已核查：%(result)s", result=CheckResult(item.result).label), "success")
    return redirect(url_for("checklists.project_checklist", project_id=project.id,
                            stage=item.stage.value, _anchor=f"item-{item.id}"))
