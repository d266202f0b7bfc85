"""API: problems."""
from . import bp  # noqa: F401
