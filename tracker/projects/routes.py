"""Pages: the key-project registry."""
import sqlalchemy as sa
from flask import Blueprint, render_template, request
from flask_login import current_user, login_required

from ..extensions import db
from ..models import Project
from ..visibility import get_visible_or_404, visible

bp = Blueprint("projects", __name__, url_prefix="/projects")


@bp.route("/")
@login_required
def index():
    query = visible(Project, current_user).order_by(Project.code)
    page = db.paginate(query, page=request.args.get("page", 1, type=int), per_page=50,
                       error_out=False)
    return render_template("projects/index.html", page=page)


@bp.route("/<int:project_id>")
@login_required
def show(project_id: int):
    project = get_visible_or_404(Project, project_id, current_user)
    return render_template("projects/show.html", project=project)
