"""The problem list: problems, their append-only event log, co-departments, accountability."""
import hashlib
import json
from datetime import date, datetime, timezone

import sqlalchemy as sa
from flask_babel import pgettext
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from . import guards
from .base import LabelledEnum, N_, NP_, UTCDateTime, enum_check, utcnow
from .project import Project, Stage
from .user import Department, User


class ProblemStatus(LabelledEnum):
    open = "open"
    assigned = "assigned"
    rectifying = "rectifying"
    rectified = "rectified"
    closed = "closed"
    withdrawn = "withdrawn"

    @classmethod
    def _labels(cls):
        return {"open": N_("待交办"), "assigned": N_("已交办"), "rectifying": N_("整改中"),
                "rectified": N_("待回访"), "closed": N_("已销号"), "withdrawn": N_("已撤销")}

    @property
    def is_final(self) -> bool:
        return self in (ProblemStatus.closed, ProblemStatus.withdrawn)

    @property
    def colour(self) -> str:
        """One colour per state, shared by badges and charts."""
        return STATUS_COLOURS[self.value]


STATUS_COLOURS = {
    "open": "#6c757d", "assigned": "#0d6efd", "rectifying": "#fd7e14",
    "rectified": "#6f42c1", "closed": "#198754", "withdrawn": "#adb5bd",
}


class Source(LabelledEnum):
    visit = "visit"
    checklist = "checklist"
    complaint = "complaint"
    department_report = "department_report"
    other = "other"

    @classmethod
    def _labels(cls):
        return {"visit": N_("走访发现"), "checklist": N_("监督清单"), "complaint": N_("企业反映"),
                "department_report": N_("部门报告"), "other": N_("其他")}


class Satisfaction(LabelledEnum):
    very_satisfied = "very_satisfied"
    satisfied = "satisfied"
    basic = "basic"
    dissatisfied = "dissatisfied"
    very_dissatisfied = "very_dissatisfied"

    @classmethod
    def _labels(cls):
        return {"very_satisfied": N_("非常满意"), "satisfied": N_("满意"), "basic": N_("基本满意"),
                "dissatisfied": N_("不满意"), "very_dissatisfied": N_("非常不满意")}

    @property
    def passes(self) -> bool:
        """不满意 or worse means the revisit failed."""
        return self not in (Satisfaction.dissatisfied, Satisfaction.very_dissatisfied)


class Action(LabelledEnum):
    record = "record"
    assign = "assign"
    accept = "accept"
    report = "report"
    close = "close"
    reopen = "reopen"
    withdraw = "withdraw"
    escalate = "escalate"
    request_extension = "request_extension"
    decide_extension = "decide_extension"
    set_due = "set_due"
    instruct = "instruct"
    comment = "comment"
    transfer = "transfer"

    @classmethod
    def _labels(cls):
        return {"record": N_("登记"), "assign": N_("交办"), "accept": N_("签收"),
                "report": N_("反馈整改"), "close": N_("销号"), "reopen": N_("重新整改"),
                "withdraw": N_("撤销"), "escalate": N_("升级督办"),
                "request_extension": N_("申请延期"), "decide_extension": N_("审批延期"),
                "set_due": N_("调整期限"), "instruct": N_("领导批示"), "comment": N_("留言"),
                "transfer": N_("部门合并转办")}


# 提醒 here is a reminder level, not the reminders page: translated with pgettext("escalation", …)
ESCALATION_LABELS = {0: NP_("escalation", "无"), 1: NP_("escalation", "提醒"),
                     2: NP_("escalation", "督办"), 3: NP_("escalation", "问责")}
HANDLING_CLASSES = (1, 5, 10)

problem_co_departments = sa.Table(
    "problem_co_departments",
    db.Model.metadata,
    sa.Column("problem_id", sa.ForeignKey("problems.id"), primary_key=True),
    sa.Column("department_id", sa.ForeignKey("departments.id"), primary_key=True, index=True),
)


