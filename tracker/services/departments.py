"""Departments (责任单位): create, rename, merge into a surviving one, retire, restore.

A merge moves every problem of the merged department to the survivor through the workflow's
`transfer` action (one event on each problem), moves co-department links, risks and liaison users,
and retires the merged department with `merged_into_id`. Services flush; callers commit.
"""
import re
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import workflow
from ..calendar import load_calendar
from ..extensions import db
from ..models import (Department, Problem, ProblemStatus, Risk, Role, User,
                      problem_co_departments, utcnow)
from ..workflow import IllegalMove, InvalidFields
from .audit import audit

CODE_RE = re.compile(r"^[A-Za-z0-9_\-]{1,32}$")
# Problems the workflow's `transfer` accepts; open ones have no department, withdrawn ones stay.
TRANSFERABLE = (ProblemStatus.assigned, ProblemStatus.rectifying, ProblemStatus.rectified,
                ProblemStatus.closed)
UNFINISHED = (ProblemStatus.assigned, ProblemStatus.rectifying, ProblemStatus.rectified)


def _require_admin(actor: User) -> None:
    if actor.role is not Role.admin:
        raise workflow.NotAllowed(_l("只有管理员可以管理责任单位"))


def _check_name(name: str | None, errors: dict) -> str:
    name = (name or "").strip()
    if not name or len(name) > 100:
        errors["name"] = _("名称不能为空，最多 %(n)s 个字", n=100)
    elif db.session.scalar(sa.select(Department.id).where(Department.name == name,
                                                          Department.active.is_(True))):
        errors["name"] = _("已有同名的在用单位")
    return name


def create(actor: User, *, code: str, name: str) -> Department:
    _require_admin(actor)
    errors: dict[str, str] = {}
    code = (code or "").strip()
    if not CODE_RE.match(code):
        errors["code"] = _("代码为 1–32 位字母、数字、下划线或连字符")
    elif db.session.scalar(sa.select(Department.id).where(Department.code == code)):
        errors["code"] = _("代码已存在")
    name = _check_name(name, errors)
    if errors:
        raise InvalidFields(_("；").join(errors.values()), errors)
    dept = Department(code=code, name=name)
    db.session.add(dept)
    db.session.flush()
    audit(actor, "department.create", "department", dept.id, {"code": code, "name": name})
    return dept


def rename(actor: User, dept: Department, name: str) -> Department:
    _require_admin(actor)
    errors: dict[str, str] = {}
    if (name or "").strip() == dept.name:
        return dept
    name = _check_name(name, errors)
    if errors:
        raise InvalidFields(_("；").join(errors.values()), errors)
    before = dept.name
    dept.name = name
    audit(actor, "department.rename", "department", dept.id,
          {"code": dept.code, "before": {"name": before}, "after": {"name": name}})
    db.session.flush()
    return dept


def unfinished_count(dept: Department) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Problem).where(
        Problem.department_id == dept.id, Problem.status.in_(UNFINISHED)))


def retire(actor: User, dept: Department) -> Department:
    """Retire a department: it can receive no new problems. Refused while it still holds
    unfinished problems or active liaison accounts (merge it instead, or move them first)."""
    _require_admin(actor)
    if not dept.active:
        raise IllegalMove(_l("该单位已撤销"))
    if n := unfinished_count(dept):
        raise IllegalMove(_l("该单位还有 %(n)s 个未销号问题，请先办结或将其合并到其他单位", n=n))
    users = db.session.scalar(sa.select(sa.func.count()).select_from(User).where(
        User.department_id == dept.id, User.active.is_(True)))
    if users:
        raise IllegalMove(_l("该单位还有 %(n)s 个在用的联络员账号，请先停用或变更其单位", n=users))
    dept.active = False
    audit(actor, "department.retire", "department", dept.id,
          {"code": dept.code, "name": dept.name, "before": {"active": True},
           "after": {"active": False}})
    db.session.flush()
    return dept


