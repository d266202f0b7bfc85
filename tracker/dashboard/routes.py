"""Pages: headquarters' figures."""
from flask import Blueprint, render_template

from ..auth import roles_required
from ..models import Role

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")


@bp.route("/")
@roles_required(Role.admin, Role.viewer)
def index():
    return render_template("dashboard/index.html")
