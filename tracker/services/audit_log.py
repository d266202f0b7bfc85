"""The audit viewer's query: one UNION ALL over every recorded change, read-only.

Sources: problem events, stage changes, supervisor assignments, risk changes and AuditEntry rows
(user, department, setting and calendar changes, sign-ins and refused sign-ins). Filters (who,
what, object, date range) are applied inside each branch so indexes on `at` serve them; a page
reads one slice of the union, then the few rows' details with one query per source.
"""
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import paging
from ..calendar import TZ, end_of_local_day
from ..extensions import db
from ..models import (Action, AuditEntry, Department, ProblemEvent, ProblemStatus, Project, Risk,
                      RiskChange, RiskLevel, RiskStatus, Role, Stage, StageChange,
                      SupervisorAssignment, User)
from ..xlsx import cells

EXPORT_CAP = 100_000
# AuditEntry actions whose record is the dedicated table (stage_changes, supervisor_assignments).
COVERED_ELSEWHERE = ("project.stage", "project.supervisor")

CATEGORIES = {
    "problem": _l("问题处理"), "stage": _l("阶段变更"), "assignment": _l("纪检监察员分配"),
    "risk": _l("风险变化"), "user": _l("用户变更"), "department": _l("单位变更"),
    "setting": _l("设置变更"), "calendar": _l("节假日安排"), "project": _l("项目信息"),
    "signin": _l("登录"), "signin_failed": _l("登录失败"), "other": _l("其他"),
}
OBJECT_TYPES = {"problem": _l("问题"), "project": _l("项目"), "risk": _l("风险点"),
                "user": _l("用户"), "department": _l("单位"), "setting": _l("设置"),
                "calendar": _l("节假日（年份）")}
AUDIT_ACTION_LABELS = {
    "signin": _l("登录"), "signin.failed": _l("登录失败"), "user.create": _l("新建用户"),
    "user.update": _l("变更用户"), "user.password": _l("修改密码"),
    "user.password_reset": _l("重置密码"), "user.deactivate": _l("停用用户"),
    "user.reactivate": _l("启用用户"), "department.create": _l("新建单位"),
    "department.rename": _l("单位更名"), "department.merge": _l("单位合并"),
    "department.retire": _l("撤销单位"), "department.restore": _l("恢复单位"),
    "setting.change": _l("修改设置"), "calendar.year": _l("录入全年节假日"),
    "calendar.import": _l("导入节假日"), "calendar.delete": _l("删除节假日"),
    "project.create": _l("新建项目"), "project.update": _l("修改项目"),
}
_AUDIT_PREFIX = {"user": "user.", "department": "department.", "setting": "setting.",
                 "calendar": "calendar.", "project": "project."}


@dataclass
class Filters:
    actor_id: int | None = None
    category: str | None = None
    object_type: str | None = None
    object_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None


@dataclass
class Row:
    source: str
    row_id: int
    at: datetime
    actor: str
    category: str
    action: str
    object_type: str
    object_id: int | None
    object_label: str
    summary: str


