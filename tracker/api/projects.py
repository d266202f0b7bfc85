"""API: key projects — the registry, the supervisor (with its history) and the stage moves.

The same services and visibility as the pages: admin creates and edits, assigns the supervisor and
may correct stages; the project's supervisor moves it on; a department user sees only the name and
code of projects with problems handed to it.
"""
from datetime import date

import marshmallow as ma
from flask import abort
from flask_babel import lazy_gettext as _l

from ..calendar import local_today
from ..extensions import db
from ..models import Level, Project, Role, Stage, User
from ..services import projects as service
from ..visibility import get_visible_or_404, visible
from ..workflow import InvalidFields
from . import bp
from .common import PageArgsSchema, actor, page_schema, paginate, require_role

LEVELS = [lv.value for lv in Level]
STAGES = [s.value for s in Stage]


class ProjectSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    level = ma.fields.String(metadata={"enum": LEVELS})
    category = ma.fields.String()
    investment_wan = ma.fields.Decimal(as_string=True, places=2, metadata={
        "type": "string", "format": "decimal", "description": "总投资, 万元, a decimal string"})
    responsible_unit = ma.fields.String()
    owner = ma.fields.String()
    location = ma.fields.String()
    stage = ma.fields.String(metadata={"enum": STAGES})
    supervisor_id = ma.fields.Integer(allow_none=True)
    version = ma.fields.Integer()


class ProjectNameSchema(ma.Schema):
    """What a department user may see of a project."""

    id = ma.fields.Integer(required=True)
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)


def _dump(project: Project) -> dict:
    if actor().role is Role.department:
        return ProjectNameSchema().dump(project)
    return ProjectSchema().dump(project)


class ProjectListArgsSchema(PageArgsSchema):
    stage = ma.fields.String(validate=ma.validate.OneOf(STAGES))
    level = ma.fields.String(validate=ma.validate.OneOf(LEVELS))
    category = ma.fields.String(validate=ma.validate.Length(max=50))
    supervisor_id = ma.fields.Integer(validate=ma.validate.Range(min=1, max=2**31 - 1))
    q = ma.fields.String(validate=ma.validate.Length(max=100),
                         metadata={"description": "part of the name or code (Chinese works)"})
    overdue = ma.fields.Boolean(metadata={"description": "only projects with overdue problems"})
    sort = ma.fields.String(load_default="code", validate=ma.validate.OneOf(list(service.SORTS)))
    order = ma.fields.String(load_default="asc", validate=ma.validate.OneOf(["asc", "desc"]))


_Text = ma.fields.String
_decimal_meta = {"anyOf": [{"type": "string"}, {"type": "number", "minimum": 0}],
                 "description": "万元; a decimal string or number, not negative"}


class ProjectCreateSchema(ma.Schema):
    code = _Text(required=True, validate=ma.validate.Length(min=1, max=32))
    name = _Text(required=True, validate=ma.validate.Length(min=1, max=200))
    level = _Text(required=True, validate=ma.validate.OneOf(LEVELS))
    category = _Text(required=True, validate=ma.validate.Length(min=1, max=50))
    investment_wan = ma.fields.Raw(required=True, metadata=_decimal_meta)
    responsible_unit = _Text(validate=ma.validate.Length(max=100))
    owner = _Text(validate=ma.validate.Length(max=200))
    location = _Text(validate=ma.validate.Length(max=200))
    stage = _Text(load_default=Stage.signing.value, validate=ma.validate.OneOf(STAGES))
    supervisor_id = ma.fields.Integer(allow_none=True)


class ProjectPatchSchema(ma.Schema):
    code = _Text(validate=ma.validate.Length(min=1, max=32))
    name = _Text(validate=ma.validate.Length(min=1, max=200))
    level = _Text(validate=ma.validate.OneOf(LEVELS))
    category = _Text(validate=ma.validate.Length(min=1, max=50))
    investment_wan = ma.fields.Raw(metadata=_decimal_meta)
    responsible_unit = _Text(validate=ma.validate.Length(max=100))
    owner = _Text(validate=ma.validate.Length(max=200))
    location = _Text(validate=ma.validate.Length(max=200))
    version = ma.fields.Integer(metadata={"description": "the version edited; older → 409"})


