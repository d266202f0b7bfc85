"""Pages: the problem list, each problem's story with its actions, and recording a problem."""
import sqlalchemy as sa
from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request,
                   url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from ..calendar import local_today
from ..extensions import db
from ..models import Action, ChecklistItem, Department, Problem, ProblemEvent, Project, Role
from .. import paging
from ..services import problems as service
from ..services import settings, uploads
from ..templating import cn_date
from ..visibility import get_visible_or_404, visible
from ..workflow import InvalidFields, WorkflowError, available_actions
from . import forms

bp = Blueprint("problems", __name__, url_prefix="/problems")

PER_PAGE = 30
PROJECT_CHOICES = 500
ERROR_STATUS = {"invalid": 400, "forbidden": 403, "illegal_move": 409, "stale_version": 409}


@bp.route("/")
@login_required
def index():
    filters = service.ProblemFilter.from_args(request.args)
    today = local_today()
    counts = service.list_counts(current_user, filters, today)
    page = db.paginate(service.problem_query(current_user, filters, today),
                       page=request.args.get("page", 1, type=int), per_page=PER_PAGE,
                       error_out=False, count=False)
    page.total = min(counts.total, paging.COUNT_CAP)
    page.total_capped = counts.total > paging.COUNT_CAP
    # The project filter is a drop-down for a county's worth of projects; with thousands the
    # project page's "问题清单" link (?project_id=) is the way in, and the list keeps the choice.
    projects = db.session.execute(
        visible(Project, current_user).with_only_columns(Project.id, Project.name)
        .order_by(Project.code).limit(PROJECT_CHOICES + 1)).all()
    if len(projects) > PROJECT_CHOICES:
        projects = db.session.execute(
            visible(Project, current_user).with_only_columns(Project.id, Project.name)
            .where(Project.id == filters.project_id)).all() if filters.project_id else []
    departments = db.session.execute(
        sa.select(Department.id, Department.name).order_by(Department.code)).all()
    return render_template(
        "problems/index.html", page=page, filters=filters, counts=counts,
        tab_cap=paging.TAB_CAP, projects=projects, departments=departments,
        late_days=service.overdue_days(page.items, today), today=today)


def _show(problem: Problem, *, error: WorkflowError | None = None, failed: str | None = None,
          submitted: dict | None = None, status: int = 200):
    """The problem page; after a refused action, with the reason and the form kept open."""
    events = db.session.scalars(
        sa.select(ProblemEvent).where(ProblemEvent.problem_id == problem.id)
        .options(selectinload(ProblemEvent.actor)).order_by(ProblemEvent.id)).all()
    actions = available_actions(problem, current_user)
    departments = db.session.execute(
        sa.select(Department.id, Department.name).where(Department.active.is_(True))
        .order_by(Department.code)).all() \
        if {Action.assign, Action.transfer} & set(actions) else []
    # The names the history shows: only the departments its events name (a province has hundreds).
    mentioned = {i for e in events for i in [e.data.get("department_id"),
                                              *(e.data.get("co_department_ids") or [])]
                 if isinstance(i, int)}
    named = dict(db.session.execute(
        sa.select(Department.id, Department.name).where(Department.id.in_(mentioned))).all()) \
        if mentioned else {}
    item = db.session.get(ChecklistItem, problem.checklist_item_id) \
        if problem.checklist_item_id else None
    project_visible = current_user.role is not Role.department
    return render_template(
        "problems/show.html", problem=problem, events=events, actions=actions,
        departments=departments, department_names=named, checklist_item=item,
        project_link=project_visible, overdue=service.is_overdue(problem),
        evidence=service.evidence(problem),
        late_days=service.overdue_days([problem]).get(problem.id),
        F=forms, error=error, failed=failed, failed_label=_action_label(failed),
        submitted=submitted or {}), status


def _action_label(action: str | None) -> str:
    try:
        return Action(action).label if action else ""
    except ValueError:
        return action


@bp.route("/<int:problem_id>")
@login_required
def show(problem_id: int):
    return _show(get_visible_or_404(Problem, problem_id, current_user))


@bp.route("/<int:problem_id>/actions/<action>", methods=["POST"])
@login_required
def act(problem_id: int, action: str):
    """One action from the problem page; a report may carry evidence files, all or nothing."""
    problem = get_visible_or_404(Problem, problem_id, current_user)
    fields = forms.action_fields_from(request.form)
    version = fields.pop("version", None)
    written = []
    try:
        prepared = _evidence_files()
        event = service.take_action(current_user, problem, action, version=version, **fields)
        if prepared:
            service.attach_evidence(current_user, problem, prepared)
            written = uploads.write(current_app.config["UPLOAD_DIR"], prepared)
        db.session.commit()
    except WorkflowError as error:
        db.session.rollback()
        problem = get_visible_or_404(Problem, problem_id, current_user)
        return _show(problem, error=error, failed=action, submitted=request.form,
                     status=ERROR_STATUS.get(error.code, 409))
    except Exception:
        db.session.rollback()
        uploads.discard(written)
        raise
    if event.action is Action.assign and problem.department and problem.due_on:
        flash(_("已交办%(department)s，整改期限 %(due)s", department=problem.department.name,
                due=cn_date(problem.due_on)), "success")
    else:
        flash(_("已%(action)s", action=event.action.label), "success")
    return redirect(url_for("problems.show", problem_id=problem_id))


def _evidence_files() -> list:
    """The checked evidence files of the form (none is fine); a refused one names the field."""
    limit = settings.upload_max_bytes()
    prepared = []
    for storage in request.files.getlist("evidence"):
        try:
            upload = uploads.prepare_storage(storage, limit)
        except uploads.UploadRejected as rejected:
            raise InvalidFields(rejected.describe(), {"evidence": rejected.describe()}) from None
        if upload is not None:
            prepared.append(upload)
    return prepared


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    """Record a problem on a project (from the project page; ?checklist_item_id= from a line)."""
    project = get_visible_or_404(Project, request.args.get("project_id"), current_user)
    if not (current_user.role is Role.admin or project.supervisor_id == current_user.id):
        abort(403)
    form = forms.ProblemForm()
    if request.method == "GET":
        form.stage.data = project.stage.value
        form.handling_class.data = _default_class(form.source.data)
    if form.validate_on_submit():
        try:
            problem = service.record_problem(
                current_user, project, title=form.title.data, description=form.description.data,
                source=form.source.data, stage=form.stage.data,
                handling_class=form.handling_class.data or None)
            db.session.commit()
        except WorkflowError as error:
            db.session.rollback()
            for name, message in error.fields.items():
                if name in form:
                    form[name].errors.append(message)
            flash(error.message, "danger")
        else:
            flash(_("问题已登记，待交办"), "success")
            return redirect(url_for("problems.show", problem_id=problem.id))
    return render_template("problems/new.html", form=form, project=project)


def _default_class(source: str | None) -> str:
    """Headquarters' default handling class for problems of this source (settings)."""
    return str(settings.get(f"default_handling_class_{source or 'other'}"))
