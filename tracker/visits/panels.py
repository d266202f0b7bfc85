"""What the project page shows of field visits."""


def visits_panel(project, user) -> dict:
    """Context for templates/projects/_visits.html."""
    return {}
