"""API: field visits — list, log (with new problems and revisit outcomes), read, attach files."""
import re

import marshmallow as ma
from flask import current_app, request, url_for
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import abort as smorest_abort

from ..extensions import db
from ..services import settings
from ..models import (Attachment, Project, QuietDayExemption, RiskLevel, RiskStatus, Role,
                      Satisfaction, Visit, VisitKind)
from ..services import uploads
from ..services import visits as service
from ..services.visits import NewProblem, RevisitOutcome, VisitInvalid
from ..visibility import get_visible, get_visible_or_404, visible
from . import bp
from .common import PageArgsSchema, actor, page_schema, paginate, require_role


def _one_of(enum_cls):
    return ma.validate.OneOf([m.value for m in enum_cls])


class AttachmentSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    visit_id = ma.fields.Integer(allow_none=True)
    content_type = ma.fields.String(required=True)
    size = ma.fields.Integer(required=True, metadata={"description": "bytes as stored"})
    original_name = ma.fields.String(required=True, metadata={"description": "for display only"})
    has_thumbnail = ma.fields.Boolean(required=True)
    exif = ma.fields.Dict(metadata={"description": "lat, lon, taken_at, make, model from the "
                                                   "camera; the served file carries none of it"})
    created_at = ma.fields.AwareDateTime(required=True)
    url = ma.fields.Method("_url", metadata={"type": "string"})

    def _url(self, attachment) -> str:
        return url_for("api.attachment_file", attachment_id=attachment.id)


class VisitSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    project_id = ma.fields.Integer(required=True)
    supervisor_id = ma.fields.Integer(required=True)
    visited_on = ma.fields.Date(required=True)
    kind = ma.fields.String(required=True, metadata={"enum": [k.value for k in VisitKind]})
    stage = ma.fields.String(required=True, metadata={"description": "the project's stage then"})
    people_met = ma.fields.String()
    summary = ma.fields.String(required=True)
    lat = ma.fields.Float(allow_none=True)
    lon = ma.fields.Float(allow_none=True)
    far_from_site = ma.fields.Boolean(
        required=True, metadata={"description": "logged more than ~2 km from the project's location"})
    quiet_day_exemption = ma.fields.String(
        allow_none=True, metadata={"enum": [e.value for e in QuietDayExemption]})
    raised_problem_ids = ma.fields.Method("_raised", metadata={"type": "array",
                                                               "items": {"type": "integer"}})
    revisited_problem_ids = ma.fields.Method("_revisited", metadata={"type": "array",
                                                                     "items": {"type": "integer"}})
    attachments = ma.fields.List(ma.fields.Nested(AttachmentSchema))
    created_at = ma.fields.AwareDateTime(required=True)

    def _raised(self, visit) -> list[int]:
        return [p.id for p in visit.raised_problems]

    def _revisited(self, visit) -> list[int]:
        return [p.id for p in visit.revisited_problems]


class VisitListArgsSchema(PageArgsSchema):
    project_id = ma.fields.Integer()
    supervisor_id = ma.fields.Integer()


class NewProblemSchema(ma.Schema):
    title = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    description = ma.fields.String(load_default="", validate=ma.validate.Length(max=5000))
    handling_class = ma.fields.Integer(allow_none=True, validate=ma.validate.OneOf((1, 5, 10)),
                                       metadata={"description": "suggested 1|5|10"})


class RevisitSchema(ma.Schema):
    problem_id = ma.fields.Integer(required=True)
    outcome = ma.fields.String(required=True, validate=ma.validate.OneOf(("close", "reopen")))
    satisfaction = ma.fields.String(validate=_one_of(Satisfaction), metadata={
        "description": "required to close; 不满意 or worse cannot close"})
    comment = ma.fields.String(load_default="", validate=ma.validate.Length(max=5000),
                               metadata={"description": "what the revisit found; the reason, "
                                                        "required to reopen"})


class RiskChangeSchema(ma.Schema):
    risk_id = ma.fields.Integer(required=True)
    level = ma.fields.String(validate=_one_of(RiskLevel))
    status = ma.fields.String(validate=_one_of(RiskStatus))
    reason = ma.fields.String(load_default="", validate=ma.validate.Length(max=5000),
                              metadata={"description": "required when level or status changes"})
    version = ma.fields.Integer(metadata={"description": "the risk's version seen; older → error"})


class VisitCreateSchema(ma.Schema):
    project_id = ma.fields.Integer(required=True)
    visited_on = ma.fields.Date(required=True)
    kind = ma.fields.String(required=True, validate=_one_of(VisitKind))
    people_met = ma.fields.String(load_default="", validate=ma.validate.Length(max=2000))
    summary = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=5000))
    lat = ma.fields.Float(allow_none=True, validate=ma.validate.Range(-90, 90))
    lon = ma.fields.Float(allow_none=True, validate=ma.validate.Range(-180, 180))
    quiet_day_exemption = ma.fields.String(allow_none=True, validate=_one_of(QuietDayExemption),
                                           metadata={"description": "required on 企业宁静日"})
    new_problems = ma.fields.List(ma.fields.Nested(NewProblemSchema), load_default=list,
                                  validate=ma.validate.Length(max=20))
    revisits = ma.fields.List(ma.fields.Nested(RevisitSchema), load_default=list,
                              validate=ma.validate.Length(max=200))
    risk_changes = ma.fields.List(ma.fields.Nested(RiskChangeSchema), load_default=list,
                                  validate=ma.validate.Length(max=100), metadata={
                                      "description": "re-rate the project's risk points on this "
                                                     "visit; errors are named risks.<risk_id>.<field>"})


