"""API: the problem list — list, record, read with its event log, and every workflow action."""
import marshmallow as ma
from flask.views import MethodView
from flask_babel import gettext as _

from ..extensions import db
from ..models import (HANDLING_CLASSES, Action, Problem, ProblemStatus, Project, Satisfaction,
                      Source, Stage)
from ..services import problems as service
from ..visibility import get_visible, get_visible_or_404
from ..workflow import USER_ACTIONS, InvalidFields, available_actions
from . import bp
from .common import PageArgsSchema, actor, page_schema, paginate


ID = ma.validate.Range(min=1, max=2**63 - 1)  # what the database's integer ids can hold


def _choices(enum_cls):
    return ma.validate.OneOf([m.value for m in enum_cls])


class ProblemSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    project_id = ma.fields.Integer(required=True)
    stage = ma.fields.String(required=True, metadata={"enum": [s.value for s in Stage]})
    title = ma.fields.String(required=True)
    description = ma.fields.String()
    source = ma.fields.String(required=True, metadata={"enum": [s.value for s in Source]})
    handling_class = ma.fields.Integer(allow_none=True, metadata={"enum": list(HANDLING_CLASSES)})
    status = ma.fields.String(required=True, metadata={"enum": [s.value for s in ProblemStatus]})
    department_id = ma.fields.Integer(allow_none=True)
    co_department_ids = ma.fields.List(ma.fields.Integer(), required=True)
    due_on = ma.fields.Date(allow_none=True)
    original_due_on = ma.fields.Date(allow_none=True,
                                     metadata={"description": "the due date first set (on-time rate)"})
    extension_requested_on = ma.fields.Date(allow_none=True)
    escalation = ma.fields.Integer(required=True)
    satisfaction = ma.fields.String(allow_none=True)
    plan = ma.fields.String(allow_none=True)
    checklist_item_id = ma.fields.Integer(allow_none=True)
    created_at = ma.fields.AwareDateTime(required=True)
    closed_at = ma.fields.AwareDateTime(allow_none=True)
    version = ma.fields.Integer(required=True)


class EventSchema(ma.Schema):
    action = ma.fields.String(required=True)
    from_ = ma.fields.String(data_key="from", attribute="from_status", allow_none=True)
    to = ma.fields.String(attribute="to_status", required=True)
    actor_id = ma.fields.Integer(allow_none=True)
    at = ma.fields.AwareDateTime(required=True)
    comment = ma.fields.String()
    data = ma.fields.Dict(metadata={"description": "the action's fields (department, due dates, rating…)"})


class ProblemDetailSchema(ProblemSchema):
    events = ma.fields.List(ma.fields.Nested(EventSchema), required=True)
    available_actions = ma.fields.Method(
        "_actions", metadata={"type": "array", "items": {"type": "string"},
                              "description": "the actions this user may take now"})

    def _actions(self, problem) -> list[str]:
        return [a.value for a in available_actions(problem, actor())]


class ProblemListArgsSchema(PageArgsSchema):
    project_id = ma.fields.Integer(validate=ID)
    status = ma.fields.String(validate=_choices(ProblemStatus))
    department_id = ma.fields.Integer(validate=ID)
    overdue = ma.fields.Boolean()
    stage = ma.fields.String(validate=_choices(Stage))
    handling_class = ma.fields.Integer(validate=ma.validate.OneOf(HANDLING_CLASSES))
    escalated = ma.fields.Boolean()
    source = ma.fields.String(validate=_choices(Source))


class ProblemCreateSchema(ma.Schema):
    project_id = ma.fields.Integer(required=True, validate=ID)
    title = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    description = ma.fields.String(load_default="", validate=ma.validate.Length(max=5000))
    source = ma.fields.String(load_default=Source.other.value, validate=_choices(Source))
    stage = ma.fields.String(validate=_choices(Stage),
                             metadata={"description": "default: the project's current stage"})
    handling_class = ma.fields.Integer(allow_none=True, validate=ma.validate.OneOf(HANDLING_CLASSES))
    checklist_item_id = ma.fields.Integer(allow_none=True, validate=ID)


