"""Pages: the risk register across projects (headquarters), one risk's story, and the forms that
register, re-rate and edit risks or turn one into a problem. HTTP glue around services.risks."""
from datetime import timedelta

import sqlalchemy as sa
from flask import (Blueprint, Response, abort, flash, redirect, render_template, request,
                   url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import (Problem, Project, Risk, RiskCategory, RiskChange, RiskLevel, RiskStatus,
                      Stage)
from ..services import risks as svc
from ..visibility import get_visible_or_404, problem_condition, visible
from ..workflow import InvalidFields, WorkflowError
from .forms import EditRiskForm, MaterialiseForm, RateForm, RiskForm

bp = Blueprint("risks", __name__, url_prefix="/risks")

PER_PAGE = 50


def _week_arg() -> str | None:
    week = request.args.get("week", "").strip()[:10]
    return week or None


def _figures():
    try:
        return svc.risk_figures(current_user, _week_arg())
    except InvalidFields:
        abort(404)


@bp.route("/")
@login_required
def index():
    """Headquarters' view: projects by highest open level, stage × category, this week."""
    figures = _figures()
    monday = figures.starts_on
    weeks = {"prev": svc.week_label(monday - timedelta(days=7)),
             "next": svc.week_label(monday + timedelta(days=7)),
             "this": svc.week_label(svc.parse_week(None))}
    return render_template("risks/index.html", figures=figures, weeks=weeks,
                           kind_of=svc.change_kind, kind_labels=svc.CHANGE_KIND_LABELS)


@bp.route("/chart.png")
@login_required
def chart():
    from .charts import risk_chart_png

    png = risk_chart_png(_figures())
    return Response(png, mimetype="image/png",
                    headers={"Cache-Control": "private, max-age=60"})


def _enum_arg(enum_cls, name):
    value = request.args.get(name, "")
    return enum_cls(value) if value in enum_cls.__members__ else None


@bp.route("/list")
@login_required
def register():
    """Every risk the user may see, filtered by level, status, stage, category."""
    filters = {"level": _enum_arg(RiskLevel, "level"), "status": _enum_arg(RiskStatus, "status"),
               "stage": _enum_arg(Stage, "stage"), "category": _enum_arg(RiskCategory, "category")}
    query = visible(Risk, current_user).options(selectinload(Risk.project),
                                                selectinload(Risk.department))
    for name, value in filters.items():
        if value is not None:
            query = query.where(getattr(Risk, name) == value.value)
    if request.args.get("open") == "1":
        query = query.where(Risk.status != RiskStatus.closed.value)
    query = query.order_by(svc.level_rank_sql(Risk.level).desc(), Risk.updated_at.desc(),
                           Risk.id.desc())
    page = db.paginate(query, page=request.args.get("page", 1, type=int), per_page=PER_PAGE,
                       max_per_page=PER_PAGE, error_out=False)
    choices = [("level", _("等级"), RiskLevel), ("status", _("状态"), RiskStatus),
               ("stage", _("阶段"), Stage), ("category", _("类别"), RiskCategory)]
    return render_template("risks/list.html", page=page, filters=filters, choices=choices)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    project = get_visible_or_404(Project, request.args.get("project_id"), current_user)
    if not svc.can_change(project, current_user):
        abort(403)
    form = (RiskForm(stage=project.stage.value, level="medium") if request.method == "GET"
            else RiskForm())
    if form.validate_on_submit():
        try:
            risk = svc.create_risk(current_user, project, title=form.title.data,
                                   description=form.description.data or "",
                                   stage=form.stage.data, category=form.category.data,
                                   level=form.level.data, department_id=form.department_id.data,
                                   reason=form.reason.data or "")
        except WorkflowError as error:
            db.session.rollback()
            _show_errors(form, error)
        else:
            db.session.commit()
            flash(_("已登记风险点“%(title)s”", title=risk.title), "success")
            return redirect(url_for("projects.show", project_id=project.id, _anchor="risks"))
    status = 400 if form.errors else 200
    return render_template("risks/new.html", form=form, project=project), status


def _show_errors(form, error: WorkflowError) -> None:
    """Put a service's field errors beside the form's fields, the rest in a flash."""
    placed = False
    for name, message in error.fields.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, message] if isinstance(field.errors, list) else [message]
            placed = True
    if not placed:
        flash(error.message, "danger")


