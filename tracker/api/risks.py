"""API: the risk register (重大风险点) — per project and across projects, each risk with its
history of level and status changes. Writes go through tracker.services.risks."""
from datetime import datetime, timezone

import marshmallow as ma
import sqlalchemy as sa
from flask import abort
from flask.views import MethodView
from flask_babel import gettext as _

from ..calendar import TZ
from ..extensions import db
from ..models import (Problem, Project, Risk, RiskCategory, RiskChange, RiskLevel, RiskStatus,
                      Stage, Visit)
from ..services import risks as service
from ..visibility import get_visible, get_visible_or_404, problem_condition, risk_condition
from ..workflow import InvalidFields
from . import bp
from .common import PageArgsSchema, actor, page_schema, paginate


ID_RANGE = ma.validate.Range(min=0, max=2**63 - 1)


def _enum(enum_cls, metadata: dict | None = None, **kwargs):
    values = [m.value for m in enum_cls]
    return ma.fields.String(validate=ma.validate.OneOf(values),
                            metadata={"enum": values, **(metadata or {})}, **kwargs)


class RiskHistoryEntrySchema(ma.Schema):
    at = ma.fields.AwareDateTime(required=True)
    actor_id = ma.fields.Integer(allow_none=True)
    kind = ma.fields.Function(service.change_kind, metadata={
        "type": "string", "enum": list(service.CHANGE_KIND_LABELS),
        "description": "new, raised, lowered, closed, reopened or status"})
    from_level = ma.fields.String(allow_none=True, metadata={"description": "null when registered"})
    to_level = ma.fields.String(required=True)
    from_status = ma.fields.String(allow_none=True)
    to_status = ma.fields.String(required=True)
    reason = ma.fields.String(required=True)
    visit_id = ma.fields.Integer(allow_none=True)


class RiskSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    project_id = ma.fields.Integer(required=True)
    title = ma.fields.String(required=True)
    description = ma.fields.String(required=True)
    stage = _enum(Stage, required=True)
    category = _enum(RiskCategory, required=True)
    level = _enum(RiskLevel, required=True)
    status = _enum(RiskStatus, required=True)
    department_id = ma.fields.Integer(allow_none=True)
    created_at = ma.fields.AwareDateTime(required=True)
    updated_at = ma.fields.AwareDateTime(required=True)
    version = ma.fields.Integer(required=True)


class RiskDetailSchema(RiskSchema):
    history = ma.fields.List(ma.fields.Nested(RiskHistoryEntrySchema), attribute="changes", metadata={
        "description": "every change of level or status, oldest first, from its registration"})
    problem_ids = ma.fields.Method("_problem_ids", metadata={
        "type": "array", "items": {"type": "integer"},
        "description": "problems opened because the risk happened (those this user may see)"})

    def _problem_ids(self, risk):
        return list(db.session.scalars(
            sa.select(Problem.id).where(Problem.risk_id == risk.id, problem_condition(actor()))
            .order_by(Problem.id)))


