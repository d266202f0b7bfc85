"""API: users."""
from . import bp  # noqa: F401
