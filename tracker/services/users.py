"""People: creating users, signing in, passwords and API tokens."""
import hashlib
import secrets
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from ..extensions import db
from ..models import ApiToken, Department, Role, User, utcnow
from .audit import audit

MIN_PASSWORD = 8


class UserError(ValueError):
    def __init__(self, message: str, fields: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


def password_problem(password: str) -> str | None:
    """Why a password is too weak, or None."""
    if len(password) < MIN_PASSWORD:
        return _("密码至少 %(n)s 位", n=MIN_PASSWORD)
    if password.isdigit() or password.isalpha():
        return _("密码须同时包含字母和数字")
    return None


def create_user(username: str, role: str | Role, password: str, *, name: str = "",
                department_code: str | None = None, department_id: int | None = None,
                actor: User | None = None, check_password: bool = True) -> User:
    errors = {}
    username = (username or "").strip()
    if not username or len(username) > 64:
        errors["username"] = _("用户名不能为空，最多 %(n)s 个字符", n=64)
    elif db.session.scalar(sa.select(User.id).where(User.username == username)):
        errors["username"] = _("用户名已存在")
    try:
        role = Role(role)
    except ValueError:
        errors["role"] = _("角色应为 admin、supervisor、department 或 viewer")
        role = None
    department = None
    if department_code:
        department = db.session.scalar(sa.select(Department).where(Department.code == department_code))
    elif department_id is not None:
        department = db.session.get(Department, department_id)
    if role is Role.department and department is None:
        errors["department"] = _("责任单位用户须指定存在的单位")
    if role is not None and role is not Role.department and (department_code or department_id):
        errors["department"] = _("只有责任单位用户属于单位")
    if check_password and (problem := password_problem(password or "")):
        errors["password"] = problem
    if errors:
        raise UserError(_("；").join(errors.values()), errors)
    user = User(username=username, name=name or username, role=role,
                department_id=department.id if role is Role.department else None)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit(actor, "user.create", "user", user.id, {"username": username, "role": role.value})
    return user


def authenticate(username: str, password: str, ip: str = "") -> User | None:
    user = db.session.scalar(sa.select(User).where(User.username == (username or "").strip()))
    if user is None or not user.active or not user.check_password(password or ""):
        audit(user if user else None, "signin.failed", "user", user.id if user else None,
              {"username": (username or "")[:64]}, ip=ip)
        return None
    audit(user, "signin", "user", user.id, {}, ip=ip)
    return user


def change_password(user: User, new_password: str) -> None:
    user.set_password(new_password)
    user.must_change_password = False
    user.session_epoch += 1
    audit(user, "user.password", "user", user.id, {})


def issue_token(user: User) -> tuple[str, ApiToken]:
    raw = secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, token_hash=hash_token(raw),
                     expires_at=utcnow() + current_app.config["API_TOKEN_LIFETIME"])
    db.session.add(token)
    db.session.flush()
    return raw, token


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def user_for_token(raw: str) -> tuple[User, ApiToken] | None:
    """The token's user and the token (one statement: every API request asks)."""
    found = db.session.execute(
        sa.select(ApiToken, User).join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == hash_token(raw))).first()
    if found is None:
        return None
    token, user = found
    if token.revoked_at is not None or token.expires_at <= utcnow() or not user.active:
        return None
    return user, token


def revoke_token(token: ApiToken, at: datetime | None = None) -> None:
    token.revoked_at = at or utcnow()

