"""API: projects."""
from . import bp  # noqa: F401