class AssignmentSchema(ma.Schema):
    user_id = ma.fields.Integer(required=True)
    username = ma.fields.String(attribute="user.username")
    name = ma.fields.String(attribute="user.name")
    started_at = ma.fields.AwareDateTime(required=True)
    ended_at = ma.fields.AwareDateTime(allow_none=True)
    assigned_by_id = ma.fields.Integer(allow_none=True)
    note = ma.fields.String()


class SupervisorSchema(ma.Schema):
    project_id = ma.fields.Integer(required=True)
    supervisor_id = ma.fields.Integer(allow_none=True, required=True)
    history = ma.fields.List(ma.fields.Nested(AssignmentSchema), required=True,
                             metadata={"description": "who held the project when, newest first"})


class AssignSchema(ma.Schema):
    user_id = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=2**31 - 1))
    note = ma.fields.String(load_default="", validate=ma.validate.Length(max=500))


class StageChangeSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    project_id = ma.fields.Integer(required=True)
    from_stage = ma.fields.String(allow_none=True, metadata={"enum": STAGES})
    to_stage = ma.fields.String(required=True, metadata={"enum": STAGES})
    changed_on = ma.fields.Date(required=True)
    note = ma.fields.String()
    reason = ma.fields.String(allow_none=True)
    actor_id = ma.fields.Integer(allow_none=True)
    at = ma.fields.AwareDateTime(required=True)


class StageHistorySchema(ma.Schema):
    project_id = ma.fields.Integer(required=True)
    stage = ma.fields.String(required=True, metadata={"enum": STAGES})
    version = ma.fields.Integer(required=True)
    history = ma.fields.List(ma.fields.Nested(StageChangeSchema), required=True,
                             metadata={"description": "the timeline, oldest first"})


class StageMoveSchema(ma.Schema):
    stage = ma.fields.String(required=True, validate=ma.validate.OneOf(STAGES))
    changed_on = ma.fields.Date(metadata={"description": "default: today (Asia/Shanghai)"})
    note = ma.fields.String(load_default="", validate=ma.validate.Length(max=2000))
    reason = ma.fields.String(load_default="", validate=ma.validate.Length(max=2000), metadata={
        "description": "required (admin) when problems of the current stage are still open, "
                       "and for a move back (a correction)"})
    version = ma.fields.Integer(
        metadata={"description": "the project version acted on; older → 409"})


class StageMovedSchema(StageChangeSchema):
    project_version = ma.fields.Integer(required=True)


ProjectPageSchema = page_schema(ProjectSchema, "ProjectPage")


def _project(project_id: int) -> Project:
    return get_visible_or_404(Project, project_id, actor())


def _not_for_departments() -> None:
    if actor().role is Role.department:
        abort(404)


@bp.route("/projects", methods=["GET"])
@bp.arguments(ProjectListArgsSchema, location="query")
@bp.response(200, ProjectPageSchema)
@bp.doc(summary="Key projects this user may see",
        description="Department users get only `id`, `code` and `name` of projects with problems "
                    "handed to their department.")
def list_projects(args):
    filters = service.ListFilters(
        q=(args.get("q") or "").strip(),
        stage=Stage(args["stage"]) if args.get("stage") else None,
        level=Level(args["level"]) if args.get("level") else None,
        category=(args.get("category") or "").strip(),
        supervisor_id=args.get("supervisor_id"),
        overdue=bool(args.get("overdue")),
        sort=args["sort"], descending=args["order"] == "desc")
    body = paginate(service.list_query(visible(Project, actor()), filters),
                    args["page"], args["per_page"])
    body["items"] = [_dump(p) for p in body["items"]]
    return body


@bp.route("/projects", methods=["POST"])
@bp.arguments(ProjectCreateSchema)
@bp.response(201, ProjectSchema)
@bp.doc(summary="Register a key project (admin)",
        description="409 when the code exists. The project starts its timeline in `stage` and "
                    "gets that stage's supervision list.")
