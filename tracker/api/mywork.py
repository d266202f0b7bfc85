"""API: what waits on the signed-in user now (GET /api/v1/my-work)."""
import marshmallow as ma

from ..services.mywork import KINDS, my_work
from . import bp
from .common import actor


class WorkItemSchema(ma.Schema):
    kind = ma.fields.String(required=True, metadata={"enum": list(KINDS)})
    problem_id = ma.fields.Integer()
    project_id = ma.fields.Integer()
    title = ma.fields.String(required=True)
    due_on = ma.fields.Date(allow_none=True, required=True)
    overdue_days = ma.fields.Integer(required=True,
                                     metadata={"description": "working days past due_on"})


class MyWorkSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(WorkItemSchema), required=True)


@bp.route("/my-work", methods=["GET"])
@bp.response(200, MyWorkSchema)
@bp.doc(summary="What waits on the signed-in user now, most urgent first",
        description="A department: problems to accept or report, due within one working day, "
                    "overdue, and leader instructions; a supervisor: problems to revisit or "
                    "assign, unchecked checklist items of current stages (project_id), projects "
                    "with no visit in `stale_visit_days` days (project_id), leader "
                    "instructions; admin: overdue and escalated problems, extension requests, "
                    "projects without a supervisor (project_id). A viewer has no items (the "
                    "page shows the week's figures). Each item carries either problem_id or "
                    "project_id; overdue_days counts working days.")
def my_work_items():
    items = []
    for item in my_work(actor()).items:
        body = {"kind": item.kind, "title": item.title, "due_on": item.due_on,
                "overdue_days": item.overdue_days}
        if item.problem_id is not None:
            body["problem_id"] = item.problem_id
        else:
            body["project_id"] = item.project_id
        items.append(body)
    return {"items": items}
