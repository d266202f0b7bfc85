"""The JSON API, version 1 (/api/v1): token auth, error envelope, generated OpenAPI document.

Each resource lives in its own module; all of them hang on this one blueprint.
"""
import marshmallow as ma
from flask_smorest import Blueprint
from webargs.flaskparser import FlaskParser


class ApiParser(FlaskParser):
    DEFAULT_VALIDATION_STATUS = 400  # the contract's "invalid fields", not 422
    # An unknown field or query parameter is named in a 400 rather than silently ignored.
    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
                                   "query": ma.RAISE, "form": ma.RAISE}


class ApiBlueprint(Blueprint):
    ARGUMENTS_PARSER = ApiParser()


bp = ApiBlueprint("api", __name__, url_prefix="/api/v1",
               description="tracker JSON API v1 (项目纪检监察监督)")

from . import auth, departments, problems, projects, users, visits  # noqa: E402,F401
from . import checklists  # noqa: E402,F401
from . import mywork  # noqa: E402,F401
from . import metrics  # noqa: E402,F401
from . import risks  # noqa: E402,F401
