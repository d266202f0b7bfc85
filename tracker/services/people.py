"""People administration: creating users, role and department changes (kept in history),
password resets, deactivation (with the reassignment of a supervisor's projects) and reactivation.

Every change writes an AuditEntry with `before`/`after` in the same transaction; nothing commits.
Errors are workflow errors so pages show their message and the API answers 400 or 409.
"""
import secrets

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import ApiToken, Department, Project, Role, SupervisorAssignment, User, utcnow
from ..workflow import IllegalMove, InvalidFields
from . import users as accounts
from .audit import audit


def _snapshot(user: User) -> dict:
    return {"role": user.role.value, "department_id": user.department_id, "name": user.name,
            "active": user.active}


def create(actor: User, *, username: str, name: str, role: str, password: str,
           department_id: int | None = None, email: str | None = None,
           phone: str | None = None, must_change_password: bool = True) -> User:
    """A new user; by default they choose their own password at first sign-in."""
    if role != Role.department and department_id is not None:
        message = _("只有责任单位用户属于单位")
        raise InvalidFields(message, {"department_id": message})
    if department_id is not None:
        dept = db.session.get(Department, department_id)
        if dept is None or not dept.active:
            raise InvalidFields(_("没有这个单位（或该单位已撤销）"),
                                {"department_id": _("没有这个单位")})
    try:
        user = accounts.create_user(username, role, password, name=(name or "").strip(),
                                    department_id=(department_id if role == Role.department
                                                   else None),
                                    actor=actor)
    except accounts.UserError as error:
        raise InvalidFields(error.message, _api_fields(error.fields)) from None
    user.email = (email or "").strip() or None
    user.phone = (phone or "").strip() or None
    user.must_change_password = must_change_password
    db.session.flush()
    return user


def _api_fields(fields: dict) -> dict:
    """users.create_user names the department `department`; the API's field is department_id."""
    return {("department_id" if k == "department" else k): v for k, v in fields.items()}


UNCHANGED = ...  # a keyword left at UNCHANGED keeps the user's current value


def update(actor: User, user: User, *, role: str | None = None, department_id=UNCHANGED,
           name: str | None = None, email=UNCHANGED, phone=UNCHANGED) -> User:
    """Change role, department, name or contact details; one audit entry with before/after."""
    errors: dict[str, str] = {}
    before = _snapshot(user)
    new_role = user.role
    if role is not None:
        try:
            new_role = Role(role)
        except ValueError:
            errors["role"] = _("角色应为 admin、supervisor、department 或 viewer")
    new_dept_id = user.department_id if department_id is UNCHANGED else department_id
    if new_role is not Role.department:
        if department_id not in (UNCHANGED, None):
            errors["department_id"] = _("只有责任单位用户属于单位")
        new_dept_id = None
    elif new_dept_id is None:
        errors["department_id"] = _("责任单位用户须指定单位")
    elif new_dept_id != user.department_id:
        dept = db.session.get(Department, new_dept_id)
        if dept is None or not dept.active:
            errors["department_id"] = _("没有这个单位（或该单位已撤销）")
    if name is not None:
        name = name.strip()
        if not name or len(name) > 100:
            errors["name"] = _("姓名不能为空，最多 %(n)s 个字", n=100)
    if errors:
        raise InvalidFields(_("；").join(errors.values()), errors)
    if user.role is Role.supervisor and new_role is not Role.supervisor:
        if held := _held_projects_count(user):
            raise IllegalMove(_l("该纪检监察员仍负责 %(n)s 个项目，请先将项目改派他人再变更角色",
                                 n=held))
    if user.role is Role.admin and new_role is not Role.admin:
        _refuse_last_admin(user)
    user.role, user.department_id = new_role, new_dept_id
    if name is not None:
        user.name = name
    if email is not UNCHANGED:
        user.email = (email or "").strip() or None
    if phone is not UNCHANGED:
        user.phone = (phone or "").strip() or None
    after = _snapshot(user)
    if after != before:
        # A new role changes what the user may see: end their sessions so pages re-check.
        if before["role"] != after["role"] or before["department_id"] != after["department_id"]:
            user.session_epoch += 1
        audit(actor, "user.update", "user", user.id,
              {"username": user.username, "before": before, "after": after})
    db.session.flush()
    return user


