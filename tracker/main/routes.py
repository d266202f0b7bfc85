"""Pages: "my work" (the landing page), notifications, and the accountability record form.

Blueprint-wide template helpers live here too: the unread count in the header, and what the
problem page's instruction and accountability partials need.
"""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import SQLAlchemyError

from ..auth import roles_required
from ..extensions import db
from ..models import AccountabilityRecord, Action, Outcome, Problem, Role
from ..services import accountability, mywork, reminders
from ..visibility import get_visible_or_404
from ..workflow import WorkflowError
from .forms import AccountabilityForm, DecisionForm

bp = Blueprint("main", __name__)

PAGE_LIMIT = 200  # the most urgent items; the rest are a count with a link to the problem list


@bp.app_context_processor
def header_counts():
    """The unread-notification badge in the header: one COUNT per page for signed-in users."""
    def unread():
        if not current_user.is_authenticated:
            return 0
        try:
            return reminders.unread_count(current_user)
        except SQLAlchemyError:  # an error page about the database must still render
            db.session.rollback()
            return 0
    return {"unread_notifications": unread}


@bp.app_template_global()
def leader_instructions(problem: Problem):
    """The `instruct` events of a problem, newest first (from its already loaded log)."""
    return [e for e in reversed(problem.events) if e.action is Action.instruct]


@bp.app_template_global()
def accountability_records(problem: Problem):
    return accountability.records_for(problem)


@bp.app_template_global()
def accountability_outcomes():
    return list(Outcome)


@bp.route("/")
@login_required
def index():
    work = mywork.my_work(current_user, limit=PAGE_LIMIT)
    kind = request.args.get("kind")
    kind = kind if kind in mywork.KINDS else None
    shown = [i for i in work.items if kind is None or i.kind == kind][:PAGE_LIMIT]
    waiting = work.counts.get(kind, 0) if kind else work.total
    return render_template("main/index.html", work=work, kinds=mywork.KINDS, kind=kind,
                           shown=shown, hidden=waiting - len(shown))


@bp.route("/notifications")
@login_required
def notifications():
    page = db.paginate(reminders.notifications_for(current_user),
                       page=request.args.get("page", 1, type=int), per_page=30, error_out=False)
    return render_template("main/notifications.html", page=page)


@bp.route("/notifications/<int:notification_id>/read", methods=["POST"])
@login_required
def mark_read(notification_id: int):
    reminders.mark_read(current_user, notification_id)
    db.session.commit()
    return redirect(url_for("main.notifications", page=request.form.get("page", 1, type=int)))


@bp.route("/notifications/read-all", methods=["POST"])
@login_required
def mark_all_read():
    changed = reminders.mark_read(current_user)
    db.session.commit()
    flash(_("已将 %(n)s 条提醒标为已读", n=changed), "success")
    return redirect(url_for("main.notifications"))


def _form_errors(form) -> str:
    return "；".join(f"{form[name].label.text}：{'、'.join(errs)}"
                    for name, errs in form.errors.items())


@bp.route("/problems/<int:problem_id>/accountability", methods=["POST"])
@roles_required(Role.admin)
def add_accountability(problem_id: int):
    problem = get_visible_or_404(Problem, problem_id, current_user)
    form = AccountabilityForm()
    if not form.validate():
        flash(_form_errors(form), "danger")
    else:
        try:
            accountability.record_accountability(
                current_user, problem, subject=form.subject.data, outcome=form.outcome.data,
                decided_on=form.decided_on.data, note=form.note.data or "")
        except WorkflowError as error:
            db.session.rollback()
            flash(error.message, "danger")
        else:
            db.session.commit()
            flash(_("问责情况已记录"), "success")
    return redirect(url_for("problems.show", problem_id=problem_id, _anchor="accountability"))


@bp.route("/problems/<int:problem_id>/accountability/<int:record_id>", methods=["POST"])
@roles_required(Role.admin)
def decide_accountability(problem_id: int, record_id: int):
    problem = get_visible_or_404(Problem, problem_id, current_user)
    record = db.get_or_404(AccountabilityRecord, record_id)
    form = DecisionForm()
    if not form.validate():
        flash(_form_errors(form), "danger")
    else:
        try:
            accountability.decide_accountability(
                current_user, record, problem, outcome=form.outcome.data,
                decided_on=form.decided_on.data, note=form.note.data or "")
        except WorkflowError as error:
            db.session.rollback()
            flash(error.message, "danger")
        else:
            db.session.commit()
            flash(_("处理结果已记录"), "success")
    return redirect(url_for("problems.show", problem_id=problem_id, _anchor="accountability"))
