"""API: visits."""
from . import bp  # noqa: F401