class DateOrDateTime(ma.fields.String):
    """`YYYY-MM-DD` (the start of that day in Asia/Shanghai) or an ISO 8601 timestamp
    (without offset: Asia/Shanghai); read as an aware UTC datetime."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip().upper()
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ma.ValidationError(_("应为日期 YYYY-MM-DD 或 ISO 8601 时间")) from None
        moment = moment if moment.tzinfo else moment.replace(tzinfo=TZ)
        try:
            return moment.astimezone(timezone.utc)
        except OverflowError:  # a moment at the very edge of the calendar: as early/late as can be
            edge = datetime.min if moment.year == 1 else datetime.max
            return edge.replace(tzinfo=timezone.utc)


class RiskListArgsSchema(PageArgsSchema):
    level = _enum(RiskLevel)
    status = _enum(RiskStatus)
    stage = _enum(Stage)
    category = _enum(RiskCategory)
    project_id = ma.fields.Integer(validate=ID_RANGE)
    department_id = ma.fields.Integer(validate=ID_RANGE)
    open = ma.fields.Boolean(metadata={"description": "true: watching or mitigated only"})
    changed_since = DateOrDateTime(metadata={
        "anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}],
        "description": "risks registered, re-rated or edited at or after this moment: "
                       "YYYY-MM-DD (start of day, Asia/Shanghai) or an ISO 8601 timestamp"})


class ProjectRiskArgsSchema(PageArgsSchema):
    status = _enum(RiskStatus)


class RiskCreateSchema(ma.Schema):
    title = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    description = ma.fields.String(load_default="", validate=ma.validate.Length(max=5000))
    stage = _enum(Stage, metadata={"description": "default: the project's current stage"})
    category = _enum(RiskCategory, required=True)
    level = _enum(RiskLevel, required=True)
    status = _enum(RiskStatus, load_default=RiskStatus.watching.value)
    department_id = ma.fields.Integer(allow_none=True)
    reason = ma.fields.String(load_default="", validate=ma.validate.Length(max=5000),
                              metadata={"description": "optional note kept with the registration"})
    visit_id = ma.fields.Integer(allow_none=True,
                                 metadata={"description": "the visit that found the risk"})


class RiskPatchSchema(ma.Schema):
    version = ma.fields.Integer(required=True,
                                metadata={"description": "the version read; an older one → 409"})
    level = _enum(RiskLevel)
    status = _enum(RiskStatus)
    reason = ma.fields.String(validate=ma.validate.Length(max=5000), metadata={
        "description": "required when level or status changes; kept in the history"})
    title = ma.fields.String(validate=ma.validate.Length(min=1, max=200))
    description = ma.fields.String(validate=ma.validate.Length(max=5000))
    stage = _enum(Stage)
    category = _enum(RiskCategory)
    department_id = ma.fields.Integer(allow_none=True, metadata={"description": "null clears it"})
    visit_id = ma.fields.Integer(allow_none=True,
                                 metadata={"description": "the visit the re-rating comes from"})


RiskPageSchema = page_schema(RiskSchema, "RiskPage")


def _visit(visit_id) -> Visit | None:
    if visit_id is None:
        return None
    visit = get_visible(Visit, visit_id, actor())
    if visit is None:
        raise InvalidFields(_("没有这个走访记录"), {"visit_id": _("没有这个走访记录")})
    return visit


def _project_for_risks(project_id: int) -> Project:
    """The project if the user may see it, or if they may see some of its risks (a department
    sees the risks of its own department); 404 otherwise."""
    project = get_visible(Project, project_id, actor())
    if project is None and project_id < 2**63:
        seen = db.session.scalar(sa.select(sa.literal(True)).where(
            sa.exists().where(Risk.project_id == project_id, risk_condition(actor()))))
        project = db.session.get(Project, project_id) if seen else None
    if project is None:
        abort(404)
    return project


@bp.route("/projects/<int:project_id>/risks")
class ProjectRisks(MethodView):
    @bp.arguments(ProjectRiskArgsSchema, location="query")
    @bp.response(200, RiskPageSchema)
    @bp.doc(summary="A project's risk register (the risks this user may see)")
    def get(self, args, project_id):
        project = _project_for_risks(project_id)
        query = (sa.select(Risk).select_from(Risk)
                 .where(Risk.project_id == project.id, risk_condition(actor())))
        if args.get("status"):
            query = query.where(Risk.status == args["status"])
        return paginate(query.order_by(Risk.id), args["page"], args["per_page"])

    @bp.arguments(RiskCreateSchema)
    @bp.response(201, RiskDetailSchema)
    @bp.doc(summary="Register a risk point on a project (its supervisor or admin)")
    def post(self, body, project_id):
        project = get_visible_or_404(Project, project_id, actor())
        visit = _visit(body.pop("visit_id", None))
        risk = service.create_risk(actor(), project, visit=visit, **body)
        db.session.commit()
        return risk


@bp.route("/risks")
class Risks(MethodView):
    @bp.arguments(RiskListArgsSchema, location="query")
    @bp.response(200, RiskPageSchema)
    @bp.doc(summary="Risk points across projects, filtered and paginated")
    def get(self, args):
        # select_from: keeps the FROM when paginate() swaps the columns to count (an admin's
        # visibility condition is plain TRUE, which names no table).
        query = sa.select(Risk).select_from(Risk).where(risk_condition(actor()))
        for name in ("level", "status", "stage", "category", "project_id", "department_id"):
            if args.get(name) is not None:
                query = query.where(getattr(Risk, name) == args[name])
        if args.get("open"):
            query = query.where(Risk.status != RiskStatus.closed.value)
        elif args.get("open") is False:
            query = query.where(Risk.status == RiskStatus.closed.value)
        if args.get("changed_since") is not None:
            query = query.where(Risk.updated_at >= args["changed_since"])
        return paginate(query.order_by(Risk.id), args["page"], args["per_page"])


@bp.route("/risks/<int:risk_id>")
class RiskDetail(MethodView):
    @bp.response(200, RiskDetailSchema)
    @bp.doc(summary="One risk point with its history")
    def get(self, risk_id):
        return get_visible_or_404(Risk, risk_id, actor())

    @bp.arguments(RiskPatchSchema)
    @bp.response(200, RiskDetailSchema)
    @bp.doc(summary="Re-rate, re-status or edit a risk point; level or status needs a reason",
            responses={"409": {"description": "stale version"}})
    def patch(self, body, risk_id):
        risk = get_visible_or_404(Risk, risk_id, actor())
        visit = _visit(body.pop("visit_id", None))
        if "department_id" in body and body["department_id"] is None:
            body["department_id"] = ""  # explicit null clears the department
        service.change_risk(actor(), risk, visit=visit, **body)
        db.session.commit()
        db.session.refresh(risk)
        return risk