def _risk_context(risk: Risk, edit_form=None, problem_form=None) -> dict:
    history = db.session.scalars(
        sa.select(RiskChange).where(RiskChange.risk_id == risk.id)
        .options(selectinload(RiskChange.actor))
        .order_by(RiskChange.at.desc(), RiskChange.id.desc())).all()
    problems = db.session.scalars(
        sa.select(Problem).where(Problem.risk_id == risk.id, problem_condition(current_user))
        .order_by(Problem.id)).all()
    editable = svc.can_change(risk.project, current_user)
    if editable and edit_form is None:
        edit_form = EditRiskForm(formdata=None, title=risk.title, description=risk.description,
                                 stage=risk.stage.value,
                                 category=risk.category.value, level=risk.level.value,
                                 status=risk.status.value,
                                 department_id=str(risk.department_id or ""),
                                 version=risk.version, reason="")
    if editable and problem_form is None:
        problem_form = MaterialiseForm(formdata=None, title=risk.title,
                                       description=risk.description)
    return {"risk": risk, "history": history, "problems": problems, "editable": editable,
            "edit_form": edit_form, "problem_form": problem_form, "kind_of": svc.change_kind,
            "kind_labels": svc.CHANGE_KIND_LABELS}


@bp.route("/<int:risk_id>")
@login_required
def show(risk_id: int):
    risk = get_visible_or_404(Risk, risk_id, current_user)
    return render_template("risks/show.html", **_risk_context(risk))


def _editable_or_403(risk_id: int) -> Risk:
    risk = get_visible_or_404(Risk, risk_id, current_user)
    if not svc.can_change(risk.project, current_user):
        abort(403)
    return risk


@bp.route("/<int:risk_id>/edit", methods=["POST"])
@login_required
def edit(risk_id: int):
    risk = _editable_or_403(risk_id)
    form = EditRiskForm()
    if form.validate_on_submit():
        try:
            change = svc.change_risk(
                current_user, risk, level=form.level.data, status=form.status.data,
                reason=form.reason.data or "", version=form.version.data or None,
                title=form.title.data, description=form.description.data or "",
                stage=form.stage.data, category=form.category.data,
                department_id=form.department_id.data or "")
        except WorkflowError as error:
            db.session.rollback()
            risk = db.session.get(Risk, risk_id)
            _show_errors(form, error)
        else:
            db.session.commit()
            flash(_("风险点已调整") if change else _("风险点已保存"), "success")
            return redirect(url_for(".show", risk_id=risk.id))
    return render_template("risks/show.html", **_risk_context(risk, edit_form=form)), 400


@bp.route("/<int:risk_id>/rate", methods=["POST"])
@login_required
def rate(risk_id: int):
    """Quick re-rating from the project page; back to the project's risk panel."""
    risk = _editable_or_403(risk_id)
    form = RateForm()
    back = url_for("projects.show", project_id=risk.project_id, _anchor=f"risk-{risk.id}")
    if not form.validate_on_submit():
        flash("；".join(m for msgs in form.errors.values() for m in msgs), "danger")
        return redirect(back)
    try:
        change = svc.change_risk(current_user, risk, level=form.level.data,
                                 status=form.status.data, reason=form.reason.data or "",
                                 version=form.version.data)
    except WorkflowError as error:
        db.session.rollback()
        flash(_("“%(title)s”未调整：%(why)s", title=risk.title,
                why="；".join(error.fields.values()) or error.message), "danger")
        return redirect(back)
    db.session.commit()
    flash(_("风险点“%(title)s”已调整", title=risk.title) if change else _("等级和状态没有变化"),
          "success" if change else "info")
    return redirect(back)


@bp.route("/<int:risk_id>/problem", methods=["POST"])
@login_required
def materialise(risk_id: int):
    """The risk happened: open a problem on the problem list linked to it."""
    risk = _editable_or_403(risk_id)
    form = MaterialiseForm()
    if form.validate_on_submit():
        try:
            problem = svc.materialise(current_user, risk, title=form.title.data,
                                      description=form.description.data or "")
        except WorkflowError as error:
            db.session.rollback()
            risk = db.session.get(Risk, risk_id)
            _show_errors(form, error)
        else:
            db.session.commit()
            flash(_("已登记问题，关联风险点“%(title)s”", title=risk.title), "success")
            return redirect(url_for("problems.show", problem_id=problem.id))
    return render_template("risks/show.html", **_risk_context(risk, problem_form=form)), 400
