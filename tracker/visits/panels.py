"""What the project page shows of field visits: the project's visit timeline."""
from ..models import Project, User
from ..services import visits as visit_service


def visits_panel(project: Project, user: User) -> dict:
    """Context for templates/projects/_visits.html, passed to the page as `visits`.

    The caller has already checked that `user` may see `project`; a supervisor sees the visits
    of their own projects and headquarters all, so the timeline needs no further filter.
    """
    can_log = visit_service.may_log_visit(user, project)
    timeline = visit_service.project_timeline(project, limit=30)
    return {
        "project": project,
        "timeline": timeline,
        "outcomes": visit_service.revisit_outcomes(timeline),
        "can_log": can_log,
        "awaiting_revisit": len(visit_service.awaiting_revisit(project)) if can_log else 0,
    }
