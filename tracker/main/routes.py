"""The landing page after sign-in."""
import sqlalchemy as sa
from flask import Blueprint, render_template
from flask_login import current_user, login_required

from ..extensions import db
from ..models import Problem, Project
from ..visibility import problem_condition, project_condition

bp = Blueprint("main", __name__)


@bp.route("/")
@login_required
def index():
    project_count = db.session.scalar(
        sa.select(sa.func.count(Project.id)).where(project_condition(current_user)))
    by_status = dict(db.session.execute(
        sa.select(Problem.status, sa.func.count(Problem.id))
        .where(problem_condition(current_user)).group_by(Problem.status)).all())
    return render_template("main/index.html", project_count=project_count, by_status=by_status)