def create_project(body):
    require_role(Role.admin)
    supervisor = _supervisor(body.pop("supervisor_id", None))
    stage = body.pop("stage")
    code = (body.get("code") or "").strip()
    if code and service.code_taken(service.normalise_text(code).replace(" ", "")):
        abort(409, description=_l("项目编号已存在"))
    project = service.create_project(actor(), body, stage=stage, supervisor=supervisor)
    db.session.commit()
    return project


def _supervisor(user_id: int | None) -> User | None:
    if user_id is None:
        return None
    user = db.session.get(User, user_id) if 0 < user_id < 2**31 else None
    if reason := service.supervisor_problem(user):
        raise InvalidFields(reason, {"supervisor_id": reason})
    return user


@bp.route("/projects/<int:project_id>", methods=["GET"])
@bp.response(200, ProjectSchema)
@bp.doc(summary="One key project")
def get_project(project_id):
    return _dump(_project(project_id))


@bp.route("/projects/<int:project_id>", methods=["PATCH"])
@bp.arguments(ProjectPatchSchema)
@bp.response(200, ProjectSchema)
@bp.doc(summary="Change a project's registry fields (admin)",
        description="The stage moves through POST …/stage and the supervisor through PUT "
                    "…/supervisor. An older `version` answers 409 and changes nothing.")
def patch_project(body, project_id):
    project = _project(project_id)
    require_role(Role.admin)
    version = body.pop("version", None)
    if "code" in body and service.code_taken(service.normalise_text(body["code"]).replace(" ", ""),
                                             except_id=project.id):
        abort(409, description=_l("项目编号已存在"))
    service.update_project(actor(), project, body, version=version)
    db.session.commit()
    return project


def _supervisor_body(project: Project) -> dict:
    db.session.expire(project, ["current_assignment"])
    return {"project_id": project.id, "supervisor_id": project.supervisor_id,
            "history": service.assignment_history(project)}


@bp.route("/projects/<int:project_id>/supervisor", methods=["GET"])
@bp.response(200, SupervisorSchema)
@bp.doc(summary="The project's supervisor and its assignment history")
def get_supervisor(project_id):
    project = _project(project_id)
    _not_for_departments()
    return _supervisor_body(project)


@bp.route("/projects/<int:project_id>/supervisor", methods=["PUT"])
@bp.arguments(AssignSchema)
@bp.response(200, SupervisorSchema)
@bp.doc(summary="Assign or reassign the project's supervisor (admin)",
        description="The active assignment ends and the new one opens; the history keeps both. "
                    "Assigning the current supervisor again changes nothing.")
def put_supervisor(body, project_id):
    project = _project(project_id)
    require_role(Role.admin)
    user = db.session.get(User, body["user_id"])
    service.assign_supervisor(actor(), project, user, note=body["note"])
    db.session.commit()
    return _supervisor_body(project)


@bp.route("/projects/<int:project_id>/stage", methods=["GET"])
@bp.response(200, StageHistorySchema)
@bp.doc(summary="The project's stage and its timeline")
def get_stage(project_id):
    project = _project(project_id)
    _not_for_departments()
    return {"project_id": project.id, "stage": project.stage.value, "version": project.version,
            "history": service.stage_history(project)}


@bp.route("/projects/<int:project_id>/stage", methods=["POST"])
@bp.arguments(StageMoveSchema)
@bp.response(201, StageMovedSchema)
@bp.doc(summary="Move the project to another stage",
        description="The project's supervisor moves it to the next stage; admin may also skip, "
                    "move on while problems of the current stage are open (with `reason`) and "
                    "move back as a correction (with `reason`). The project gets the supervision "
                    "list of the new stage. 403 for a user who may not, 400 naming the field.")
def post_stage(body, project_id):
    project = _project(project_id)
    _not_for_departments()
    if actor().role is Role.viewer:
        abort(403, description=_l("县领导只能查看"))
    changed_on: date = body.get("changed_on") or local_today()
    change = service.move_stage(actor(), project, body["stage"], changed_on=changed_on,
                                note=body["note"], reason=body["reason"] or None,
                                version=body.get("version"))
    db.session.commit()
    change.project_version = project.version
    return change
