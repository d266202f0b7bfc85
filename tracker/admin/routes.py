"""Pages: administration (people, departments, holiday calendar, settings, audit). Admin only.

HTTP glue: validate the form, call the service, commit once, flash, redirect.
"""
from datetime import date

import sqlalchemy as sa
from flask import (Blueprint, abort, flash, redirect, render_template, request, send_file,
                   url_for)
from flask_babel import gettext as _
from flask_login import current_user

from ..auth import roles_required
from ..calendar import local_today
from ..extensions import db
from ..models import Department, Problem, Role, User
from ..services import audit_log, departments as dept_service, holidays, people, settings
from ..workflow import WorkflowError
from . import forms

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@roles_required(Role.admin)
def admin_only():
    """Every page here is for admin only (403 for others, sign-in first for visitors)."""
    return None


def _me() -> User:
    return current_user._get_current_object()


def _attempt(call, form=None) -> tuple[bool, object]:
    """Run one service call: commit and answer (True, its result), or show its refusal (beside
    the form's fields where it names them) and answer (False, None)."""
    try:
        result = call()
    except WorkflowError as error:
        _fail(error, form)
        return False, None
    db.session.commit()
    return True, result


def _fail(error: WorkflowError, form=None):
    """Show a service's refusal: beside the fields it names, else as a flash."""
    db.session.rollback()
    shown = False
    if form is not None:
        for name, message in (error.fields or {}).items():
            field = getattr(form, name, None)
            if field is not None and hasattr(field, "errors"):
                field.errors = list(field.errors) + [message]
                shown = True
    if not shown:
        flash(error.message, "danger")


def _active_departments():
    return db.session.scalars(sa.select(Department).where(Department.active.is_(True))
                              .order_by(Department.code)).all()


def _get(model, object_id):
    if not 0 < object_id < 2**31:  # beyond the id column: no such row (and no database error)
        abort(404)
    obj = db.session.get(model, object_id)
    if obj is None:
        abort(404)
    return obj


# ---------------------------------------------------------------- people

@bp.route("/users")
def users():
    q = (request.args.get("q") or "").strip()
    role = request.args.get("role") or ""
    status = request.args.get("status") or ""
    query = sa.select(User).options(sa.orm.joinedload(User.department))
    if q:
        like = f"%{q}%"
        query = query.where(sa.or_(User.username.ilike(like), User.name.ilike(like)))
    if role in Role.__members__:
        query = query.where(User.role == Role(role))
    if status == "active":
        query = query.where(User.active.is_(True))
    elif status == "inactive":
        query = query.where(User.active.is_(False))
    page = db.paginate(query.order_by(User.active.desc(), User.role, User.username),
                       per_page=50, error_out=False)
    return render_template("admin/users.html", page=page, q=q, role_filter=role, status=status)


@bp.route("/users/new", methods=["GET", "POST"])
def new_user():
    form = forms.UserForm(_active_departments())
    if form.validate_on_submit():
        done, user = _attempt(lambda: people.create(
            _me(), username=form.username.data, name=form.name.data, role=form.role.data,
            password=form.password.data, department_id=form.department_id.data,
            email=form.email.data, phone=form.phone.data), form)
        if done:
            flash(_("已新建用户 %(name)s（%(username)s），首次登录须修改密码",
                    name=user.name, username=user.username), "success")
            return redirect(url_for("admin.user", user_id=user.id))
    return render_template("admin/user_new.html", form=form)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def user(user_id: int):
    target = _get(User, user_id)
    form = forms.EditUserForm(_active_departments(),
                              obj=target if request.method == "GET" else None)
    if request.method == "GET":
        form.role.data = target.role.value
    if form.validate_on_submit():
        done, _result = _attempt(lambda: people.update(
            _me(), target, role=form.role.data, name=form.name.data,
            department_id=form.department_id.data, email=form.email.data,
            phone=form.phone.data), form)
        if done:
            flash(_("已保存"), "success")
            return redirect(url_for("admin.user", user_id=target.id))
    held = people.held_projects(target) if target.role is Role.supervisor else []
    supervisors = db.session.scalars(sa.select(User).where(
        User.role == Role.supervisor, User.active.is_(True), User.id != target.id)
        .order_by(User.name)).all()
    history = people.history(target)
    deactivate_form = forms.DeactivateForm(prefix="off")
    deactivate_form.reassign_to.choices = [(None, _("（请选择）"))] + [
        (u.id, _("%(name)s（%(code)s）", name=u.name, code=u.username)) for u in supervisors]
    return render_template("admin/user.html", target=target, form=form, held=held,
                           reset_form=forms.ResetPasswordForm(prefix="reset"), deactivate_form=deactivate_form,
                           history=history, summaries=audit_log.summaries(history),
                           labels=audit_log.AUDIT_ACTION_LABELS)


