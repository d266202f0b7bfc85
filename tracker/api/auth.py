"""API authentication: bearer tokens (stored hashed) and the current user."""
import marshmallow as ma
from flask import abort, g, request
from flask_babel import lazy_gettext as _l

from ..auth import throttle_signin
from ..extensions import db
from ..services import users
from . import bp
from .common import actor

PUBLIC_ENDPOINTS = {"api.create_token"}


@bp.before_request
def authenticate_bearer():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, raw = header.partition(" ")
    found = users.user_for_token(raw.strip()) if scheme.lower() == "bearer" and raw else None
    if found is None:
        abort(401, description=_l("缺少或无效的访问令牌"))
    g.api_user, g.api_token = found
    return None


class TokenRequestSchema(ma.Schema):
    username = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))
    password = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))


class TokenSchema(ma.Schema):
    token = ma.fields.String(required=True)
    expires_at = ma.fields.AwareDateTime(required=True)


class MeSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    username = ma.fields.String(required=True)
    name = ma.fields.String()
    role = ma.fields.String(required=True)
    department_id = ma.fields.Integer(allow_none=True)


@bp.route("/tokens", methods=["POST"])
@bp.arguments(TokenRequestSchema)
@bp.response(201, TokenSchema)
@bp.doc(security=[], summary="Sign in: exchange username and password for a bearer token")
@throttle_signin
def create_token(body):
    user = users.authenticate(body["username"], body["password"], ip=request.remote_addr or "")
    if user is None:
        db.session.commit()  # keep the failed sign-in in the audit trail
        abort(401, description=_l("用户名或密码错误，或账号已停用"))
    raw, token = users.issue_token(user)
    db.session.commit()
    return {"token": raw, "expires_at": token.expires_at}


@bp.route("/tokens/current", methods=["DELETE"])
@bp.response(204)
@bp.doc(summary="Revoke the token this request carries")
def revoke_current_token():
    users.revoke_token(g.api_token)
    db.session.commit()


@bp.route("/me", methods=["GET"])
@bp.response(200, MeSchema)
@bp.doc(summary="The signed-in user")
def me():
    return actor()
