"""API: departments (责任单位). Everyone signed in may list them (the field app needs them to
hand problems over); admin creates them."""
import marshmallow as ma
import sqlalchemy as sa
from flask import abort
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import Department, Role
from ..services import departments as service
from . import bp
from .common import PageArgsSchema, actor, page_schema, paginate, require_role


class DepartmentSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    active = ma.fields.Boolean(
        metadata={"description": "false: retired or merged; takes no new problems"})
    merged_into_id = ma.fields.Integer(allow_none=True)


class DepartmentListArgsSchema(PageArgsSchema):
    active = ma.fields.Boolean(metadata={"description": "only active (true) or retired (false)"})
    q = ma.fields.String(validate=ma.validate.Length(max=100))


class DepartmentCreateSchema(ma.Schema):
    code = ma.fields.String(required=True, validate=[ma.validate.Length(min=1, max=32),
                                                     ma.validate.Regexp(r"^[A-Za-z0-9_\-]+$")],
                            metadata={"description": "letters, digits, _ or -; unique"})
    name = ma.fields.String(required=True, validate=[ma.validate.Length(min=1, max=100),
                                                     ma.validate.Regexp(r"^\S(.*\S)?$")],
                            metadata={"description": "unique among active departments"})


DepartmentPageSchema = page_schema(DepartmentSchema, "DepartmentPage")


@bp.route("/departments", methods=["GET"])
@bp.arguments(DepartmentListArgsSchema, location="query")
@bp.response(200, DepartmentPageSchema)
@bp.doc(summary="Departments")
def list_departments(args):
    query = sa.select(Department)
    if "active" in args:
        query = query.where(Department.active.is_(args["active"]))
    if q := (args.get("q") or "").strip():
        like = f"%{q}%"
        query = query.where(sa.or_(Department.code.ilike(like), Department.name.ilike(like)))
    return paginate(query.order_by(Department.code), args["page"], args["per_page"])


@bp.route("/departments", methods=["POST"])
@bp.arguments(DepartmentCreateSchema)
@bp.response(201, DepartmentSchema)
@bp.doc(summary="Create a department (admin)", description="409 when the code exists.")
def create_department(body):
    require_role(Role.admin)
    code = body["code"].strip()
    if db.session.scalar(sa.select(Department.id).where(Department.code == code)):
        abort(409, description=_l("单位代码已存在"))
    if db.session.scalar(sa.select(Department.id).where(Department.name == body["name"].strip(),
                                                        Department.active.is_(True))):
        abort(409, description=_l("已有同名的在用单位"))
    dept = service.create(actor(), code=code, name=body["name"])
    db.session.commit()
    return dept