def reset_password(actor: User, user: User, new_password: str | None = None) -> str:
    """Set a temporary password the user must change at next sign-in; ends sessions and tokens.

    Returns the temporary password (generated when not given) so admin can hand it over.
    """
    if new_password:
        if (problem := accounts.password_problem(new_password)) is not None:
            raise InvalidFields(problem, {"password": problem})
    else:
        new_password = _temporary_password()
    user.set_password(new_password)
    user.must_change_password = True
    user.session_epoch += 1
    revoked = _revoke_tokens(user)
    audit(actor, "user.password_reset", "user", user.id,
          {"username": user.username, "tokens_revoked": revoked})
    db.session.flush()
    return new_password


def _temporary_password() -> str:
    # Letters and digits both present, as password_problem requires; no look-alike characters.
    letters = "abcdefghjkmnpqrstuvwxyz"
    body = "".join(secrets.choice(letters) for _ in range(6))
    return body + "".join(secrets.choice("23456789") for _ in range(4))


def held_projects(user: User) -> list[Project]:
    """The projects this supervisor currently holds."""
    return list(db.session.scalars(
        sa.select(Project).join(SupervisorAssignment, SupervisorAssignment.project_id == Project.id)
        .where(SupervisorAssignment.user_id == user.id, SupervisorAssignment.ended_at.is_(None))
        .order_by(Project.code)))


def _held_projects_count(user: User) -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(SupervisorAssignment)
        .where(SupervisorAssignment.user_id == user.id, SupervisorAssignment.ended_at.is_(None)))


def _refuse_last_admin(user: User) -> None:
    others = db.session.scalar(sa.select(sa.func.count()).select_from(User).where(
        User.role == Role.admin, User.active.is_(True), User.id != user.id))
    if not others:
        raise IllegalMove(_l("这是最后一个启用的管理员账号，不能停用或变更角色"))


def deactivate(actor: User, user: User, *, reassign_to: User | None = None,
               note: str = "") -> list[Project]:
    """Deactivate `user`: their sessions end and their tokens stop at once; records stay.

    A supervisor who still holds projects is deactivated only with `reassign_to`, another active
    supervisor, who takes each project over (the assignment history keeps both). Returns the
    projects reassigned.
    """
    if not user.active:
        raise IllegalMove(_l("该用户已停用"))
    if user.id == actor.id:
        raise IllegalMove(_l("不能停用自己的账号"))
    if user.role is Role.admin:
        _refuse_last_admin(user)
    projects = held_projects(user) if user.role is Role.supervisor else []
    if projects:
        if reassign_to is None:
            raise IllegalMove(
                _l("该纪检监察员仍负责 %(n)s 个项目，停用前须确认改派给另一名纪检监察员",
                   n=len(projects)),
                {"reassign_to": _("请选择接手的纪检监察员")})
        if (reassign_to.id == user.id or reassign_to.role is not Role.supervisor
                or not reassign_to.active):
            raise InvalidFields(_("接手人须是另一名在用的纪检监察员"),
                                {"reassign_to": _("须是另一名在用的纪检监察员")})
        from .projects import assign_supervisor

        reason = note.strip() or f"{user.name}停用，项目改派"  # stored: the source language
        for project in projects:
            assign_supervisor(actor, project, reassign_to, note=reason)
    user.active = False
    user.session_epoch += 1
    revoked = _revoke_tokens(user)
    audit(actor, "user.deactivate", "user", user.id,
          {"username": user.username, "before": {"active": True}, "after": {"active": False},
           "reassigned_project_ids": [p.id for p in projects],
           "reassigned_to": reassign_to.id if projects else None,
           "tokens_revoked": revoked, "note": note.strip()})
    db.session.flush()
    return projects


def reactivate(actor: User, user: User) -> User:
    if user.active:
        raise IllegalMove(_l("该用户已是启用状态"))
    if user.department_id is not None:
        dept = db.session.get(Department, user.department_id)
        if dept is not None and not dept.active:
            raise IllegalMove(_l("该用户所在单位已撤销，请先为其变更单位"))
    user.active = True
    audit(actor, "user.reactivate", "user", user.id,
          {"username": user.username, "before": {"active": False}, "after": {"active": True}})
    db.session.flush()
    return user


def _revoke_tokens(user: User) -> int:
    """Revoke every live token, so a later reactivation does not bring old tokens back."""
    result = db.session.execute(
        sa.update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow()))
    return result.rowcount or 0


def history(user: User) -> list:
    """The audit entries about this user, newest first (the page shows before/after)."""
    from ..models import AuditEntry

    return list(db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.object_type == "user",
                                    AuditEntry.object_id == user.id,
                                    AuditEntry.action.notin_(("signin", "signin.failed")))
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(200)))