@bp.route("/users/<int:user_id>/password", methods=["POST"])
def reset_password(user_id: int):
    target = _get(User, user_id)
    form = forms.ResetPasswordForm(prefix="reset")
    if not form.validate_on_submit():
        flash(_("；").join(map(str, form.password.errors)) or _("请求无效，请重试"), "danger")
        return redirect(url_for("admin.user", user_id=target.id))
    try:
        temporary = people.reset_password(_me(), target, form.password.data or None)
    except WorkflowError as error:
        _fail(error)
    else:
        db.session.commit()
        flash(_("已重置 %(username)s 的密码，临时密码：%(password)s（该用户下次登录须修改密码）",
                username=target.username, password=temporary), "success")
    return redirect(url_for("admin.user", user_id=target.id))


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
def deactivate(user_id: int):
    target = _get(User, user_id)
    form = forms.DeactivateForm(prefix="off")
    if not form.validate_on_submit():
        flash(_("请求无效，请重试"), "danger")
        return redirect(url_for("admin.user", user_id=target.id))
    successor = None
    if form.reassign_to.data and 0 < form.reassign_to.data < 2**31:
        successor = db.session.get(User, form.reassign_to.data)
    try:
        moved = people.deactivate(_me(), target, reassign_to=successor, note=form.note.data or "")
    except WorkflowError as error:
        _fail(error)
    else:
        db.session.commit()
        message = _("已停用 %(name)s：其登录会话和访问令牌立即失效", name=target.name)
        if moved:
            message += _("；%(n)s 个项目已改派给 %(to)s", n=len(moved), to=successor.name)
        flash(message, "success")
    return redirect(url_for("admin.user", user_id=target.id))


@bp.route("/users/<int:user_id>/reactivate", methods=["POST"])
def reactivate(user_id: int):
    target = _get(User, user_id)
    form = forms.FlaskForm()
    if form.validate_on_submit():
        if _attempt(lambda: people.reactivate(_me(), target))[0]:
            flash(_("已启用 %(name)s", name=target.name), "success")
    return redirect(url_for("admin.user", user_id=target.id))


# ---------------------------------------------------------------- departments

@bp.route("/departments", methods=["GET", "POST"])
def departments():
    form = forms.DepartmentForm()
    if form.validate_on_submit():
        done, dept = _attempt(
            lambda: dept_service.create(_me(), code=form.code.data, name=form.name.data), form)
        if done:
            flash(_("已新建单位 %(name)s", name=dept.name), "success")
            return redirect(url_for("admin.departments"))
    unfinished = dict(db.session.execute(
        sa.select(Problem.department_id, sa.func.count())
        .where(Problem.status.in_(dept_service.UNFINISHED), Problem.department_id.is_not(None))
        .group_by(Problem.department_id)).all())
    liaisons = dict(db.session.execute(
        sa.select(User.department_id, sa.func.count()).where(
            User.department_id.is_not(None), User.active.is_(True))
        .group_by(User.department_id)).all())
    rows = db.session.scalars(sa.select(Department).order_by(Department.active.desc(),
                                                             Department.code)).all()
    names = {d.id: d.name for d in rows}
    return render_template("admin/departments.html", departments=rows, form=form,
                           unfinished=unfinished, liaisons=liaisons, names=names)


@bp.route("/departments/<int:dept_id>", methods=["GET", "POST"])
def department(dept_id: int):
    dept = _get(Department, dept_id)
    rename_form = forms.RenameForm(prefix="rename")
    merge_form = forms.MergeForm(prefix="merge")
    merge_form.survivor_id.choices = [(None, _("（请选择）"))] + [
        (d.id, _("%(name)s（%(code)s）", name=d.name, code=d.code))
        for d in _active_departments() if d.id != dept.id]
    if request.method == "GET":
        rename_form.name.data = dept.name
    if rename_form.submit.data and rename_form.validate_on_submit():
        if _attempt(lambda: dept_service.rename(_me(), dept, rename_form.name.data),
                    rename_form)[0]:
            flash(_("已更名"), "success")
            return redirect(url_for("admin.department", dept_id=dept.id))
    if merge_form.submit.data and merge_form.validate_on_submit():
        wanted = merge_form.survivor_id.data
        survivor = db.session.get(Department, wanted) if wanted and 0 < wanted < 2**31 else None
        if survivor is None:
            merge_form.survivor_id.errors = [_("请选择存续单位")]
        else:
            try:
                result = dept_service.merge(_me(), dept, survivor, merge_form.comment.data or "")
            except WorkflowError as error:
                _fail(error, merge_form)
            else:
                db.session.commit()
                flash(_("已将 %(a)s 并入 %(b)s：转办问题 %(n)s 个，协办关系 %(c)s 条，风险点 %(r)s 个，"
                        "联络员 %(u)s 人", a=dept.name, b=survivor.name, n=len(result.problem_ids),
                        c=result.co_links_moved, r=result.risks_moved, u=len(result.user_ids)),
                      "success")
                return redirect(url_for("admin.department", dept_id=survivor.id))
    members = db.session.scalars(sa.select(User).where(User.department_id == dept.id)
                                 .order_by(User.username)).all()
    return render_template("admin/department.html", dept=dept, rename_form=rename_form,
                           merge_form=merge_form, members=members,
                           unfinished=dept_service.unfinished_count(dept),
                           merged_into=db.session.get(Department, dept.merged_into_id)
                           if dept.merged_into_id else None,
                           action_form=forms.FlaskForm())


