"""Pages: the problem list and each problem's story."""
from flask import Blueprint, render_template, request
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Problem
from ..visibility import get_visible_or_404, visible
from ..workflow import available_actions

bp = Blueprint("problems", __name__, url_prefix="/problems")


@bp.route("/")
@login_required
def index():
    query = (visible(Problem, current_user)
             .options(selectinload(Problem.project), selectinload(Problem.department))
             .order_by(Problem.created_at.desc(), Problem.id.desc()))
    page = db.paginate(query, page=request.args.get("page", 1, type=int), per_page=50,
                       error_out=False)
    return render_template("problems/index.html", page=page)


@bp.route("/<int:problem_id>")
@login_required
def show(problem_id: int):
    problem = get_visible_or_404(Problem, problem_id, current_user)
    return render_template("problems/show.html", problem=problem,
                           actions=available_actions(problem, current_user))
