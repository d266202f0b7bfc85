"""Accountability (问责): at escalation level 3 a problem becomes a clue handed to case handling;
admin records the person or unit concerned and, when known, the decision and its date."""
from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..calendar import local_today
from ..extensions import db
from ..models import AccountabilityRecord, Outcome, Problem, Role, User
from ..workflow import IllegalMove, InvalidFields, NotAllowed, fields_message
from .audit import audit

ACCOUNTABILITY_LEVEL = 3


def records_for(problem: Problem) -> list[AccountabilityRecord]:
    return db.session.scalars(sa.select(AccountabilityRecord)
                              .where(AccountabilityRecord.problem_id == problem.id)
                              .order_by(AccountabilityRecord.id)).all()


def _check(actor: User, problem: Problem) -> None:
    if actor.role is not Role.admin:
        raise NotAllowed(_l("只有县纪委监委（管理员）可以记录问责情况"))
    if problem.escalation < ACCOUNTABILITY_LEVEL:
        raise IllegalMove(_l("问题升级为“问责”后才能记录问责情况"))


def _decision(outcome, decided_on, errors: dict) -> tuple[Outcome | None, date | None]:
    """Outcome and date go together: both given, or neither (the decision is still pending)."""
    parsed_outcome = parsed_on = None
    if outcome not in (None, ""):
        try:
            parsed_outcome = Outcome(outcome)
        except ValueError:
            errors["outcome"] = _("处理结果取值无效")
    if decided_on not in (None, ""):
        if isinstance(decided_on, date):
            parsed_on = decided_on
        else:
            try:
                parsed_on = date.fromisoformat(str(decided_on))
            except ValueError:
                errors["decided_on"] = _("日期格式应为 YYYY-MM-DD")
    if parsed_on and parsed_on > local_today():
        errors["decided_on"] = _("决定日期不能晚于今天")
    if parsed_outcome and not parsed_on and "decided_on" not in errors:
        errors["decided_on"] = _("请填写决定日期")
    if parsed_on and not parsed_outcome and "outcome" not in errors:
        errors["outcome"] = _("请选择处理结果")
    return parsed_outcome, parsed_on


def _raise(errors: dict) -> None:
    if errors:
        raise InvalidFields(fields_message(errors), errors)


def record_accountability(actor: User, problem: Problem, *, subject: str, outcome=None,
                          decided_on=None, note: str = "") -> AccountabilityRecord:
    """Add an accountability record to a level-3 problem (flush, audited)."""
    _check(actor, problem)
    errors: dict = {}
    subject = (subject or "").strip()
    if not subject:
        errors["subject"] = _("请填写问责对象（人员或单位）")
    elif len(subject) > 200:
        errors["subject"] = _("不能超过 %(n)s 字", n=200)
    parsed_outcome, parsed_on = _decision(outcome, decided_on, errors)
    if len(note or "") > 5000:
        errors["note"] = _("不能超过 %(n)s 字", n=5000)
    _raise(errors)
    record = AccountabilityRecord(problem_id=problem.id, subject=subject, outcome=parsed_outcome,
                                  decided_on=parsed_on, note=(note or "").strip(),
                                  created_by_id=actor.id)
    db.session.add(record)
    db.session.flush()
    audit(actor, "accountability.record", "problem", problem.id,
          {"record_id": record.id, "subject": subject,
           "outcome": parsed_outcome.value if parsed_outcome else None,
           "decided_on": parsed_on.isoformat() if parsed_on else None})
    db.session.flush()
    return record


def decide_accountability(actor: User, record: AccountabilityRecord, problem: Problem, *,
                          outcome, decided_on, note: str = "") -> AccountabilityRecord:
    """Record the decision of a pending record (flush, audited); a decided one stays as it is."""
    _check(actor, problem)
    if record.problem_id != problem.id:
        raise InvalidFields(_("问责记录不属于该问题"), {"record_id": _("不属于该问题")})
    if record.outcome is not None:
        raise IllegalMove(_l("该问责记录已有处理结果"))
    errors: dict = {}
    parsed_outcome, parsed_on = _decision(outcome, decided_on, errors)
    if not parsed_outcome and "outcome" not in errors:
        errors["outcome"] = _("请选择处理结果")
    if not parsed_on and "decided_on" not in errors:
        errors["decided_on"] = _("请填写决定日期")
    _raise(errors)
    record.outcome, record.decided_on = parsed_outcome, parsed_on
    if note and note.strip():
        record.note = ((record.note + "\n") if record.note else "") + note.strip()
    audit(actor, "accountability.decide", "problem", problem.id,
          {"record_id": record.id, "outcome": parsed_outcome.value,
           "decided_on": parsed_on.isoformat()})
    db.session.flush()
    return record