def _branches(f: Filters) -> list[sa.Select]:
    """One SELECT per source, columns (source, row_id, at, actor_id, action, object_type,
    object_id), each with the filters that apply to it; sources the category excludes drop out."""
    def wanted(category: str) -> bool:
        return f.category in (None, "", category)

    def filtered(select: sa.Select, at, actor, object_type: str, object_id) -> sa.Select:
        if f.actor_id is not None:
            select = select.where(actor == f.actor_id)
        if f.date_from is not None:
            select = select.where(at >= _start_of_local_day(f.date_from))
        if f.date_to is not None:
            select = select.where(at < end_of_local_day(f.date_to))
        if f.object_type:
            if f.object_type != object_type:
                return None
            if f.object_id is not None:
                select = select.where(object_id == f.object_id)
        return select

    def cols(source, row_id, at, actor, action, object_type, object_id):
        return [sa.literal(source, sa.String).label("source"), row_id.label("row_id"),
                at.label("at"), actor.label("actor_id"), sa.cast(action, sa.String).label("action"),
                sa.literal(object_type, sa.String).label("object_type"),
                object_id.label("object_id")]

    out = []
    if wanted("problem"):
        e = ProblemEvent
        out.append(filtered(sa.select(*cols("problem", e.id, e.at, e.actor_id, e.action,
                                            "problem", e.problem_id)),
                            e.at, e.actor_id, "problem", e.problem_id))
    if wanted("stage"):
        s = StageChange
        out.append(filtered(sa.select(*cols("stage", s.id, s.at, s.actor_id, s.to_stage,
                                            "project", s.project_id)),
                            s.at, s.actor_id, "project", s.project_id))
    if wanted("assignment"):
        a = SupervisorAssignment
        out.append(filtered(sa.select(*cols("assignment", a.id, a.started_at, a.assigned_by_id,
                                            sa.literal("assign"), "project", a.project_id)),
                            a.started_at, a.assigned_by_id, "project", a.project_id))
        # An assignment that ended without a successor (the project left without a supervisor).
        nxt = sa.orm.aliased(SupervisorAssignment)
        successor = sa.exists().where(nxt.project_id == a.project_id, nxt.started_at == a.ended_at,
                                      nxt.id != a.id)
        ended = sa.select(*cols("assignment_end", a.id, a.ended_at, sa.null(), sa.literal("end"),
                                "project", a.project_id)).where(a.ended_at.is_not(None), ~successor)
        out.append(None if f.actor_id is not None else
                   filtered(ended, a.ended_at, sa.null(), "project", a.project_id))
    if wanted("risk"):
        r = RiskChange
        out.append(filtered(sa.select(*cols("risk", r.id, r.at, r.actor_id, sa.literal("change"),
                                            "risk", r.risk_id)),
                            r.at, r.actor_id, "risk", r.risk_id))
    audit_categories = ("user", "department", "setting", "calendar", "project", "signin",
                        "signin_failed", "other")
    if f.category in (None, "", *audit_categories):
        x = AuditEntry
        sel = sa.select(*cols("audit", x.id, x.at, x.actor_id, x.action, "", x.object_id)[:5],
                        x.object_type.label("object_type"), x.object_id.label("object_id")) \
            .where(x.action.notin_(COVERED_ELSEWHERE))
        if f.category in _AUDIT_PREFIX:
            sel = sel.where(x.action.like(_AUDIT_PREFIX[f.category] + "%"))
        elif f.category == "signin":
            sel = sel.where(x.action == "signin")
        elif f.category == "signin_failed":
            sel = sel.where(x.action == "signin.failed")
        elif f.category == "other":
            sel = sel.where(x.action.notin_(("signin", "signin.failed")),
                            *[x.action.notlike(p + "%") for p in _AUDIT_PREFIX.values()])
        if f.actor_id is not None:
            sel = sel.where(x.actor_id == f.actor_id)
        if f.date_from is not None:
            sel = sel.where(x.at >= _start_of_local_day(f.date_from))
        if f.date_to is not None:
            sel = sel.where(x.at < end_of_local_day(f.date_to))
        if f.object_type:
            sel = sel.where(x.object_type == f.object_type)
            if f.object_id is not None:
                sel = sel.where(x.object_id == f.object_id)
        out.append(sel)
    return [b for b in out if b is not None]


def _start_of_local_day(day: date) -> datetime:
    return end_of_local_day(day) - timedelta(days=1)


def _union(f: Filters):
    branches = _branches(f)
    if not branches:
        return None
    return sa.union_all(*branches).subquery("changes")


