"""Pages: the key-project registry, the project page, supervisors, stages, import, workload."""
from io import BytesIO

from flask import (Blueprint, abort, flash, redirect, render_template, request, send_file,
                   url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..calendar import local_today
from ..extensions import db
from ..models import Project, Role, Stage, User
from ..problems.panels import checklist_panel, problems_panel
from ..risks.panels import risks_panel
from ..services import importer
from ..services import projects as svc
from ..visibility import get_visible_or_404, visible
from ..visits.panels import visits_panel
from ..workflow import WorkflowError
from .forms import AssignForm, ImportForm, ProjectForm, StageForm

bp = Blueprint("projects", __name__, url_prefix="/projects")

PER_PAGE = 50
WORKLOAD_SHOWN = 8  # projects listed under each supervisor, most open problems first


def _admin_only() -> None:
    if current_user.role is not Role.admin:
        abort(403)


def _filters_from(args) -> svc.ListFilters:
    supervisor = args.get("supervisor", "")
    return svc.ListFilters(
        q=args.get("q", "").strip()[:100],
        stage=svc.parse_stage(args.get("stage")) if args.get("stage") else None,
        level=svc.parse_level(args.get("level")) if args.get("level") else None,
        category=args.get("category", "").strip()[:50],
        supervisor_id=int(supervisor) if supervisor.isdigit() else None,
        unassigned=supervisor == "none",
        overdue=args.get("overdue") == "1",
        sort=args.get("sort") if args.get("sort") in svc.SORTS else "code",
        descending=args.get("dir") == "desc",
    )


@bp.route("/")
@login_required
def index():
    filters = _filters_from(request.args)
    query = svc.list_query(visible(Project, current_user), filters)
    number = min(max(1, request.args.get("page", 1, type=int)), 1_000_000)
    page = svc.paginate(query, number, PER_PAGE)
    signs = svc.risk_signs([p.id for p in page.items])
    sees_all = current_user.role in (Role.admin, Role.viewer)
    return render_template(
        "projects/index.html", page=page, filters=filters, signs=signs,
        categories=svc.categories() if sees_all else [],
        supervisors=svc.supervisors(include_inactive=True) if sees_all else [])


@bp.route("/<int:project_id>")
@login_required
def show(project_id: int):
    project = get_visible_or_404(Project, project_id, current_user)
    if current_user.role is Role.department:
        # A department sees the name and code of projects with problems handed to it.
        return render_template("projects/show_department.html", project=project,
                               problems=problems_panel(project, current_user))
    return render_template("projects/show.html", **_page_context(project))


def _page_context(project: Project, stage_form: StageForm | None = None) -> dict:
    """What the project page shows: its own parts, the four panels, the forms for this user."""
    context = dict(
        project=project,
        timeline=svc.stage_history(project),
        assignments=svc.assignment_history(project),
        signs=svc.risk_signs([project.id]).get(project.id, svc.RiskSigns()),
        checklist=checklist_panel(project, current_user),
        problems=problems_panel(project, current_user),
        visits=visits_panel(project, current_user),
        risks=risks_panel(project, current_user),
        stage_open=stage_form is not None,
    )
    context.update(_action_forms(project, stage_form=stage_form))
    return context


def _action_forms(project: Project, stage_form: StageForm | None = None) -> dict:
    """The assign and stage forms the current user may use on this project."""
    user = current_user
    forms: dict = {"stage_form": None, "assign_form": None, "open_in_stage": 0}
    supervises = user.role is Role.supervisor and project.supervisor_id == user.id
    if user.role is Role.admin or supervises:
        form = stage_form or StageForm(formdata=None, changed_on=local_today(),
                                       version=project.version)
        form.stage.choices = _stage_choices(project, admin=user.role is Role.admin)
        forms["stage_form"] = form if form.stage.choices else None
        forms["open_in_stage"] = svc.open_problems_of_stage(project)
    if user.role is Role.admin:
        form = AssignForm(formdata=None)
        form.user_id.choices = _supervisor_choices()
        forms["assign_form"] = form
    return forms


def _stage_choices(project: Project, admin: bool) -> list[tuple[str, str]]:
    choices = []
    for stage in Stage:
        if stage is project.stage:
            continue
        if stage.order < project.stage.order:
            if admin:
                choices.append((stage.value, _("%(stage)s（回退更正）", stage=stage.label)))
        elif stage.order == project.stage.order + 1 or admin:
            choices.append((stage.value, stage.label))
    # the next stage first: the usual move
    choices.sort(key=lambda c: (Stage(c[0]).order != project.stage.order + 1, Stage(c[0]).order))
    return choices


def _supervisor_choices() -> list[tuple[str, str]]:
    return [("", _("请选择"))] + [(str(u.id), _("%(name)s（%(code)s）", name=u.name, code=u.username))
                                for u in svc.supervisors()]


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create():
    _admin_only()
    form = ProjectForm()
    form.supervisor_id.choices = [("", _("暂不指派"))] + _supervisor_choices()[1:]
    if form.validate_on_submit():
        supervisor = db.session.get(User, int(form.supervisor_id.data)) \
            if form.supervisor_id.data else None
        try:
            project = svc.create_project(current_user, form.registry_fields(),
                                         stage=form.stage.data, supervisor=supervisor)
        except WorkflowError as error:
            db.session.rollback()
            _field_errors(form, error)
        else:
            db.session.commit()
            flash(_("已登记重点项目 %(name)s", name=project.name), "success")
            return redirect(url_for(".show", project_id=project.id))
    return render_template("projects/form.html", form=form, project=None)


@bp.route("/<int:project_id>/edit", methods=["GET", "POST"])
@login_required
def edit(project_id: int):
    _admin_only()
    project = get_visible_or_404(Project, project_id, current_user)
    form = ProjectForm(obj=project)
    del form.stage, form.supervisor_id
    if request.method == "GET":
        form.level.data = project.level.value
        form.version.data = project.version
    if form.validate_on_submit():
        try:
            svc.update_project(current_user, project, form.registry_fields(),
                               version=_int_or_none(form.version.data))
        except WorkflowError as error:
            db.session.rollback()
            if not _field_errors(form, error):
                flash(error.message, "danger")
        else:
            db.session.commit()
            flash(_("已保存"), "success")
            return redirect(url_for(".show", project_id=project.id))
    return render_template("projects/form.html", form=form, project=project)


def _field_errors(form, error: WorkflowError) -> bool:
    """Show the service's reasons beside the fields; False when none matched a field."""
    shown = False
    for name, message in error.fields.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = [*field.errors, message]
            shown = True
    if not shown:
        flash(error.message, "danger")
    return shown


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@bp.route("/<int:project_id>/supervisor", methods=["POST"])
@login_required
def assign(project_id: int):
    _admin_only()
    project = get_visible_or_404(Project, project_id, current_user)
    form = AssignForm()
    form.user_id.choices = _supervisor_choices()
    if form.validate_on_submit():
        user = db.session.get(User, int(form.user_id.data))
        try:
            svc.assign_supervisor(current_user, project, user, note=form.note.data or "")
        except WorkflowError as error:
            db.session.rollback()
            flash(error.message, "danger")
        else:
            db.session.commit()
            flash(_("已指派纪检监察员 %(name)s", name=user.name), "success")
        return redirect(url_for(".show", project_id=project.id, _anchor="supervisor"))
    flash(_("请选择纪检监察员"), "danger")
    return redirect(url_for(".show", project_id=project.id, _anchor="supervisor"))


@bp.route("/<int:project_id>/stage", methods=["POST"])
@login_required
def move_stage(project_id: int):
    project = get_visible_or_404(Project, project_id, current_user)
    if not (current_user.role is Role.admin or project.supervisor_id == current_user.id):
        abort(403)  # before any form handling: the page below must not render for readers
    form = StageForm()
    form.stage.choices = _stage_choices(project, admin=current_user.role is Role.admin)
    if form.validate_on_submit():
        to_stage = Stage(form.stage.data)
        try:
            svc.move_stage(current_user, project, to_stage, changed_on=form.changed_on.data,
                           note=form.note.data or "", reason=form.reason.data or "",
                           version=_int_or_none(form.version.data))
        except WorkflowError as error:
            db.session.rollback()
            db.session.refresh(project)
            _field_errors(form, error)
        else:
            db.session.commit()
            flash(_("项目已进入“%(stage)s”阶段", stage=to_stage.label), "success")
            return redirect(url_for(".show", project_id=project.id, _anchor="timeline"))
    elif not form.stage.choices:
        abort(403)
    # The page again, the stage form open with the reasons beside the fields.
    return render_template("projects/show.html", **_page_context(project, stage_form=form)), 400


@bp.route("/workload")
@login_required
def workload():
    if current_user.role not in (Role.admin, Role.viewer):
        abort(403)
    return render_template("projects/workload.html", rows=svc.workload(),
                           projects=svc.workload_projects(per_supervisor=WORKLOAD_SHOWN),
                           shown=WORKLOAD_SHOWN)


@bp.route("/import", methods=["GET", "POST"])
@login_required
def import_projects():
    _admin_only()
    form = ImportForm()
    result = None
    if form.validate_on_submit():
        upload = form.file.data
        result = importer.import_projects(current_user, upload.filename, upload.read(),
                                          update=form.update.data)
        if result.ok:
            db.session.commit()
            flash(_("导入完成：新增 %(created)s 个项目，更新 %(updated)s 个项目",
                    created=result.created, updated=result.updated), "success")
            if request.headers.get("X-Requested-With") == "XMLHttpRequest":
                # projects.js uploads with a progress bar and goes on to the list itself
                return {"location": url_for(".index")}
            return redirect(url_for(".index"))
        db.session.rollback()
    status = 400 if (result and not result.ok) or form.errors else 200
    return render_template("projects/import.html", form=form, result=result), status


@bp.route("/import/template.xlsx")
@login_required
def import_template():
    return send_file(BytesIO(importer.template_workbook()), as_attachment=True,
                     download_name="重点项目导入模板.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

