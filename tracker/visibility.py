"""One visibility rule for pages and API alike: SQL conditions for what a user may see.

Lists filter with these conditions and single objects are fetched through them, so a list and a
per-object check can never disagree. What a user may not see answers 404, as if it did not exist.
"""
import sqlalchemy as sa
from flask import abort
from sqlalchemy.sql.elements import ColumnElement

from .extensions import db
from .models import (Attachment, Problem, Project, Risk, Role, SupervisorAssignment, User, Visit,
                     problem_co_departments)


def _supervised_project_ids(user: User):
    return sa.select(SupervisorAssignment.project_id).where(
        SupervisorAssignment.user_id == user.id, SupervisorAssignment.ended_at.is_(None))


def _department_problem_ids(user: User):
    lead = sa.select(Problem.id).where(Problem.department_id == user.department_id)
    co = sa.select(problem_co_departments.c.problem_id).where(
        problem_co_departments.c.department_id == user.department_id)
    return sa.union(lead, co)


def sees_everything(user: User) -> bool:
    return user.role in (Role.admin, Role.viewer)


def problem_condition(user: User) -> ColumnElement[bool]:
    if sees_everything(user):
        return sa.true()
    if user.role is Role.supervisor:
        return Problem.project_id.in_(_supervised_project_ids(user))
    if user.role is Role.department and user.department_id is not None:
        return Problem.id.in_(_department_problem_ids(user))
    return sa.false()


def project_condition(user: User) -> ColumnElement[bool]:
    """A department user sees (the name and code of) projects with problems handed to them."""
    if sees_everything(user):
        return sa.true()
    if user.role is Role.supervisor:
        return Project.id.in_(_supervised_project_ids(user))
    if user.role is Role.department and user.department_id is not None:
        return Project.id.in_(sa.select(Problem.project_id).where(
            Problem.id.in_(_department_problem_ids(user))))
    return sa.false()


def visit_condition(user: User) -> ColumnElement[bool]:
    if sees_everything(user):
        return sa.true()
    if user.role is Role.supervisor:
        return Visit.project_id.in_(_supervised_project_ids(user))
    return sa.false()


def risk_condition(user: User) -> ColumnElement[bool]:
    if sees_everything(user):
        return sa.true()
    if user.role is Role.supervisor:
        return Risk.project_id.in_(_supervised_project_ids(user))
    if user.role is Role.department and user.department_id is not None:
        return Risk.department_id == user.department_id
    return sa.false()


def attachment_condition(user: User) -> ColumnElement[bool]:
    visible_visits = sa.select(Visit.id).where(visit_condition(user))
    visible_problems = sa.select(Problem.id).where(problem_condition(user))
    return sa.or_(Attachment.visit_id.in_(visible_visits),
                  Attachment.problem_id.in_(visible_problems))


CONDITIONS = {
    Project: project_condition,
    Problem: problem_condition,
    Visit: visit_condition,
    Risk: risk_condition,
    Attachment: attachment_condition,
}


def visible(model, user: User) -> sa.Select:
    """SELECT of the objects of `model` that `user` may see."""
    return sa.select(model).where(CONDITIONS[model](user))


def get_visible(model, object_id, user: User):
    """The object if it exists and `user` may see it, else None."""
    try:
        object_id = int(object_id)
    except (TypeError, ValueError):
        return None
    if not -2**63 < object_id < 2**63:
        return None
    return db.session.scalar(visible(model, user).where(model.id == object_id))


def get_visible_or_404(model, object_id, user: User):
    obj = get_visible(model, object_id, user)
    if obj is None:
        abort(404)
    return obj