def page(f: Filters, page: int = 1, per_page: int = 50) -> dict:
    """One page of rows, newest first, with an exact total up to paging.COUNT_CAP."""
    changes = _union(f)
    if changes is None:
        return {"items": [], "total": 0, "page": page, "per_page": per_page, "pages": 0,
                "total_capped": False}
    keys = db.session.execute(
        sa.select(changes).order_by(changes.c.at.desc(), changes.c.source, changes.c.row_id.desc())
        .limit(per_page).offset((page - 1) * per_page)).all()
    total = db.session.scalar(paging.capped(sa.select(changes)))
    shown = min(total, paging.COUNT_CAP)
    return {"items": describe(keys), "total": shown, "page": page, "per_page": per_page,
            "pages": max(1, -(-shown // per_page)), "total_capped": total > paging.COUNT_CAP}


def iter_all(f: Filters, chunk: int = 1000):
    """Every row (up to EXPORT_CAP), newest first, described a chunk at a time."""
    changes = _union(f)
    if changes is None:
        return
    keys = db.session.execute(
        sa.select(changes).order_by(changes.c.at.desc(), changes.c.source, changes.c.row_id.desc())
        .limit(EXPORT_CAP)).all()
    for i in range(0, len(keys), chunk):
        yield from describe(keys[i:i + chunk])


# ---------------------------------------------------------------- describing rows

def _fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return _("是") if value else _("否")
    return str(value)


FIELD_LABELS = {"role": _l("角色"), "department_id": _l("单位"), "name": _l("姓名"),
                "active": _l("状态"), "email": _l("邮箱"), "phone": _l("手机")}


def _value(key: str, value, departments: dict[int, str]) -> str:
    if key == "role" and value in Role.__members__:
        return Role(value).label
    if key == "department_id" and value is not None:
        return departments.get(value, f"#{value}")
    if key == "active" and isinstance(value, bool):
        return str(_l("启用")) if value else str(_l("停用"))
    return _fmt(value)


def _changes(before: dict, after: dict, departments: dict[int, str]) -> str:
    keys = [k for k in after if before.get(k) != after.get(k)]
    return _("，").join(_("%(field)s：%(before)s → %(after)s", field=FIELD_LABELS.get(k, k),
                          before=_value(k, before.get(k), departments),
                          after=_value(k, after.get(k), departments)) for k in keys)


def _department_names(entries) -> dict[int, str]:
    """Names of the departments the entries' before/after mention, in one query."""
    ids = set()
    for entry in entries:
        for side in ("before", "after"):
            part = (entry.detail or {}).get(side)
            if isinstance(part, dict) and isinstance(part.get("department_id"), int):
                ids.add(part["department_id"])
    if not ids:
        return {}
    return dict(db.session.execute(sa.select(Department.id, Department.name)
                                   .where(Department.id.in_(ids))).all())


def summaries(entries: list[AuditEntry]) -> dict[int, str]:
    """A readable summary of each audit entry (for a user's history), with two queries at most."""
    ids = {e.detail.get("reassigned_to") for e in entries if (e.detail or {}).get("reassigned_to")}
    names = dict(db.session.execute(sa.select(User.id, User.name).where(User.id.in_(ids))).all()) \
        if ids else {}
    departments = _department_names(entries)
    return {e.id: _audit_summary(e, names, departments) for e in entries}


def _audit_summary(entry: AuditEntry, names: dict[int, str],
                   departments: dict[int, str] | None = None) -> str:
    d = entry.detail or {}
    parts = []
    if "username" in d:
        parts.append(str(d["username"]))
    if entry.action == "setting.change":
        parts.append(_("%(field)s：%(before)s → %(after)s", field=d.get("key"),
                       before=_fmt(d.get("before")), after=_fmt(d.get("after"))))
    elif isinstance(d.get("before"), dict) and isinstance(d.get("after"), dict):
        if entry.action.startswith("calendar."):
            b, a = d["before"], d["after"]
            parts.append(_("放假 %(off_before)s→%(off_after)s 天，调休上班 %(worked_before)s→"
                           "%(worked_after)s 天", off_before=len(b.get("off", [])),
                           off_after=len(a.get("off", [])),
                           worked_before=len(b.get("worked", [])),
                           worked_after=len(a.get("worked", []))))
            if a.get("off"):
                parts.append(_("放假：%(days)s", days=_("、").join(a["off"][:12])
                               + ("…" if len(a["off"]) > 12 else "")))
            if a.get("worked"):
                parts.append(_("上班：%(days)s", days=_("、").join(a["worked"])))
        else:
            parts.append(_changes(d["before"], d["after"], departments or {}))
    elif entry.action == "calendar.import":
        parts.append(_("%(file)s：%(n)s 天", file=d.get("filename", ""), n=d.get("rows", 0)))
    elif entry.action == "department.merge":
        parts.append(_("%(name)s（%(code)s）并入 %(survivor)s，转办问题 %(n)s 个", name=d.get("name"),
                       code=d.get("code"), survivor=d.get("survivor_code"),
                       n=len(d.get("problem_ids") or [])))
    elif entry.action in ("department.create",):
        parts.append(f"{d.get('code')} {d.get('name')}")
    elif entry.action == "calendar.delete":
        parts.append(str(d.get("day")))
    elif entry.action == "user.create" and d.get("role") in Role.__members__:
        parts.append(Role(d["role"]).label)
    for key in ("reassigned_project_ids",):
        if d.get(key):
            parts.append(_("改派项目 %(n)s 个给 %(to)s", n=len(d[key]),
                           to=names.get(d.get("reassigned_to"), "")))
    if d.get("note") or d.get("comment") or d.get("reason"):
        parts.append(str(d.get("note") or d.get("comment") or d.get("reason")))
    if entry.ip:
        parts.append(f"IP {entry.ip}")
    return _("；").join(p for p in parts if p)


def describe(keys) -> list[Row]:
    """Rows for the keys (source, row_id, …), with one query per source present."""
    by_source: dict[str, list[int]] = {}
    for k in keys:
        by_source.setdefault(k.source, []).append(k.row_id)
    objects: dict[tuple[str, int], object] = {}

    def load(model, ids, *options):
        if ids:
            query = sa.select(model).where(model.id.in_(ids)).options(*options)
            for obj in db.session.scalars(query):
                objects[(model.__name__, obj.id)] = obj

    load(ProblemEvent, by_source.get("problem"), sa.orm.joinedload(ProblemEvent.problem))
    load(StageChange, by_source.get("stage"))
    load(SupervisorAssignment, list({*by_source.get("assignment", []),
                                     *by_source.get("assignment_end", [])}))
    load(RiskChange, by_source.get("risk"))
    load(AuditEntry, by_source.get("audit"))
    project_ids = {k.object_id for k in keys if k.object_type == "project"}
    risk_ids = {k.object_id for k in keys if k.object_type == "risk"}
    projects = {p.id: p for p in db.session.scalars(
        sa.select(Project).where(Project.id.in_(project_ids)))} if project_ids else {}
    risks = {r.id: r for r in db.session.scalars(
        sa.select(Risk).where(Risk.id.in_(risk_ids)))} if risk_ids else {}
    user_ids = {k.actor_id for k in keys if k.actor_id is not None}
    for obj in objects.values():
        if isinstance(obj, SupervisorAssignment):
            user_ids.add(obj.user_id)
        if isinstance(obj, AuditEntry):
            if obj.object_type == "user" and obj.object_id:
                user_ids.add(obj.object_id)
            if (obj.detail or {}).get("reassigned_to"):
                user_ids.add(obj.detail["reassigned_to"])
    names = dict(db.session.execute(
        sa.select(User.id, User.name).where(User.id.in_(user_ids))).all()) if user_ids else {}
    departments = _department_names([o for o in objects.values() if isinstance(o, AuditEntry)])

    rows = []
    for k in keys:
        actor = names.get(k.actor_id, "") if k.actor_id is not None else ""
        obj_label, summary, action, category = "", "", k.action, k.source
        if k.source == "problem":
            ev = objects.get(("ProblemEvent", k.row_id))
            action = Action(ev.action).label
            obj_label = f"#{ev.problem_id} {ev.problem.title}"
            move = ""
            if ev.from_status is not None and ev.from_status != ev.to_status:
                move = (f"{ProblemStatus(ev.from_status).label} → "
                        f"{ProblemStatus(ev.to_status).label}")
            summary = _("；").join(p for p in (move, ev.comment) if p)
        elif k.source == "stage":
            sc = objects.get(("StageChange", k.row_id))
            action = str(_l("阶段变更"))
            frm = Stage(sc.from_stage).label if sc.from_stage else "—"
            summary = _("；").join(p for p in (f"{frm} → {Stage(sc.to_stage).label}",
                                               f"{sc.changed_on.isoformat()}", sc.note,
                                               sc.reason or "") if p)
        elif k.source in ("assignment", "assignment_end"):
            sa_row = objects.get(("SupervisorAssignment", k.row_id))
            if k.source == "assignment":
                action = str(_l("指派纪检监察员"))
                summary = _("；").join(p for p in (names.get(sa_row.user_id, ""), sa_row.note)
                                       if p)
            else:
                action = str(_l("结束分配"))
                summary = names.get(sa_row.user_id, "")
            category = "assignment"
        elif k.source == "risk":
            rc = objects.get(("RiskChange", k.row_id))
            action = str(_l("风险变化"))
            lv = (f"{RiskLevel(rc.from_level).label if rc.from_level else '—'} → "
                  f"{RiskLevel(rc.to_level).label}")
            st = (f"{RiskStatus(rc.from_status).label if rc.from_status else '—'} → "
                  f"{RiskStatus(rc.to_status).label}")
            summary = _("等级 %(level)s；状态 %(status)s", level=lv, status=st) + (
                _("；") + rc.reason if rc.reason else "")
            risk = risks.get(k.object_id)
            obj_label = f"#{k.object_id} {risk.title}" if risk else f"#{k.object_id}"
        else:
            entry = objects.get(("AuditEntry", k.row_id))
            action = str(AUDIT_ACTION_LABELS.get(entry.action, entry.action))
            summary = _audit_summary(entry, names, departments)
            category = _audit_category(entry.action)
            if entry.object_type == "user" and entry.object_id:
                obj_label = names.get(entry.object_id, "") or f"#{entry.object_id}"
            elif entry.object_type == "setting":
                obj_label = str((entry.detail or {}).get("key", ""))
            elif entry.object_type == "calendar" and entry.object_id:
                obj_label = _("%(year)s年", year=entry.object_id)
            elif entry.object_id is not None:
                obj_label = f"#{entry.object_id}"
        if k.object_type == "project":
            p = projects.get(k.object_id)
            obj_label = f"{p.code} {p.name}" if p else f"#{k.object_id}"
        at = k.at if k.at.tzinfo else k.at.replace(tzinfo=timezone.utc)
        rows.append(Row(source=k.source, row_id=k.row_id, at=at,
                        actor=actor, category=str(CATEGORIES.get(category, category)),
                        action=action, object_type=str(OBJECT_TYPES.get(k.object_type or "",
                                                                         k.object_type or "")),
                        object_id=k.object_id, object_label=obj_label, summary=summary))
    return rows


def _audit_category(action: str) -> str:
    if action == "signin":
        return "signin"
    if action == "signin.failed":
        return "signin_failed"
    for category, prefix in _AUDIT_PREFIX.items():
        if action.startswith(prefix):
            return category
    return "other"


def export_xlsx(f: Filters) -> bytes:
    """The filtered rows as an Excel workbook (write-only, streamed row by row)."""
    import io

    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("操作记录"))
    ws.append([_("时间"), _("操作人"), _("类别"), _("操作"), _("对象类型"), _("对象编号"), _("对象"),
               _("内容")])
    for r in iter_all(f):
        ws.append(cells([r.at.astimezone(TZ).strftime("%Y-%m-%d %H:%M:%S"), r.actor, r.category,
                         r.action, r.object_type, r.object_id, r.object_label, r.summary]))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
