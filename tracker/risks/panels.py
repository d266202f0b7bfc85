"""What the project page shows of the risk register."""


def risks_panel(project, user) -> dict:
    """Context for templates/projects/_risks.html."""
    return {}
