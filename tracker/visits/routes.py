"""Pages: field visits — the phone form, a visit, its files, my visits, headquarters' view."""
from datetime import timedelta

import sqlalchemy as sa
from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request,
                   send_file, url_for)
from flask_babel import gettext as _
from flask_login import current_user

from ..auth import roles_required
from ..calendar import local_today
from ..extensions import db
from ..services import settings
from ..models import Attachment, Problem, Project, Role, Stage, SupervisorAssignment, User, Visit
from ..services import uploads
from ..services import visits as visit_service
from ..services.risks import rerate_changes_from_form
from ..risks.panels import visit_rerate_panel
from ..services.visits import NewProblem, RevisitOutcome
from ..visibility import get_visible, get_visible_or_404, visible
from ..workflow import WorkflowError
from .forms import HANDLING_CHOICES, AttachForm, VisitForm

bp = Blueprint("visits", __name__, url_prefix="/visits")

PAGE_ROLES = (Role.admin, Role.supervisor, Role.viewer)


@bp.route("/")
@roles_required(*PAGE_ROLES)
def index():
    """A supervisor's own visits (my visits); headquarters and leaders see all, filterable."""
    query = visible(Visit, current_user)
    mine = current_user.role is Role.supervisor
    if mine:
        query = query.where(Visit.supervisor_id == current_user.id)
    project_id = request.args.get("project_id", type=int)
    supervisor_id = request.args.get("supervisor_id", type=int)
    far_only = request.args.get("far") == "1"
    if project_id:
        query = query.where(Visit.project_id == project_id)
    if supervisor_id and not mine:
        query = query.where(Visit.supervisor_id == supervisor_id)
    if far_only:
        query = query.where(Visit.far_from_site.is_(True))
    query = visit_service.with_details(query).order_by(Visit.visited_on.desc(), Visit.id.desc())
    page = db.paginate(query, page=request.args.get("page", 1, type=int), per_page=30,
                       error_out=False)
    supervisor = db.session.get(User, supervisor_id) if supervisor_id and not mine else None
    return render_template("visits/index.html", page=page, mine=mine, far_only=far_only,
                           supervisor=supervisor)


@bp.route("/new", methods=["GET", "POST"])
@roles_required(Role.admin, Role.supervisor)
def new():
    projects = _own_projects()
    form = VisitForm()
    form.project_id.choices = [(0, _("请选择项目"))] + [
        (p.id, _("%(name)s（%(code)s）", name=p.name, code=p.code)) for p in projects]
    by_id = {p.id: p for p in projects}
    chosen = request.args.get("project_id", type=int) if request.method == "GET" \
        else request.form.get("project_id", type=int)
    if chosen is None and len(projects) == 1:
        chosen = projects[0].id
    project = by_id.get(chosen)

    if request.method == "GET":
        form.project_id.data = project.id if project else 0
        form.visited_on.data = local_today()
        if project:
            for problem in visit_service.awaiting_revisit(project):
                form.revisits.append_entry({"problem_id": str(problem.id)})
        return _render_form(form, project, status=200)

    form_ok = form.validate()
    errors: dict[str, str] = {}
    if project is None:
        errors["project_id"] = _("请选择项目")
    files, file_errors = _prepare_files([("photos", form.photos.data),
                                         ("documents", form.documents.data)])
    errors.update(file_errors)
    if project is not None:  # the service names every other bad field, even if some failed here
        try:
            visit = visit_service.log_visit(current_user._get_current_object(), project,
                                            **_visit_arguments(form),
                                            files=[f for _name, f in files])
        except WorkflowError as error:
            db.session.rollback()
            errors.update(error.fields or {"__all__": error.message})
        else:
            if form_ok and not errors:
                written = uploads.write(current_app.config["UPLOAD_DIR"], [f for _n, f in files])
                try:
                    db.session.commit()
                except Exception:
                    db.session.rollback()
                    uploads.discard(written)
                    raise
                flash(_("走访记录已保存"), "success")
                return redirect(url_for("visits.show", visit_id=visit.id, saved=1))
            db.session.rollback()
    _show_errors(form, errors)
    if files or file_errors:
        form.photos.errors.append(_("照片和文件未保存，请重新选择后提交"))
    return _render_form(form, project, status=400, errors=errors)


@bp.route("/<int:visit_id>")
@roles_required(*PAGE_ROLES)
def show(visit_id: int):
    visit = get_visible(Visit, visit_id, current_user)
    if visit is None:
        abort(404)
    can_attach = current_user.role is Role.admin or visit_service.may_log_visit(
        current_user, visit.project)
    project = visit.project
    distance_km = (visit_service.distance_m(visit.lat, visit.lon, project.lat, project.lon) / 1000
                   if None not in (visit.lat, visit.lon, project.lat, project.lon) else None)
    return render_template("visits/show.html", visit=visit, attach_form=AttachForm(),
                           distance_km=distance_km,
                           outcomes=visit_service.revisit_outcomes([visit]),
                           can_attach=can_attach, saved=request.args.get("saved") == "1")


@bp.route("/<int:visit_id>/attachments", methods=["POST"])
@roles_required(Role.admin, Role.supervisor)
def attach(visit_id: int):
    visit = get_visible_or_404(Visit, visit_id, current_user)
    form = AttachForm()
    files, errors = _prepare_files([("files", form.files.data)])
    if errors:
        for message in errors.values():
            flash(message, "danger")
        return redirect(url_for("visits.show", visit_id=visit.id))
    try:
        visit_service.add_files(current_user._get_current_object(), visit,
                                [f for _n, f in files])
    except WorkflowError as error:
        db.session.rollback()
        flash(error.message, "danger")
        return redirect(url_for("visits.show", visit_id=visit.id))
    written = uploads.write(current_app.config["UPLOAD_DIR"], [f for _n, f in files])
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        uploads.discard(written)
        raise
    flash(_("已上传 %(n)s 个文件", n=len(files)), "success")
    return redirect(url_for("visits.show", visit_id=visit.id))


