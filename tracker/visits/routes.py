"""Pages: field visits."""
from flask import Blueprint, render_template, request
from flask_login import current_user
from sqlalchemy.orm import selectinload

from ..auth import roles_required
from ..extensions import db
from ..models import Role, Visit
from ..visibility import visible

bp = Blueprint("visits", __name__, url_prefix="/visits")


@bp.route("/")
@roles_required(Role.admin, Role.supervisor, Role.viewer)
def index():
    query = (visible(Visit, current_user)
             .options(selectinload(Visit.project), selectinload(Visit.supervisor))
             .order_by(Visit.visited_on.desc(), Visit.id.desc()))
    page = db.paginate(query, page=request.args.get("page", 1, type=int), per_page=50,
                       error_out=False)
    return render_template("visits/index.html", page=page)
