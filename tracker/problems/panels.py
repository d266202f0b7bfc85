"""What the project page shows of the supervision list and the problem list."""


def checklist_panel(project, user) -> dict:
    """Context for templates/projects/_checklist.html."""
    return {}


def problems_panel(project, user) -> dict:
    """Context for templates/projects/_problems.html."""
    return {}