@bp.route("/departments/<int:dept_id>/retire", methods=["POST"])
def retire_department(dept_id: int):
    dept = _get(Department, dept_id)
    if forms.FlaskForm().validate_on_submit():
        if _attempt(lambda: dept_service.retire(_me(), dept))[0]:
            flash(_("已撤销 %(name)s：不能再向其交办问题", name=dept.name), "success")
    return redirect(url_for("admin.department", dept_id=dept.id))


@bp.route("/departments/<int:dept_id>/restore", methods=["POST"])
def restore_department(dept_id: int):
    dept = _get(Department, dept_id)
    if forms.FlaskForm().validate_on_submit():
        if _attempt(lambda: dept_service.restore(_me(), dept))[0]:
            flash(_("已恢复 %(name)s", name=dept.name), "success")
    return redirect(url_for("admin.department", dept_id=dept.id))


# ---------------------------------------------------------------- holiday calendar

def _year_arg() -> int:
    try:
        year = int(request.args.get("year") or local_today().year + 1)
    except ValueError:
        year = local_today().year + 1
    return min(max(year, 2000), 2100)


@bp.route("/calendar", methods=["GET", "POST"])
def calendar():
    year = _year_arg()
    form = forms.YearForm()
    entries = holidays.year_entries(year)
    if request.method == "GET":
        form.days_off.data = holidays.as_text(entries, False)
        form.days_worked.data = holidays.as_text(entries, True)
    if form.validate_on_submit():
        try:
            holidays.save_year(_me(), year, form.days_off.data or "", form.days_worked.data or "")
        except WorkflowError as error:
            _fail(error, form)
        else:
            db.session.commit()
            differing = len(holidays.due_date_differences())
            flash(_("已保存 %(year)s 年节假日安排", year=year), "success")
            if differing:
                flash(_("有 %(n)s 个未办结问题的期限在新安排下会不同，已设定的期限不会自动调整，请核对",
                        n=differing), "warning")
            return redirect(url_for("admin.calendar", year=year))
    this_year = local_today().year
    years = sorted({this_year - 1, this_year, this_year + 1, year, *holidays.years_with_entries()})
    return render_template("admin/calendar.html", year=year, form=form, entries=entries,
                           statuses=[holidays.year_status(y) for y in years],
                           import_form=forms.ImportForm(prefix="import"), action_form=forms.FlaskForm())


@bp.route("/calendar/import", methods=["POST"])
def calendar_import():
    form = forms.ImportForm(prefix="import")
    if not form.validate_on_submit():
        flash(_("；").join(map(str, form.file.errors)) or _("请选择文件"), "danger")
        return redirect(url_for("admin.calendar", year=request.args.get("year")))
    upload = form.file.data
    data = upload.read(2 * 1024 * 1024 + 1)
    if len(data) > 2 * 1024 * 1024:
        flash(_("文件过大（最大 2 MB）"), "danger")
        return redirect(url_for("admin.calendar"))
    try:
        entries = holidays.import_file(_me(), upload.filename, data)
    except WorkflowError as error:
        db.session.rollback()
        flash(error.message, "danger")
        for line in getattr(error, "lines", [])[:50]:
            flash(line, "danger")
        return redirect(url_for("admin.calendar", year=request.args.get("year")))
    db.session.commit()
    first = min(e.day for e in entries)
    flash(_("已导入 %(n)s 天", n=len(entries)), "success")
    return redirect(url_for("admin.calendar", year=first.year))


@bp.route("/calendar/template.csv")
def calendar_template():
    import io

    return send_file(io.BytesIO(holidays.template_csv()), mimetype="text/csv",
                     as_attachment=True, download_name="holidays-template.csv")