@bp.route("/files/<int:attachment_id>")
@bp.route("/files/<int:attachment_id>/thumb", endpoint="thumbnail", defaults={"thumb": True})
@roles_required(*PAGE_ROLES, Role.department)
def file(attachment_id: int, thumb: bool = False):
    """A stored file, only for those who may see what it is attached to."""
    attachment = get_visible_or_404(Attachment, attachment_id, current_user)
    return serve_attachment(attachment, thumb)


def serve_attachment(attachment: Attachment, thumb: bool = False):
    """The response for one attachment (pages and API share it)."""
    if thumb and not attachment.has_thumbnail:
        abort(404)
    path = uploads.stored_path(current_app.config["UPLOAD_DIR"], attachment.sha256, thumbnail=thumb)
    if not path.is_file():
        abort(404)
    inline = attachment.content_type.startswith("image/")
    response = send_file(path, mimetype="image/jpeg" if thumb else attachment.content_type,
                         as_attachment=not inline, download_name=uploads.download_name(attachment),
                         conditional=True, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store" if not thumb else "private, max-age=3600"
    return response


@bp.route("/activity")
@roles_required(Role.admin, Role.viewer)
def activity():
    """Headquarters: visits per supervisor per week, projects not visited lately, far visits."""
    today = local_today()
    weekly = visit_service.visits_per_supervisor_per_week(weeks=8, today=today)
    stale = visit_service.projects_without_recent_visit(today=today)
    far = visit_service.far_visits(limit=20)
    return render_template("visits/activity.html", weekly=weekly, stale=stale, far=far,
                           today=today, timedelta=timedelta,
                           stale_days=visit_service.STALE_AFTER_DAYS)


# ---------------------------------------------------------------- helpers

def _visit_arguments(form: VisitForm) -> dict:
    """What the form says, in the service's terms (it does the checking)."""
    return dict(
        visited_on=form.visited_on.data, kind=form.kind.data,
        people_met=form.people_met.data, summary=form.summary.data,
        lat=form.lat.data, lon=form.lon.data,
        quiet_day_exemption=form.quiet_day_exemption.data,
        new_problems=[NewProblem(e.form.title.data, e.form.description.data,
                                 e.form.handling_class.data) for e in form.new_problems],
        revisits=[RevisitOutcome(e.form.problem_id.data, e.form.outcome.data or "",
                                 e.form.satisfaction.data or "", e.form.comment.data or "")
                  for e in form.revisits],
        risk_changes=rerate_changes_from_form(request.form),
        far_from_site_m=current_app.config.get("FAR_FROM_SITE_M", visit_service.FAR_FROM_SITE_M))


def _own_projects() -> list[Project]:
    """The projects this user may log a visit for: a supervisor's own, all for admin."""
    query = visible(Project, current_user).where(Project.stage != Stage.completed)
    if current_user.role is Role.supervisor:
        query = query.where(Project.id.in_(
            sa.select(SupervisorAssignment.project_id).where(
                SupervisorAssignment.user_id == current_user.id,
                SupervisorAssignment.ended_at.is_(None))))
    return list(db.session.scalars(query.order_by(Project.code)))


def _prepare_files(groups) -> tuple[list, dict[str, str]]:
    limit = settings.upload_max_bytes()
    files, errors = [], {}
    for field_name, storages in groups:
        messages = []
        for storage in storages or []:
            try:
                upload = uploads.prepare_storage(storage, limit)
            except uploads.UploadRejected as rejected:
                messages.append(rejected.describe())
                continue
            if upload is not None:
                files.append((field_name, upload))
        if messages:
            errors[field_name] = _("；").join(messages)
    return files, errors


def _show_errors(form: VisitForm, errors: dict[str, str]) -> None:
    """Put each service error beside the field of the same name; the rest above the form."""
    fields = {}

    def walk(container):
        for f in container:
            fields[f.name] = f
            if hasattr(f, "entries"):
                for entry in f.entries:
                    fields[entry.name] = entry
                    if hasattr(entry, "form"):
                        walk(entry.form)
    walk(form)
    for name, message in errors.items():
        if name.startswith("risks-"):
            continue  # shown beside the risk fields by templates/risks/_visit_rerate.html
        target = fields.get(name)
        if target is not None and not hasattr(target, "form"):
            if message not in target.errors:
                target.errors = [*target.errors, message]
        else:
            form.form_errors.append(message)


def _render_form(form: VisitForm, project: Project | None, status: int,
                 errors: dict | None = None):
    problems = {}
    if project is not None:
        ids = [int(e.form.problem_id.data) for e in form.revisits
               if str(e.form.problem_id.data).isdigit()]
        if ids:
            problems = {p.id: p for p in db.session.scalars(
                sa.select(Problem).where(Problem.id.in_(ids), Problem.project_id == project.id))}
    quiet = bool(project and project.quiet_days_apply)
    rerate = visit_rerate_panel(project, current_user,
                                request.form if request.method == "POST" else None,
                                {k: v for k, v in (errors or {}).items() if k.startswith("risks")})
    return render_template("visits/new.html", form=form, project=project, problems=problems,
                           quiet=quiet, has_projects=len(form.project_id.choices) > 1,
                           handling_choices=HANDLING_CHOICES, rerate=rerate,
                           draft_key=f"tracker.visitDraft.{current_user.id}"), status