def restore(actor: User, dept: Department) -> Department:
    _require_admin(actor)
    if dept.active:
        raise IllegalMove(_l("该单位在用"))
    if dept.merged_into_id is not None:
        raise IllegalMove(_l("已合并的单位不能恢复"))
    dept.active = True
    audit(actor, "department.restore", "department", dept.id,
          {"code": dept.code, "before": {"active": False}, "after": {"active": True}})
    db.session.flush()
    return dept


@dataclass
class MergeResult:
    merged: Department
    survivor: Department
    problem_ids: list[int] = field(default_factory=list)
    co_links_moved: int = 0
    risks_moved: int = 0
    user_ids: list[int] = field(default_factory=list)


def merge(actor: User, merged: Department, survivor: Department, comment: str = "") -> MergeResult:
    """Merge `merged` into `survivor`; every change is logged in this one transaction."""
    _require_admin(actor)
    errors: dict[str, str] = {}
    if merged.id == survivor.id:
        errors["survivor_id"] = _("不能合并到自身")
    elif not survivor.active:
        errors["survivor_id"] = _("存续单位须是在用单位")
    if not merged.active:
        errors["merged_id"] = _("该单位已撤销或已合并")
    comment = (comment or "").strip()
    if len(comment) > 500:
        errors["comment"] = _("不能超过 %(n)s 字", n=500)
    if errors:
        raise InvalidFields(_("；").join(errors.values()), errors)
    # Stored on each problem's event and in the audit: in the source language, not the reader's.
    reason = comment or f"“{merged.name}”并入“{survivor.name}”"
    result = MergeResult(merged, survivor)

    calendar = load_calendar(db.session)  # one read for all the transfers
    problems = db.session.scalars(
        sa.select(Problem).where(Problem.department_id == merged.id,
                                 Problem.status.in_(TRANSFERABLE))
        .order_by(Problem.id)).all()
    for problem in problems:
        workflow.apply(problem, "transfer", actor, department_id=survivor.id, comment=reason,
                       calendar=calendar)
        result.problem_ids.append(problem.id)

    links = problem_co_departments.c
    # A problem the survivor already leads or helps keeps one link: drop the merged one there.
    already = sa.union(
        sa.select(Problem.id).where(Problem.department_id == survivor.id),
        sa.select(links.problem_id).where(links.department_id == survivor.id))
    db.session.execute(sa.delete(problem_co_departments).where(
        links.department_id == merged.id, links.problem_id.in_(already)))
    moved = db.session.execute(sa.update(problem_co_departments)
                               .where(links.department_id == merged.id)
                               .values(department_id=survivor.id))
    result.co_links_moved = moved.rowcount or 0

    risks = db.session.execute(sa.update(Risk).where(Risk.department_id == merged.id)
                               .values(department_id=survivor.id, updated_at=utcnow(),
                                       version=Risk.version + 1)
                               .execution_options(synchronize_session=False))
    result.risks_moved = risks.rowcount or 0

    for user in db.session.scalars(sa.select(User).where(User.department_id == merged.id)):
        before = {"department_id": user.department_id}
        user.department_id = survivor.id
        user.session_epoch += 1  # what they may see changed: sign in again
        result.user_ids.append(user.id)
        audit(actor, "user.update", "user", user.id,
              {"username": user.username, "before": before,
               "after": {"department_id": survivor.id}, "reason": reason})

    merged.active = False
    merged.merged_into_id = survivor.id
    audit(actor, "department.merge", "department", merged.id,
          {"code": merged.code, "name": merged.name, "survivor_id": survivor.id,
           "survivor_code": survivor.code, "problem_ids": result.problem_ids,
           "co_links_moved": result.co_links_moved, "risks_moved": result.risks_moved,
           "user_ids": result.user_ids, "comment": comment})
    db.session.flush()
    db.session.expire_all()  # the bulk updates bypassed the identity map
    return result