class FilesSchema(ma.Schema):
    file = ma.fields.List(ma.fields.Raw(metadata={"type": "string", "format": "binary"}),
                          required=True, validate=ma.validate.Length(min=1, max=20), metadata={"description": "one or more photos (JPEG, PNG, "
                                                                  "WebP) or PDF files"})


VisitPageSchema = page_schema(VisitSchema, "VisitPage")


def fail(status: int, message: str, fields: dict) -> None:
    """Abort with the envelope naming each field (errors.py reads them from `messages`)."""
    smorest_abort(status, message=message, messages={"body": {k: [v] for k, v in fields.items()}})


def _api_fields(fields: dict) -> dict:
    """The service names fields as the form does (revisits-0-comment); the API as revisits.0.comment."""
    return {re.sub(r"^(new_problems|revisits|risks)-(\d+)-", r"\1.\2.", k): v
            for k, v in fields.items()}


@bp.route("/visits")
class Visits(MethodView):
    @bp.arguments(VisitListArgsSchema, location="query")
    @bp.response(200, VisitPageSchema)
    @bp.doc(summary="The visits this user may see, newest first")
    def get(self, args):
        # select_from keeps the table in paginate's count even when the visibility condition
        # names none of its columns (admin, viewer: `true`).
        query = visible(Visit, actor()).select_from(Visit)
        if args.get("project_id") is not None:
            query = query.where(Visit.project_id == args["project_id"])
        if args.get("supervisor_id") is not None:
            query = query.where(Visit.supervisor_id == args["supervisor_id"])
        query = service.with_details(query).order_by(Visit.visited_on.desc(), Visit.id.desc())
        return paginate(query, args["page"], args["per_page"])

    @bp.arguments(VisitCreateSchema)
    @bp.response(201, VisitSchema)
    @bp.doc(summary="Log a visit with its new problems and revisit outcomes, all or nothing")
    def post(self, body):
        require_role(Role.admin, Role.supervisor)
        project = get_visible(Project, body["project_id"], actor())
        if project is None:
            message = _("没有这个项目或您无权查看")
            fail(404, message, {"project_id": message})
        try:
            visit = service.log_visit(
                actor(), project, visited_on=body["visited_on"], kind=body["kind"],
                people_met=body["people_met"], summary=body["summary"],
                lat=body.get("lat"), lon=body.get("lon"),
                quiet_day_exemption=body.get("quiet_day_exemption"),
                new_problems=[NewProblem(p["title"], p["description"], p.get("handling_class"))
                              for p in body["new_problems"]],
                revisits=[RevisitOutcome(r["problem_id"], r["outcome"], r.get("satisfaction", ""),
                                         r["comment"]) for r in body["revisits"]],
                risk_changes=body["risk_changes"],
                far_from_site_m=current_app.config.get("FAR_FROM_SITE_M",
                                                       service.FAR_FROM_SITE_M))
        except VisitInvalid as error:
            db.session.rollback()
            fail(400, error.message, _api_fields(error.fields))
        db.session.commit()
        return visit


@bp.route("/visits/<int:visit_id>")
@bp.response(200, VisitSchema)
@bp.doc(summary="One visit with its problems and attachments")
def get_visit(visit_id: int):
    return get_visible_or_404(Visit, visit_id, actor())


@bp.route("/visits/<int:visit_id>/attachments", methods=["POST"])
@bp.arguments(FilesSchema, location="files")
@bp.response(201, AttachmentSchema(many=True))
@bp.alt_response(413, description="a file is larger than UPLOAD_MAX_BYTES (default 10 MB)")
@bp.alt_response(415, description="a file is not a photo (JPEG, PNG, WebP) or PDF by content")
@bp.doc(summary="Attach photos or PDF documents to a visit (multipart field `file`, repeatable)")
def add_visit_attachments(files, visit_id: int):
    visit = get_visible_or_404(Visit, visit_id, actor())
    require_role(Role.admin, Role.supervisor)
    limit = settings.upload_max_bytes()
    prepared = []
    for storage in request.files.getlist("file"):
        try:
            upload = uploads.prepare_storage(storage, limit)
        except uploads.UploadRejected as rejected:
            fail(rejected.status, rejected.describe(), {"file": rejected.describe()})
        if upload is not None:
            prepared.append(upload)
    if not prepared:
        fail(400, _("请选择文件"), {"file": _("请选择文件")})
    attachments = service.add_files(actor(), visit, prepared)
    written = uploads.write(current_app.config["UPLOAD_DIR"], prepared)
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        uploads.discard(written)
        raise
    return attachments


@bp.route("/attachments/<int:attachment_id>")
@bp.response(200, {"format": "binary", "type": "string"},
             content_type="application/octet-stream")
@bp.doc(summary="The stored file of an attachment (images without metadata)")
def attachment_file(attachment_id: int):
    from ..visits.routes import serve_attachment

    return serve_attachment(get_visible_or_404(Attachment, attachment_id, actor()))
