"""API: departments."""
from . import bp  # noqa: F401
