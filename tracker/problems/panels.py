"""What the project page shows of the supervision list and the problem list (its two panels)."""
import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ..calendar import local_today
from ..extensions import db
from ..models import Problem, ProblemStatus, Project, Role, User
from ..services import checklists, problems
from ..visibility import visible

OPEN_SHOWN = 10


def checklist_panel(project: Project, user: User) -> dict:
    """Context for templates/projects/_checklist.html: progress (checked / total) per stage."""
    if user.role is Role.department:  # liaisons see a project's name and code only
        return {"visible": False}
    return {"visible": True, "project": project, "progress": checklists.progress(project),
            "can_mark": checklists.may_mark(user, project)}


def problems_panel(project: Project, user: User) -> dict:
    """Context for templates/projects/_problems.html: counts per status, the problems still
    being worked on (most urgent first), and whether this user may record one here."""
    today = local_today()
    base = visible(Problem, user).where(Problem.project_id == project.id)
    counts = {ProblemStatus(s): n for s, n in db.session.execute(
        sa.select(Problem.status, sa.func.count(Problem.id))
        .where(base.whereclause).group_by(Problem.status)).all()}
    active = db.session.scalars(
        base.where(Problem.status.in_(problems.ACTIVE))
        .options(selectinload(Problem.department))
        .order_by(Problem.due_on.is_(None), Problem.due_on, Problem.id).limit(OPEN_SHOWN)).all()
    return {"project": project, "counts": counts, "total": sum(counts.values()),
            "active": active, "active_total": sum(counts.get(s, 0) for s in problems.ACTIVE),
            "late_days": problems.overdue_days(active, today),
            "can_record": user.role is Role.admin or (user.role is Role.supervisor
                                                      and project.supervisor_id == user.id)}