@bp.route("/calendar/<day>/delete", methods=["POST"])
def calendar_delete(day: str):
    try:
        which = date.fromisoformat(day)
    except ValueError:
        abort(404)
    if forms.FlaskForm().validate_on_submit():
        try:
            holidays.delete_day(_me(), which)
        except WorkflowError as error:
            _fail(error)
        else:
            db.session.commit()
            flash(_("已删除 %(day)s", day=which.isoformat()), "success")
    return redirect(url_for("admin.calendar", year=which.year))


@bp.route("/calendar/due-dates")
def due_dates():
    rows = holidays.due_date_differences()
    forms_by_id = {}
    for row in rows:
        form = forms.AdjustDueForm(prefix=f"p{row.problem.id}", formdata=None)
        form.due_on.data = row.recomputed
        form.comment.data = _("节假日安排调整，期限按新安排重算")
        forms_by_id[row.problem.id] = form
    return render_template("admin/due_dates.html", rows=rows, forms_by_id=forms_by_id)


@bp.route("/calendar/due-dates/<int:problem_id>", methods=["POST"])
def adjust_due(problem_id: int):
    problem = _get(Problem, problem_id)
    form = forms.AdjustDueForm(prefix=f"p{problem.id}")
    if not form.validate_on_submit():
        errors = [e for f in (form.due_on, form.comment) for e in f.errors]
        flash(_("问题 #%(id)s：%(errors)s", id=problem.id, errors=_("；").join(map(str, errors))),
              "danger")
        return redirect(url_for("admin.due_dates"))
    try:
        holidays.adjust_due(_me(), problem, form.due_on.data, form.comment.data)
    except WorkflowError as error:
        _fail(error)
    else:
        db.session.commit()
        flash(_("问题 #%(id)s 的期限已调整为 %(due)s", id=problem.id, due=form.due_on.data.isoformat()),
              "success")
    return redirect(url_for("admin.due_dates"))


# ---------------------------------------------------------------- settings

@bp.route("/settings", methods=["GET", "POST"])
def settings_page():
    form_class = forms.settings_form_class(settings.SPECS)
    current = settings.get_all()
    form = form_class(data=current) if request.method == "GET" else form_class()
    if form.validate_on_submit():
        values = {key: getattr(form, key).data for key in settings.SPECS}
        try:
            changed = settings.set_many(_me(), values)
        except WorkflowError as error:
            _fail(error, form)
        else:
            db.session.commit()
            if changed:
                flash(_("已保存 %(n)s 项设置，立即生效", n=len(changed)), "success")
            else:
                flash(_("设置没有变化"), "info")
            return redirect(url_for("admin.settings_page"))
    return render_template("admin/settings.html", form=form, specs=settings.SPECS)


# ---------------------------------------------------------------- audit viewer

def _audit_filters():
    form = forms.AuditFilterForm(request.args)
    users_list = db.session.execute(sa.select(User.id, User.name, User.username)
                                    .order_by(User.name)).all()
    form.actor_id.choices = [(None, _("全部"))] + [
        (u.id, _("%(name)s（%(code)s）", name=u.name, code=u.username)) for u in users_list]
    form.category.choices = [("", _("全部"))] + [(k, str(v)) for k, v in audit_log.CATEGORIES.items()]
    form.object_type.choices = [("", _("全部"))] + [(k, str(v)) for k, v in
                                                  audit_log.OBJECT_TYPES.items()]
    form.validate()
    for field in (form.date_from, form.date_to):
        if field.data and not 2000 <= field.data.year <= 2100:
            field.errors = list(field.errors) + [_("日期应在 2000–2100 年之间")]

    def ok(field):
        return field.data if not field.errors else None

    known_users = {u.id for u in users_list}
    filters = audit_log.Filters(
        actor_id=form.actor_id.data if form.actor_id.data in known_users else None,
        category=form.category.data if form.category.data in audit_log.CATEGORIES else None,
        object_type=(form.object_type.data if form.object_type.data in audit_log.OBJECT_TYPES
                     else None),
        object_id=ok(form.object_id), date_from=ok(form.date_from), date_to=ok(form.date_to))
    return form, filters


@bp.route("/audit")
def audit():
    form, filters = _audit_filters()
    page = request.args.get("page", 1, type=int)
    page = min(max(page, 1), 100_000)
    result = audit_log.page(filters, page=page, per_page=50)
    return render_template("admin/audit.html", form=form, result=result)


@bp.route("/audit/export.xlsx")
def audit_export():
    import io

    _form, filters = _audit_filters()
    data = audit_log.export_xlsx(filters)
    name = f"audit-{local_today().isoformat()}.xlsx"
    return send_file(io.BytesIO(data), as_attachment=True, download_name=name,
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
