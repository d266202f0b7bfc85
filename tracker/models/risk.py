"""Major risk points (重大风险点) of a project and every change of their level or status."""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import LabelledEnum, N_, UTCDateTime, enum_check, utcnow
from .project import Project, Stage
from .user import Department, User


class RiskCategory(LabelledEnum):
    land = "land"
    funding = "funding"
    tender = "tender"
    safety = "safety"
    wages = "wages"
    settlement = "settlement"
    integrity = "integrity"
    other = "other"

    @classmethod
    def _labels(cls):
        return {"land": N_("征地拆迁"), "funding": N_("资金缺口"), "tender": N_("招投标"),
                "safety": N_("质量安全"), "wages": N_("农民工工资"), "settlement": N_("结算争议"),
                "integrity": N_("廉洁风险"), "other": N_("其他")}


class RiskLevel(LabelledEnum):
    high = "high"
    medium = "medium"
    low = "low"

    @classmethod
    def _labels(cls):
        return {"high": N_("高"), "medium": N_("中"), "low": N_("低")}


class RiskStatus(LabelledEnum):
    watching = "watching"
    mitigated = "mitigated"
    closed = "closed"

    @classmethod
    def _labels(cls):
        return {"watching": N_("关注中"), "mitigated": N_("已缓解"), "closed": N_("已关闭")}


class Risk(db.Model):
    __tablename__ = "risks"
    __table_args__ = (
        enum_check("stage", Stage),
        enum_check("category", RiskCategory),
        enum_check("level", RiskLevel),
        enum_check("status", RiskStatus),
        sa.Index("ix_risks_project_status", "project_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id"))
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    stage: Mapped[Stage]
    category: Mapped[RiskCategory]
    level: Mapped[RiskLevel] = mapped_column(index=True)
    status: Mapped[RiskStatus] = mapped_column(default=RiskStatus.watching)
    department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("departments.id"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Any change (level, status or an edit); the API's changed_since filter reads it.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    version: Mapped[int] = mapped_column(default=1)

    project: Mapped[Project] = relationship()
    department: Mapped[Department | None] = relationship()
    # Oldest first by when it happened (history can be entered afterwards, e.g. the demo's).
    changes: Mapped[list["RiskChange"]] = relationship(
        order_by=lambda: (RiskChange.at, RiskChange.id), viewonly=True)

    __mapper_args__ = {"version_id_col": version}


class RiskChange(db.Model):
    """Append-only: the creation of a risk and each later change of its level or status."""

    __tablename__ = "risk_changes"
    __table_args__ = (
        enum_check("from_level", RiskLevel, nullable=True),
        enum_check("to_level", RiskLevel),
        enum_check("from_status", RiskStatus, nullable=True),
        enum_check("to_status", RiskStatus),
        sa.Index("ix_risk_changes_risk_at", "risk_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    risk_id: Mapped[int] = mapped_column(sa.ForeignKey("risks.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    visit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("visits.id"))
    from_level: Mapped[RiskLevel | None]
    to_level: Mapped[RiskLevel]
    from_status: Mapped[RiskStatus | None]
    to_status: Mapped[RiskStatus]
    reason: Mapped[str] = mapped_column(sa.Text, default="")

    actor: Mapped[User | None] = relationship()
