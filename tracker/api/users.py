"""API: users. Admin creates them and changes role, department or `active`; admin and viewers
list them. Passwords are never returned; a deactivated user's tokens stop working at once."""
import marshmallow as ma
import sqlalchemy as sa
from flask import abort
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import Role, User
from ..services import people
from . import bp
from .common import PageArgsSchema, actor, page_schema, paginate, require_role

ROLES = [r.value for r in Role]


class UserSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    username = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    role = ma.fields.String(required=True, metadata={"enum": ROLES})
    department_id = ma.fields.Integer(allow_none=True,
                                      metadata={"description": "set for `department` users only"})
    active = ma.fields.Boolean(required=True)
    must_change_password = ma.fields.Boolean()
    email = ma.fields.String(allow_none=True)
    phone = ma.fields.String(allow_none=True)
    version = ma.fields.Integer(required=True)


class UserListArgsSchema(PageArgsSchema):
    role = ma.fields.String(validate=ma.validate.OneOf(ROLES))
    department_id = ma.fields.Integer(validate=ma.validate.Range(min=1, max=2**31 - 1))
    active = ma.fields.Boolean()
    q = ma.fields.String(validate=ma.validate.Length(max=64),
                         metadata={"description": "part of the username or name"})


NOT_BLANK = ma.validate.Regexp(r"^\S(.*\S)?$", error=_l("不能为空或首尾留空格"))
# A subset of what services.users.password_problem accepts, so the document never promises more.
PASSWORD = ma.validate.Regexp(r"^(?=.*[A-Za-z])(?=.*[0-9]).{8,200}$",
                              error=_l("至少 8 位，须同时包含字母和数字"))


class UserCreateSchema(ma.Schema):
    username = ma.fields.String(required=True,
                                validate=[ma.validate.Length(min=1, max=64), NOT_BLANK])
    name = ma.fields.String(required=True, validate=[ma.validate.Length(min=1, max=100), NOT_BLANK])
    role = ma.fields.String(required=True, validate=ma.validate.OneOf(ROLES))
    department_id = ma.fields.Integer(allow_none=True,
                                      validate=ma.validate.Range(min=1, max=2**31 - 1),
                                      metadata={"description": "required for `department` users"})
    password = ma.fields.String(required=True, load_only=True, validate=PASSWORD,
                                metadata={"description": "8+ characters, letters and digits"})
    email = ma.fields.Email(allow_none=True, validate=ma.validate.Length(max=200))
    phone = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=32))
    must_change_password = ma.fields.Boolean(load_default=True, metadata={
        "description": "the user must choose a new password at first sign-in (default true)"})


class UserPatchSchema(ma.Schema):
    name = ma.fields.String(validate=[ma.validate.Length(min=1, max=100), NOT_BLANK])
    role = ma.fields.String(validate=ma.validate.OneOf(ROLES))
    department_id = ma.fields.Integer(allow_none=True,
                                      validate=ma.validate.Range(min=1, max=2**31 - 1))
    active = ma.fields.Boolean(metadata={
        "description": "false deactivates: sessions and tokens stop at once"})
    reassign_to = ma.fields.Integer(validate=ma.validate.Range(min=1, max=2**31 - 1), metadata={
        "description": "deactivating a supervisor who holds projects: the supervisor who takes "
                       "them over (required then, else 409)"})
    note = ma.fields.String(load_default="", validate=ma.validate.Length(max=500))
    email = ma.fields.Email(allow_none=True, validate=ma.validate.Length(max=200))
    phone = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=32))
    version = ma.fields.Integer(metadata={"description": "the version edited; older → 409"})


UserPageSchema = page_schema(UserSchema, "UserPage")


def _user(user_id: int) -> User:
    if not 0 < user_id < 2**31:
        abort(404)
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/users", methods=["GET"])
@bp.arguments(UserListArgsSchema, location="query")
@bp.response(200, UserPageSchema)
@bp.doc(summary="Users (admin and viewers)")
def list_users(args):
    require_role(Role.admin, Role.viewer)
    query = sa.select(User)
    if args.get("role"):
        query = query.where(User.role == Role(args["role"]))
    if args.get("department_id"):
        query = query.where(User.department_id == args["department_id"])
    if "active" in args:
        query = query.where(User.active.is_(args["active"]))
    if q := (args.get("q") or "").strip():
        query = query.where(sa.or_(User.username.ilike(f"%{q}%"), User.name.ilike(f"%{q}%")))
    return paginate(query.order_by(User.id), args["page"], args["per_page"])


@bp.route("/users/<int:user_id>", methods=["GET"])
@bp.response(200, UserSchema)
@bp.doc(summary="One user (admin and viewers; anyone for themselves)")
def get_user(user_id):
    if actor().role not in (Role.admin, Role.viewer) and actor().id != user_id:
        abort(403)
    return _user(user_id)


@bp.route("/users", methods=["POST"])
@bp.arguments(UserCreateSchema)
@bp.response(201, UserSchema)
@bp.doc(summary="Create a user (admin)",
        description="409 when the username exists; 400 naming each bad field.")
def create_user(body):
    require_role(Role.admin)
    username = body["username"].strip()
    if db.session.scalar(sa.select(User.id).where(User.username == username)):
        abort(409, description=_l("用户名已存在"))
    user = people.create(actor(), username=username, name=body["name"], role=body["role"],
                         password=body["password"], department_id=body.get("department_id"),
                         email=body.get("email"), phone=body.get("phone"),
                         must_change_password=body["must_change_password"])
    db.session.commit()
    return user


@bp.route("/users/<int:user_id>", methods=["PATCH"])
@bp.arguments(UserPatchSchema)
@bp.response(200, UserSchema)
@bp.doc(summary="Change a user's role, department, name or `active` (admin)",
        description="Deactivation ends the user's sessions and revokes their tokens at once. "
                    "A supervisor who holds projects is deactivated only with `reassign_to`.")
def patch_user(body, user_id):
    require_role(Role.admin)
    user = _user(user_id)
    if "version" in body and body["version"] != user.version:
        abort(409, description=_l("该用户已被他人更新，请刷新后再试"))
    me = actor()
    changes = {k: body[k] for k in ("role", "name", "department_id", "email", "phone") if k in body}
    if changes:
        if "role" in changes and changes["role"] != Role.department.value \
                and "department_id" not in changes:
            changes["department_id"] = None
        people.update(me, user, **changes)
    if "active" in body and body["active"] != user.active:
        if body["active"]:
            people.reactivate(me, user)
        else:
            successor = None
            if body.get("reassign_to"):
                successor = db.session.get(User, body["reassign_to"])
                if successor is None:
                    abort(400, description=_l("%(field)s：%(error)s", field="reassign_to",
                                              error=_l("没有这个用户")))
            people.deactivate(me, user, reassign_to=successor, note=body.get("note") or "")
    db.session.commit()
    return user