class TransitionSchema(ma.Schema):
    action = ma.fields.String(required=True, validate=ma.validate.OneOf(
        [a.value for a in USER_ACTIONS] + [Action.transfer.value]))
    comment = ma.fields.String(validate=ma.validate.Length(max=5000),
                               metadata={"description": "feedback, reason or instruction text"})
    version = ma.fields.Integer(metadata={"description": "the version acted on; older → 409"})
    department_id = ma.fields.Integer(validate=ID, metadata={"description": "assign, transfer"})
    handling_class = ma.fields.Integer(validate=ma.validate.OneOf(HANDLING_CLASSES),
                                       metadata={"description": "assign"})
    co_department_ids = ma.fields.List(ma.fields.Integer(validate=ID),
                                       metadata={"description": "assign"})
    plan = ma.fields.String(validate=ma.validate.Length(max=5000),
                            metadata={"description": "accept, class 10"})
    planned_on = ma.fields.Date(metadata={"description": "accept, class 10"})
    satisfaction = ma.fields.String(validate=_choices(Satisfaction),
                                    metadata={"description": "close (and optionally reopen)"})
    requested_due_on = ma.fields.Date(metadata={"description": "request_extension"})
    approve = ma.fields.Boolean(metadata={"description": "decide_extension"})
    level = ma.fields.Integer(validate=ma.validate.Range(min=1, max=3),
                              metadata={"description": "escalate"})
    due_on = ma.fields.Date(metadata={"description": "set_due"})


ProblemPageSchema = page_schema(ProblemSchema, "ProblemPage")


@bp.route("/problems")
class Problems(MethodView):
    @bp.arguments(ProblemListArgsSchema, location="query")
    @bp.response(200, ProblemPageSchema)
    @bp.doc(summary="The problems this user may see, filtered and paginated")
    def get(self, args):
        page, per_page = args.pop("page"), args.pop("per_page")
        filters = service.ProblemFilter(
            project_id=args.get("project_id"), department_id=args.get("department_id"),
            status=ProblemStatus(args["status"]) if args.get("status") else None,
            stage=Stage(args["stage"]) if args.get("stage") else None,
            source=Source(args["source"]) if args.get("source") else None,
            handling_class=args.get("handling_class"), overdue=bool(args.get("overdue")),
            escalated=bool(args.get("escalated")))
        query = service.problem_query(actor(), filters, with_names=False)
        return paginate(query, page, per_page, load=service.problem_records)

    @bp.arguments(ProblemCreateSchema)
    @bp.response(201, ProblemDetailSchema)
    @bp.doc(summary="Record a problem on a project (待交办)")
    def post(self, body):
        project = get_visible(Project, body.pop("project_id"), actor())
        if project is None:
            raise InvalidFields(_("没有这个项目"), {"project_id": _("没有这个项目")})
        problem = service.record_problem(actor(), project, **body)
        db.session.commit()
        return problem


@bp.route("/problems/<int:problem_id>")
class ProblemDetail(MethodView):
    @bp.response(200, ProblemDetailSchema)
    @bp.doc(summary="One problem with its whole event log")
    def get(self, problem_id):
        return get_visible_or_404(Problem, problem_id, actor())


@bp.route("/problems/<int:problem_id>/transitions", methods=["POST"])
@bp.arguments(TransitionSchema)
@bp.response(200, ProblemDetailSchema)
@bp.doc(summary="Take a workflow action (assign, accept, report, close, reopen, withdraw, …)",
        description="409 when the state does not allow the action or `version` is stale, "
                    "403 when this user may not take it, 400 naming each bad field.")
def problem_transition(body, problem_id):
    problem = get_visible_or_404(Problem, problem_id, actor())
    action = body.pop("action")
    version = body.pop("version", None)
    service.take_action(actor(), problem, action, version=version, **body)
    db.session.commit()
    db.session.refresh(problem)
    return problem
