"""Field visits and the files attached to them."""
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import LabelledEnum, N_, UTCDateTime, enum_check, utcnow
from .project import Project, Stage
from .user import User


class VisitKind(LabelledEnum):
    routine = "routine"
    revisit = "revisit"
    special = "special"

    @classmethod
    def _labels(cls):
        return {"routine": N_("日常监督"), "revisit": N_("跟踪回访"), "special": N_("专项督查")}


class QuietDayExemption(LabelledEnum):
    safety = "safety"
    incident = "incident"
    licensing = "licensing"
    complaint = "complaint"

    @classmethod
    def _labels(cls):
        return {"safety": N_("涉及国家安全、公共安全、人身财产安全、安全生产或生态环境安全"),
                "incident": N_("企业发生突发事件或问题"),
                "licensing": N_("办理许可审批须现场核查"),
                "complaint": N_("处理针对该企业的投诉举报")}


visit_problems = sa.Table(
    "visit_problems",
    db.Model.metadata,
    sa.Column("visit_id", sa.ForeignKey("visits.id"), primary_key=True),
    sa.Column("problem_id", sa.ForeignKey("problems.id"), primary_key=True, index=True),
    sa.Column("role", sa.String(16), primary_key=True),
    # What a revisit decided for the problem then (its status may have moved on since).
    sa.Column("outcome", sa.String(16), nullable=True),
    sa.CheckConstraint("role IN ('raised', 'revisited')", name="role_valid"),
    sa.CheckConstraint("outcome IS NULL OR outcome IN ('close', 'reopen')", name="outcome_valid"),
)


class Visit(db.Model):
    __tablename__ = "visits"
    __table_args__ = (
        enum_check("kind", VisitKind),
        enum_check("stage", Stage),
        enum_check("quiet_day_exemption", QuietDayExemption, nullable=True),
        sa.CheckConstraint("lat IS NULL OR (lat BETWEEN -90 AND 90)", name="lat_range"),
        sa.CheckConstraint("lon IS NULL OR (lon BETWEEN -180 AND 180)", name="lon_range"),
        sa.Index("ix_visits_project_visited_on", "project_id", "visited_on"),
        sa.Index("ix_visits_supervisor_visited_on", "supervisor_id", "visited_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id"))
    supervisor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    visited_on: Mapped[date]
    kind: Mapped[VisitKind]
    stage: Mapped[Stage]
    people_met: Mapped[str] = mapped_column(sa.Text, default="")
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    far_from_site: Mapped[bool] = mapped_column(default=False)
    quiet_day_exemption: Mapped[QuietDayExemption | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    project: Mapped[Project] = relationship()
    supervisor: Mapped[User] = relationship()
    attachments: Mapped[list["Attachment"]] = relationship(back_populates="visit",
                                                           order_by="Attachment.id")
    # The problems this visit found and the ones it revisited (rows of visit_problems).
    raised_problems: Mapped[list["Problem"]] = relationship(
        secondary=visit_problems, viewonly=True, order_by="Problem.id",
        primaryjoin=lambda: sa.and_(Visit.id == visit_problems.c.visit_id,
                                    visit_problems.c.role == "raised"))
    revisited_problems: Mapped[list["Problem"]] = relationship(
        secondary=visit_problems, viewonly=True, order_by="Problem.id",
        primaryjoin=lambda: sa.and_(Visit.id == visit_problems.c.visit_id,
                                    visit_problems.c.role == "revisited"))


class Attachment(db.Model):
    """A photo or document, stored under UPLOAD_DIR by content hash, never by its given name."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("visits.id"), index=True)
    problem_id: Mapped[int | None] = mapped_column(sa.ForeignKey("problems.id"), index=True)
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    content_type: Mapped[str] = mapped_column(sa.String(64))
    size: Mapped[int]
    original_name: Mapped[str] = mapped_column(sa.String(200), default="")
    has_thumbnail: Mapped[bool] = mapped_column(default=False)
    exif: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    visit: Mapped[Visit | None] = relationship(back_populates="attachments")
