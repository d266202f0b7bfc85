"""Daily reminders (`flask send-reminders`): problems due within one working day and overdue ones
reach whoever holds the ball, in the app and by e-mail when SMTP is configured.

A notification is unique per (user, problem, kind, day), so a second run on the same day adds
nothing; e-mail goes only for notifications not yet e-mailed, so it is never sent twice either.
"""
import smtplib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from email.message import EmailMessage

import sqlalchemy as sa

from ..calendar import WorkCalendar, load_calendar, local_today
from ..extensions import db
from ..models import (Notification, Problem, ProblemStatus, Project, Role, SupervisorAssignment,
                      User, utcnow)
from .mywork import WorkingDaysBack

S = ProblemStatus
DUE_SOON, OVERDUE = "due_soon", "overdue"


@dataclass
class ReminderRun:
    day: date
    created: list[tuple[int, int, str]] = field(default_factory=list)  # (user, problem, kind)
    skipped: int = 0          # already sent today

    @property
    def recipients(self) -> int:
        return len({user_id for user_id, _, _ in self.created})


def _fmt(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _message(kind: str, title: str, project: str, due_on: date, days_late: int) -> str:
    if kind == OVERDUE:
        return (f"【逾期提醒】{project}：问题“{title}”整改期限为{_fmt(due_on)}，"
                f"已逾期 {days_late} 个工作日，请抓紧办理。")
    return f"【到期提醒】{project}：问题“{title}”将于{_fmt(due_on)}到期，请按时办结。"


def create_reminders(today: date | None = None,
                     calendar: WorkCalendar | None = None) -> ReminderRun:
    """Write today's notifications (flush only); a bounded number of queries."""
    today = today or local_today()
    calendar = calendar or load_calendar(db.session)
    soon = calendar.add_working_days(today, 1)
    late = WorkingDaysBack(calendar, today)
    run = ReminderRun(today)

    problems = db.session.execute(
        sa.select(Problem.id, Problem.title, Problem.status, Problem.due_on,
                  Problem.department_id, Project.name, SupervisorAssignment.user_id)
        .join(Project, Project.id == Problem.project_id)
        .outerjoin(SupervisorAssignment, sa.and_(
            SupervisorAssignment.project_id == Project.id, SupervisorAssignment.ended_at.is_(None)))
        .where(Problem.status.in_((S.open, S.assigned, S.rectifying, S.rectified)),
               Problem.due_on.is_not(None), Problem.due_on <= soon)
        .order_by(Problem.due_on, Problem.id)).all()
    if not problems:
        return run

    active = User.active.is_(True)
    dept_ids = {p.department_id for p in problems if p.department_id}
    by_department = defaultdict(list)
    for uid, dept_id in db.session.execute(sa.select(User.id, User.department_id).where(
            active, User.role == Role.department, User.department_id.in_(dept_ids))):
        by_department[dept_id].append(uid)
    admins = db.session.scalars(sa.select(User.id).where(active, User.role == Role.admin)).all()
    active_supervisors = set(db.session.scalars(sa.select(User.id).where(
        active, User.role == Role.supervisor)))

    wanted: dict[tuple[int, int, str], str] = {}
    for p in problems:
        kind = OVERDUE if p.due_on < today else DUE_SOON
        if p.status in (S.assigned, S.rectifying):
            holders = list(by_department.get(p.department_id, []))
        else:  # rectified (to revisit) or open (to assign): the project's supervisor
            holders = [p.user_id] if p.user_id in active_supervisors else []
        if kind == OVERDUE:
            holders += admins
        days_late = late.since(p.due_on) if kind == OVERDUE else 0
        text = _message(kind, p.title, p.name, p.due_on, days_late)
        for uid in holders:
            wanted[(uid, p.id, kind)] = text

    sent = set(db.session.execute(
        sa.select(Notification.user_id, Notification.problem_id, Notification.kind)
        .where(Notification.sent_on == today)).tuples())
    rows = []
    for (uid, pid, kind), text in wanted.items():
        if (uid, pid, kind) in sent:
            run.skipped += 1
            continue
        rows.append({"user_id": uid, "problem_id": pid, "kind": kind, "message": text,
                     "sent_on": today, "created_at": utcnow(), "emailed": False})
        run.created.append((uid, pid, kind))
    if rows:  # one multi-row INSERT, not one ORM object per reminder
        db.session.execute(sa.insert(Notification), rows)
    return run


def email_pending(config, today: date | None = None) -> int:
    """E-mail today's notifications not yet e-mailed, one message per person; mark them (flush).

    Does nothing without MAIL_SERVER. Users without an address are skipped (the in-app
    notification still reaches them). Returns the number of messages sent.
    """
    server = config.get("MAIL_SERVER")
    if not server:
        return 0
    today = today or local_today()
    rows = db.session.execute(
        sa.select(Notification, User.email, User.name)
        .join(User, User.id == Notification.user_id)
        .where(Notification.sent_on == today, Notification.emailed.is_(False),
               User.email.is_not(None), User.email != "")
        .order_by(Notification.user_id, Notification.id)).all()
    by_user: dict[tuple[str, str], list[Notification]] = defaultdict(list)
    for note, email, name in rows:
        by_user[(email, name)].append(note)
    if not by_user:
        return 0
    sent = 0
    with smtplib.SMTP(server, int(config.get("MAIL_PORT") or 25), timeout=30) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        for (email, name), notes in by_user.items():
            message = EmailMessage()
            message["Subject"] = f"重点项目监督提醒（{_fmt(today)}，{len(notes)} 条）"
            message["From"] = config.get("MAIL_FROM") or "tracker@localhost"
            message["To"] = email
            message.set_content(f"{name}：\n\n" + "\n".join(n.message for n in notes)
                                + "\n\n请登录重点项目监督系统查看“我的工作”。\n")
            smtp.send_message(message)
            for note in notes:
                note.emailed = True
            sent += 1
    db.session.flush()
    return sent


def unread_count(user: User) -> int:
    return db.session.scalar(sa.select(sa.func.count(Notification.id)).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


def notifications_for(user: User):
    """The SELECT of a user's notifications, newest first (for db.paginate)."""
    return (sa.select(Notification).where(Notification.user_id == user.id)
            .order_by(Notification.created_at.desc(), Notification.id.desc()))


def mark_read(user: User, notification_id: int | None = None) -> int:
    """Mark one of the user's notifications (or all of them) read; returns how many changed."""
    query = sa.update(Notification).where(Notification.user_id == user.id,
                                          Notification.read_at.is_(None))
    if notification_id is not None:
        query = query.where(Notification.id == notification_id)
    result = db.session.execute(query.values(read_at=utcnow()))
    return result.rowcount or 0