class Problem(db.Model):
    __tablename__ = "problems"
    __table_args__ = (
        enum_check("status", ProblemStatus),
        enum_check("stage", Stage),
        enum_check("source", Source),
        enum_check("satisfaction", Satisfaction, nullable=True),
        sa.CheckConstraint("handling_class IS NULL OR handling_class IN (1, 5, 10)",
                           name="handling_class_valid"),
        sa.CheckConstraint("escalation BETWEEN 0 AND 3", name="escalation_valid"),
        sa.CheckConstraint("(status = 'closed') = (closed_at IS NOT NULL)",
                           name="closed_at_iff_closed"),
        sa.CheckConstraint("status <> 'closed' OR satisfaction IS NOT NULL",
                           name="closed_has_satisfaction"),
        sa.CheckConstraint("status = 'open' OR status = 'withdrawn' OR department_id IS NOT NULL",
                           name="handed_over_has_department"),
        sa.Index("ix_problems_status_due", "status", "due_on"),
        sa.Index("ix_problems_project_status", "project_id", "status"),
        sa.Index("ix_problems_department_status", "department_id", "status"),
        # The problem list filtered by status, newest first: read in index order, page by page,
        # instead of sorting every problem of that status (bench/, docs/PERFORMANCE.md).
        sa.Index("ix_problems_status_created", "status", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id"))
    stage: Mapped[Stage]
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    source: Mapped[Source] = mapped_column(default=Source.other)
    handling_class: Mapped[int | None]
    status: Mapped[ProblemStatus] = mapped_column(default=ProblemStatus.open)
    department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("departments.id"))
    due_on: Mapped[date | None]
    original_due_on: Mapped[date | None]
    escalation: Mapped[int] = mapped_column(default=0)
    satisfaction: Mapped[Satisfaction | None]
    plan: Mapped[str | None] = mapped_column(sa.Text)
    extension_requested_on: Mapped[date | None]
    checklist_item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("checklist_items.id"))
    risk_id: Mapped[int | None] = mapped_column(sa.ForeignKey("risks.id"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    project: Mapped[Project] = relationship()
    department: Mapped[Department | None] = relationship()
    co_departments: Mapped[list[Department]] = relationship(secondary=problem_co_departments)
    created_by: Mapped[User | None] = relationship()
    events: Mapped[list["ProblemEvent"]] = relationship(
        back_populates="problem", order_by="ProblemEvent.id", viewonly=True)

    __mapper_args__ = {"version_id_col": version}

    @property
    def co_department_ids(self) -> list[int]:
        return sorted(d.id for d in self.co_departments)

    @property
    def escalation_label(self) -> str:
        return pgettext("escalation", ESCALATION_LABELS[self.escalation])

    def __repr__(self) -> str:
        return f"<Problem {self.id} {self.status}>"


class ProblemEvent(db.Model):
    """One entry of a problem's append-only log; written only by tracker.workflow."""

    __tablename__ = "problem_events"
    __table_args__ = (
        enum_check("action", Action),
        enum_check("from_status", ProblemStatus, nullable=True),
        enum_check("to_status", ProblemStatus),
        sa.Index("ix_problem_events_problem_at", "problem_id", "at"),
        sa.Index("ix_problem_events_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int] = mapped_column(sa.ForeignKey("problems.id"))
    action: Mapped[Action]
    from_status: Mapped[ProblemStatus | None]
    to_status: Mapped[ProblemStatus]
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    # The action's fields (department, handling class, due dates, rating, level …).
    data: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    # Each event's SHA-256 covers its content and the previous event's hash of the same problem,
    # so an edit anywhere breaks the chain from there on (`flask verify-log`).
    prev_hash: Mapped[str | None] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))

    problem: Mapped[Problem] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()

    def content(self) -> dict:
        """What the hash covers, in a form that reads back identically from the database."""
        return {"problem_id": self.problem_id, "action": self.action.value,
                "from": self.from_status.value if self.from_status else None,
                "to": self.to_status.value, "actor_id": self.actor_id,
                "at": self.at.astimezone(timezone.utc).isoformat(timespec="microseconds"),
                "comment": self.comment or "", "data": self.data or {}, "prev": self.prev_hash}

    def compute_hash(self) -> str:
        canonical = json.dumps(self.content(), sort_keys=True, ensure_ascii=False,
                               separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


guards.listen(ProblemEvent.__table__)


class Outcome(LabelledEnum):
    talk = "talk"
    criticism = "criticism"
    warning = "warning"
    demerit = "demerit"
    party_serious_warning = "party_serious_warning"
    other = "other"

    @classmethod
    def _labels(cls):
        return {"talk": N_("谈话提醒"), "criticism": N_("批评教育"), "warning": N_("政务警告"),
                "demerit": N_("政务记过"), "party_serious_warning": N_("党内严重警告"),
                "other": N_("其他")}


class AccountabilityRecord(db.Model):
    """At escalation level 3 (问责) the problem becomes a clue; its outcome is recorded here."""

    __tablename__ = "accountability_records"
    __table_args__ = (enum_check("outcome", Outcome, nullable=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int] = mapped_column(sa.ForeignKey("problems.id"), index=True)
    subject: Mapped[str] = mapped_column(sa.String(200))
    outcome: Mapped[Outcome | None]
    decided_on: Mapped[date | None]
    note: Mapped[str] = mapped_column(sa.Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
