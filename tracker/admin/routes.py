"""Pages: administration (people, departments, calendar, settings, audit)."""
import sqlalchemy as sa
from flask import Blueprint, render_template

from ..auth import roles_required
from ..extensions import db
from ..models import Department, Role, User

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/users")
@roles_required(Role.admin)
def users():
    rows = db.session.scalars(sa.select(User).order_by(User.role, User.username)).all()
    return render_template("admin/users.html", users=rows)


@bp.route("/departments")
@roles_required(Role.admin)
def departments():
    rows = db.session.scalars(sa.select(Department).order_by(Department.code)).all()
    return render_template("admin/departments.html", departments=rows)
