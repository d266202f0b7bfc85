"""Shared pieces of the API: the acting user, the error envelope schema, pagination."""
from collections.abc import Callable

import marshmallow as ma
import sqlalchemy as sa
from flask import abort, g
from flask_smorest import abort as smorest_abort

from .. import paging
from ..extensions import db
from ..models import Role, User


class ErrorBodySchema(ma.Schema):
    code = ma.fields.String(required=True)
    message = ma.fields.String(required=True)
    fields = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())


class ErrorSchema(ma.Schema):
    """Every 4xx/5xx answer of the API."""

    error = ma.fields.Nested(ErrorBodySchema, required=True)


class PageArgsSchema(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=1_000_000))
    per_page = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=200))


def page_schema(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """The list envelope {items, total, page, per_page[, total_capped]} around `item_schema`."""
    return ma.Schema.from_dict({
        "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
        "total": ma.fields.Integer(required=True),
        "page": ma.fields.Integer(required=True),
        "per_page": ma.fields.Integer(required=True),
        "total_capped": ma.fields.Boolean(),
    }, name=name)


def paginate(query: sa.Select, page: int, per_page: int,
             load: Callable[[sa.Select], list] | None = None) -> dict:
    """One page of `query` (already ordered) with an exact total up to paging.COUNT_CAP;
    `load` reads the page's rows (default: the ORM objects it selects)."""
    rows = query.limit(per_page).offset((page - 1) * per_page)
    items = load(rows) if load else db.session.scalars(rows).all()
    total = db.session.scalar(paging.capped(query))
    body = {"items": items, "total": min(total, paging.COUNT_CAP), "page": page,
            "per_page": per_page}
    if total > paging.COUNT_CAP:
        body["total_capped"] = True
    return body


def actor() -> User:
    """The user the bearer token belongs to (set by the blueprint's before_request)."""
    return g.api_user


def require_role(*roles: Role) -> None:
    if actor().role not in roles:
        abort(403)


def fail(status: int, message: str, fields: dict | None = None) -> None:
    smorest_abort(status, message=message, errors=fields or {})
