"""Error handlers: the JSON envelope under /api, friendly pages elsewhere; rollback on failure."""
from flask import Flask, jsonify, render_template, request
from flask_babel import gettext
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, InternalServerError

from .extensions import db
from .models.base import N_
from .workflow import (IllegalMove, InvalidFields, NotAllowed, StaleVersion, WorkflowError,
                       in_source_language)

CODES = {400: "invalid", 401: "unauthorized", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_type",
         422: "invalid", 429: "too_many_requests", 500: "server_error"}
MESSAGES = {405: N_("不支持这种请求方式"), 413: N_("上传的内容太大"), 429: N_("尝试次数过多，请稍后再试"),
            400: N_("请求有误，请检查后重试")}
WORKFLOW_STATUS = {InvalidFields: 400, NotAllowed: 403, IllegalMove: 409, StaleVersion: 409}


def wants_json() -> bool:
    return request.path.startswith("/api/")


def envelope(status: int, message, fields: dict | None = None, code: str | None = None):
    body = {"error": {"code": code or CODES.get(status, "error"), "message": str(message),
                      "fields": {name: str(text) for name, text in (fields or {}).items()}}}
    return jsonify(body), status


def _validation_fields(error: HTTPException) -> dict:
    """webargs puts messages under {location: {field: [messages]}}; name each field."""
    data = getattr(error, "data", None) or {}
    fields = {str(k): "; ".join(_flatten(v)) for k, v in (data.get("errors") or {}).items()}
    messages = data.get("messages") or {}
    for location, per_field in messages.items():
        if isinstance(per_field, dict):
            for name, msgs in per_field.items():
                fields[str(name)] = "; ".join(_flatten(msgs))
        else:
            fields[location] = "; ".join(_flatten(per_field))
    return fields


def _flatten(value) -> list[str]:
    if isinstance(value, dict):
        return [f"{k}: {m}" for k, v in value.items() for m in _flatten(v)]
    if isinstance(value, (list, tuple)):
        return [m for v in value for m in _flatten(v)]
    return [str(value)]


def audit_refusal(status: int, message) -> None:
    """Keep who was refused what (403/409), in its own small transaction. The message is kept in
    the source language whoever was refused (pass a lazy `_l(...)` or the error's
    `source_message`)."""
    from flask import g
    from flask_login import current_user

    from .services.audit import audit

    try:
        db.session.rollback()
        actor = g.get("api_user")
        if actor is None and not wants_json() and current_user.is_authenticated:
            actor = current_user._get_current_object()
        audit(actor, "refused", request.endpoint or "", None,
              {"status": status, "method": request.method, "path": request.path[:200],
               "message": in_source_language(message)[:300]}, ip=request.remote_addr or "")
        db.session.commit()
    except Exception:  # noqa: BLE001 — auditing must never turn a refusal into a 500
        db.session.rollback()


def handle_http(error: HTTPException):
    if error.code and error.code >= 500:
        db.session.rollback()
    if error.code in (403, 409):
        audit_refusal(error.code, error.description)
    if wants_json():
        status = 400 if error.code == 422 else error.code
        fields = _validation_fields(error)
        data = getattr(error, "data", None) or {}
        message = data.get("message") or (
            gettext("请求数据有误：%(fields)s", fields=gettext("、").join(fields)) if fields else
            gettext(error.description) if error.code == 429 else  # N_-marked, as on the page
            error.description)
        response, status = envelope(status, message, fields)
        for header, value in error.get_headers():
            if header.lower() != "content-type":  # e.g. Allow on 405
                response.headers[header] = value
        for header, value in (data.get("headers") or {}).items():
            response.headers[header] = value
        if status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response, status
    if error.code in (403, 404, 500):
        return _page(f"errors/{error.code}.html", error.code)
    message = error.description if error.code == 429 else MESSAGES.get(error.code)
    message = gettext(message) if message else message  # the page in the reader's language
    return _page("errors/generic.html", error.code, error=error, message=message)


def _page(template: str, status: int, **context):
    """The friendly page, or plain text when the request is too broken to render one
    (e.g. an untrusted Host header, refused before URL matching)."""
    try:
        return render_template(template, **context), status
    except Exception:  # noqa: BLE001 — the error page itself must never fail
        return (str(context.get("message") or gettext("请求无法处理")), status,
                {"Content-Type": "text/plain; charset=utf-8"})


def handle_workflow(error: WorkflowError):
    db.session.rollback()
    status = WORKFLOW_STATUS.get(type(error), 409)
    if status in (403, 409):
        audit_refusal(status, error.source_message)
    if wants_json():
        return envelope(status, error.message, error.fields, code=error.code)
    return render_template("errors/generic.html", error=error, message=error.message), status


def handle_stale(error: Exception):
    db.session.rollback()
    audit_refusal(409, "stale")
    message = gettext("数据已被他人更新，请刷新后再试")
    if wants_json():
        return envelope(409, message, code="stale_version")
    return render_template("errors/generic.html", message=message), 409


def handle_integrity(error: IntegrityError):
    db.session.rollback()
    message = gettext("与已有数据冲突（如编号重复）")
    if wants_json():
        return envelope(409, message, code="conflict")
    return render_template("errors/generic.html", message=message), 409


def handle_out_of_range(error: Exception):
    """A number too large for the database (e.g. ?project_id=99999999999999999999)."""
    db.session.rollback()
    message = gettext("数值超出范围")
    if wants_json():
        return envelope(400, message)
    return _page("errors/generic.html", 400, message=message)


def handle_unexpected(error: Exception):
    db.session.rollback()
    if isinstance(error, HTTPException):
        return handle_http(error)
    from flask import current_app

    current_app.logger.exception("unhandled error")
    if wants_json():
        return envelope(500, gettext("服务器内部错误"))
    return render_template("errors/500.html"), 500


def register(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(WorkflowError, handle_workflow)
    app.register_error_handler(StaleDataError, handle_stale)
    app.register_error_handler(IntegrityError, handle_integrity)
    app.register_error_handler(OverflowError, handle_out_of_range)  # SQLite
    app.register_error_handler(DataError, handle_out_of_range)  # PostgreSQL
    app.register_error_handler(InternalServerError, handle_http)
    if not app.testing:
        app.register_error_handler(Exception, handle_unexpected)
