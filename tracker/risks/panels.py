"""What the project page shows of the risk register."""
import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Risk, RiskLevel, RiskStatus
from ..services.risks import can_change, level_rank_sql
from ..visibility import risk_condition


def risks_panel(project, user) -> dict:
    """Context for templates/projects/_risks.html: the project's risks this user may see,
    open ones first by level, and whether the user keeps this register."""
    rows = db.session.scalars(
        sa.select(Risk).where(Risk.project_id == project.id, risk_condition(user))
        .options(selectinload(Risk.department))
        .order_by((Risk.status == RiskStatus.closed.value), level_rank_sql(Risk.level).desc(),
                  Risk.updated_at.desc(), Risk.id)).all()
    open_rows = [r for r in rows if r.status is not RiskStatus.closed]
    return {
        "project": project,
        "rows": rows,
        "open_count": len(open_rows),
        "high_count": sum(1 for r in open_rows if r.level is RiskLevel.high),
        "can_edit": can_change(project, user),
        "levels": list(RiskLevel),
        "statuses": list(RiskStatus),
    }


def visit_rerate_panel(project, user, formdata=None, errors: dict | None = None) -> dict:
    """Context for templates/risks/_visit_rerate.html inside the visit form: the project's risks
    that are not closed, each with level, status and reason fields named `risks-<id>-…`.

    `formdata` (request.form on a re-shown form) keeps what was entered; `errors` are the
    fields InvalidFields named (from services.risks.check_rerates or rerate_from_visit).
    """
    rows = [] if project is None or not can_change(project, user) else db.session.scalars(
        sa.select(Risk).where(Risk.project_id == project.id,
                              Risk.status != RiskStatus.closed.value)
        .order_by(level_rank_sql(Risk.level).desc(), Risk.id)).all()
    formdata = formdata or {}
    entered = {r.id: {"level": formdata.get(f"risks-{r.id}-level") or r.level.value,
                     "status": formdata.get(f"risks-{r.id}-status") or r.status.value,
                     "reason": formdata.get(f"risks-{r.id}-reason") or "",
                     "version": formdata.get(f"risks-{r.id}-version") or r.version}
              for r in rows}
    return {"rows": rows, "entered": entered, "errors": errors or {},
            "levels": list(RiskLevel), "statuses": list(RiskStatus)}
