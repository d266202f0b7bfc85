"""Key projects: the registry, supervisor assignments, stage history and the supervision list."""
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import LabelledEnum, N_, UTCDateTime, enum_check, utcnow
from .user import User


class Level(LabelledEnum):
    provincial = "provincial"
    municipal = "municipal"
    county = "county"

    @classmethod
    def _labels(cls):
        return {"provincial": N_("省重点"), "municipal": N_("市重点"), "county": N_("县重点")}


class Stage(LabelledEnum):
    signing = "signing"
    approval = "approval"
    construction = "construction"
    acceptance = "acceptance"
    completed = "completed"

    @classmethod
    def _labels(cls):
        return {"signing": N_("招商签约"), "approval": N_("审批落地开工"),
                "construction": N_("工程建设实施"), "acceptance": N_("验收结算资金"),
                "completed": N_("完成")}

    @property
    def order(self) -> int:
        return list(Stage).index(self)

    @classmethod
    def supervised(cls) -> list["Stage"]:
        """The four key stages that carry a supervision list."""
        return [s for s in cls if s is not cls.completed]


class CheckResult(LabelledEnum):
    ok = "ok"
    problem = "problem"
    na = "na"

    @classmethod
    def _labels(cls):
        return {"ok": N_("正常"), "problem": N_("发现问题"), "na": N_("不适用")}


class Project(db.Model):
    __tablename__ = "projects"
    __table_args__ = (
        enum_check("level", Level),
        enum_check("stage", Stage),
        sa.CheckConstraint("investment_wan >= 0", name="investment_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200), index=True)
    level: Mapped[Level] = mapped_column(index=True)
    category: Mapped[str] = mapped_column(sa.String(50), index=True)
    investment_wan: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2))
    responsible_unit: Mapped[str] = mapped_column(sa.String(100), default="")
    owner: Mapped[str] = mapped_column(sa.String(200), default="")
    location: Mapped[str] = mapped_column(sa.String(200), default="")
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    # 企业宁静日: an above-scale enterprise already in normal production.
    quiet_days_apply: Mapped[bool] = mapped_column(default=False)
    stage: Mapped[Stage] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    current_assignment: Mapped["SupervisorAssignment | None"] = relationship(
        primaryjoin="and_(SupervisorAssignment.project_id == Project.id, "
                    "SupervisorAssignment.ended_at.is_(None))",
        viewonly=True, uselist=False, lazy="selectin",
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def supervisor(self) -> User | None:
        return self.current_assignment.user if self.current_assignment else None

    @property
    def supervisor_id(self) -> int | None:
        return self.current_assignment.user_id if self.current_assignment else None

    def __repr__(self) -> str:
        return f"<Project {self.code}>"


class SupervisorAssignment(db.Model):
    """Who supervises a project when; the open row (ended_at NULL) is the current one."""

    __tablename__ = "supervisor_assignments"
    __table_args__ = (
        sa.Index("uq_supervisor_assignments_one_active", "project_id", unique=True,
                 sqlite_where=sa.text("ended_at IS NULL"),
                 postgresql_where=sa.text("ended_at IS NULL")),
        sa.Index("ix_supervisor_assignments_user_active", "user_id", "ended_at"),
        sa.CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    assigned_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(sa.Text, default="")

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")
    assigned_by: Mapped[User | None] = relationship(foreign_keys=[assigned_by_id])


class StageChange(db.Model):
    __tablename__ = "stage_changes"
    __table_args__ = (
        enum_check("from_stage", Stage, nullable=True),
        enum_check("to_stage", Stage),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id"), index=True)
    from_stage: Mapped[Stage | None]
    to_stage: Mapped[Stage]
    changed_on: Mapped[date]
    note: Mapped[str] = mapped_column(sa.Text, default="")
    # Set when the move needed an admin's reason: open problems left behind, or a move back.
    reason: Mapped[str | None] = mapped_column(sa.Text)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor: Mapped[User | None] = relationship()


class ChecklistTemplate(db.Model):
    """One line of headquarters' supervision list for a stage; retired lines keep old records."""

    __tablename__ = "checklist_templates"
    __table_args__ = (enum_check("stage", Stage),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stage: Mapped[Stage] = mapped_column(index=True)
    text: Mapped[str] = mapped_column(sa.Text)
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class ChecklistItem(db.Model):
    """A project's copy of a template line, with the supervisor's result."""

    __tablename__ = "checklist_items"
    __table_args__ = (
        enum_check("stage", Stage),
        enum_check("result", CheckResult, nullable=True),
        sa.UniqueConstraint("project_id", "template_id"),
        sa.CheckConstraint("(result IS NULL) = (checked_at IS NULL)", name="checked_iff_result"),
        sa.Index("ix_checklist_items_project_stage", "project_id", "stage"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id"))
    template_id: Mapped[int] = mapped_column(sa.ForeignKey("checklist_templates.id"))
    stage: Mapped[Stage]
    text: Mapped[str] = mapped_column(sa.Text)
    position: Mapped[int] = mapped_column(default=0)
    result: Mapped[CheckResult | None]
    note: Mapped[str] = mapped_column(sa.Text, default="")
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(default=1)

    project: Mapped[Project] = relationship()
    checked_by: Mapped[User | None] = relationship()

    __mapper_args__ = {"version_id_col": version}
