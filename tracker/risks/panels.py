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
