"""Headquarters' figures on the API: closure figures by group, and the weekly pack as a zip."""
from io import BytesIO

import marshmallow as ma
from flask import send_file
from flask_babel import gettext as _

from ..calendar import local_today
from ..reports import metrics, stored
from ..workflow import InvalidFields
from . import bp
from .common import actor


class ClosureArgsSchema(ma.Schema):
    group_by = ma.fields.String(required=True, validate=ma.validate.OneOf(metrics.GROUPS),
                                metadata={"description": "project | stage | department | "
                                                         "supervisor | week"})
    as_of = ma.fields.Date(load_default=None, metadata={
        "description": "figures as of the end of this day in Asia/Shanghai (default: today)"})


class ClosureRowSchema(ma.Schema):
    key = ma.fields.Raw(allow_none=True, metadata={
        "description": "project/department/supervisor id, stage code or ISO week "
                       "(null: not handed over / no supervisor)"})
    label = ma.fields.String(required=True)
    total = ma.fields.Integer(required=True)
    closed = ma.fields.Integer(required=True)
    withdrawn = ma.fields.Integer(required=True)
    open = ma.fields.Integer(required=True)
    overdue = ma.fields.Integer(required=True)
    closure_rate = ma.fields.Float(allow_none=True, required=True)
    on_time_rate = ma.fields.Float(allow_none=True, required=True)


class ClosureSchema(ma.Schema):
    as_of = ma.fields.Date(required=True)
    group_by = ma.fields.String(required=True)
    items = ma.fields.List(ma.fields.Nested(ClosureRowSchema), required=True)


class WeeklyArgsSchema(ma.Schema):
    week = ma.fields.String(load_default=None, metadata={
        "description": "ISO week such as 2026-W47 (default: the last full week)"})


@bp.route("/metrics/closure", methods=["GET"])
@bp.arguments(ClosureArgsSchema, location="query")
@bp.response(200, ClosureSchema)
@bp.doc(summary="Closure figures by group as of a day (what this user may see)")
def closure_metrics(args):
    day = args["as_of"] or local_today()
    return {"as_of": day, "group_by": args["group_by"],
            "items": metrics.closure(actor(), args["group_by"], day)}


@bp.route("/reports/weekly", methods=["GET"])
@bp.arguments(WeeklyArgsSchema, location="query")
@bp.doc(summary="The weekly pack (PNG charts, PDF report, Excel ledger) as a zip",
        responses={"200": {"description": "a zip archive",
                           "content": {"application/zip": {
                               "schema": {"type": "string", "format": "binary"}}}}})
def weekly_report(args):
    monday = week_monday(args["week"])
    week, data = stored.weekly_zip(actor(), monday)
    return send_file(BytesIO(data), mimetype="application/zip", as_attachment=True,
                     download_name=f"weekly-{week}.zip")


def week_monday(text: str | None):
    """The Monday of the requested ISO week, the last full week by default; 400 when bad."""
    if not text:
        return metrics.last_full_week()
    try:
        monday = metrics.parse_iso_week(text)
    except ValueError:
        raise InvalidFields(_("周次格式应为 2026-W47"), {"week": _("格式应为 2026-W47")}) from None
    if monday > local_today():
        raise InvalidFields(_("该周尚未开始"), {"week": _("该周尚未开始")})
    return monday
