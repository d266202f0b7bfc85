"""Pages: the department ledger (责任单位台账) and its Excel download."""
from flask import Blueprint, render_template, send_file
from flask_login import current_user
from io import BytesIO

from ..auth import roles_required
from ..models import Role
from ..services.ledger import department_ledger, ledger_workbook

bp = Blueprint("ledger", __name__, url_prefix="/ledger")

# Supervisors work on projects, not on departments: the ledger is headquarters', leadership's
# and each department's own view.
READERS = (Role.admin, Role.viewer, Role.department)


@bp.route("/")
@roles_required(*READERS)
def index():
    return render_template("ledger/index.html", ledger=department_ledger(current_user))


@bp.route("/ledger.xlsx")
@roles_required(*READERS)
def download():
    ledger = department_ledger(current_user)
    return send_file(BytesIO(ledger_workbook(ledger)), as_attachment=True,
                     download_name=f"责任单位台账_{ledger.today.isoformat()}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
