"""Reminders: `flask send-reminders` finds problems due within one working day and overdue ones,
reaches whoever holds the ball in the app and by e-mail (a real SMTP server on 127.0.0.1), and a
second run on the same day sends nothing twice. The header shows the unread count."""
import socket
import threading
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from tracker import workflow
from tracker.calendar import load_calendar, local_today
from tracker.models import Notification, ProblemStatus as S


class Inbox:
    """aiosmtpd handler: keeps every message it is given."""

    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos),
                                  message_from_bytes(envelope.content, policy=policy.default)))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server(app):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port,
                      MAIL_FROM="tracker@hengdong.example")
    yield inbox
    controller.stop()
    app.config["MAIL_SERVER"] = None


def set_due(db, problem, admin, day):
    workflow.apply(problem, "set_due", admin, due_on=day.isoformat(), comment="测试调整期限")
    db.session.commit()


@pytest.fixture
def county(db, admin, make_user, make_department, make_project, make_problem):
    """Problems in every situation a reminder can meet, and the people around them."""
    cal = load_calendar(db.session)
    today = local_today()
    soon, late = cal.add_working_days(today, 1), today - timedelta(days=7)
    dept, helper = make_department(name="县自然资源局"), make_department(name="县财政局")
    liaison = make_user("department", department=dept, name="自然资源局联络员")
    deputy = make_user("department", department=dept, name="自然资源局副联络员")
    gone = make_user("department", department=dept, name="已停用联络员")
    gone.active = False
    helper_user = make_user("department", department=helper)
    sup = make_user("supervisor", name="陈静")
    viewer = make_user("viewer")
    project = make_project(supervisor=sup, name="衡东县油茶产业园")
    p = {}
    p["accept_soon"] = make_problem(project, S.assigned, department=dept, title="用地手续待签收")
    set_due(db, p["accept_soon"], admin, soon)
    p["report_late"] = workflow.record(project, admin, title="征地补偿未到位")
    workflow.apply(p["report_late"], "assign", admin, department_id=dept.id, handling_class=5,
                   co_department_ids=[helper.id])
    workflow.apply(p["report_late"], "accept", admin)
    set_due(db, p["report_late"], admin, late)
    p["revisit_late"] = make_problem(project, S.rectified, department=dept, title="待回访已逾期")
    set_due(db, p["revisit_late"], admin, late)
    p["revisit_soon"] = make_problem(project, S.rectified, department=dept, title="待回访将到期")
    set_due(db, p["revisit_soon"], admin, soon)
    p["later"] = make_problem(project, S.rectifying, department=dept, title="期限尚早")
    set_due(db, p["later"], admin, cal.add_working_days(today, 4))
    p["closed"] = make_problem(project, S.closed, department=dept, title="已销号")
    for user, address in ((liaison, "liaison@hengdong.example"), (sup, "chenjing@hengdong.example"),
                          (admin, "admin@hengdong.example"), (gone, "gone@hengdong.example")):
        user.email = address
    db.session.commit()
    return dict(p=p, liaison=liaison, deputy=deputy, gone=gone, helper_user=helper_user, sup=sup,
                viewer=viewer, today=today)


def sent(db) -> set[tuple[int, int, str]]:
    db.session.expire_all()
    return set(db.session.execute(
        sa.select(Notification.user_id, Notification.problem_id, Notification.kind)).tuples())


def test_reminders_reach_whoever_holds_the_ball_and_never_twice(runner, db, admin, county):
    c, p = county, county["p"]
    result = runner.invoke(args=["send-reminders"])
    assert result.exit_code == 0, result.output
    dept_users = (c["liaison"].id, c["deputy"].id)
    expected = {
        *((u, p["accept_soon"].id, "due_soon") for u in dept_users),
        *((u, p["report_late"].id, "overdue") for u in (*dept_users, admin.id)),
        (c["sup"].id, p["revisit_late"].id, "overdue"), (admin.id, p["revisit_late"].id, "overdue"),
        (c["sup"].id, p["revisit_soon"].id, "due_soon"),
    }
    assert sent(db) == expected
    assert "8 reminders to 4 people" in result.output
    # nobody else: not the inactive liaison, the co-department, the viewer; no problem due later
    assert not {c["gone"].id, c["helper_user"].id, c["viewer"].id} & {u for u, _, _ in sent(db)}

    again = runner.invoke(args=["send-reminders"])
    assert again.exit_code == 0, again.output
    assert "0 reminders" in again.output and "8 already sent today" in again.output
    assert db.session.scalar(sa.select(sa.func.count(Notification.id))) == 8

    # the next day is a new day: still-open problems are reminded again
    tomorrow = (c["today"] + timedelta(days=1)).isoformat()
    assert runner.invoke(args=["send-reminders", "--date", tomorrow]).exit_code == 0
    assert db.session.scalar(sa.select(sa.func.count(Notification.id))) > 8


def test_overdue_message_says_how_many_working_days(runner, db, county):
    runner.invoke(args=["send-reminders"])
    db.session.expire_all()
    message = db.session.scalar(sa.select(Notification.message).where(
        Notification.problem_id == county["p"]["report_late"].id,
        Notification.user_id == county["liaison"].id))
    days = load_calendar(db.session).working_days_between(
        county["today"] - timedelta(days=7), county["today"])
    assert message.startswith("【逾期提醒】衡东县油茶产业园")
    assert f"已逾期 {days} 个工作日" in message


def test_email_goes_through_the_smtp_server_once_per_person(runner, db, admin, county,
                                                            smtp_server):
    result = runner.invoke(args=["send-reminders"])
    assert result.exit_code == 0, result.output
    assert "3 e-mail messages sent" in result.output
    recipients = sorted(r for rcpts, _ in smtp_server.messages for r in rcpts)
    # the deputy has no address: in-app only; the inactive liaison gets nothing
    assert recipients == ["admin@hengdong.example", "chenjing@hengdong.example",
                          "liaison@hengdong.example"]
    by_rcpt = {rcpts[0]: msg for rcpts, msg in smtp_server.messages}
    liaison_mail = by_rcpt["liaison@hengdong.example"]
    assert liaison_mail["From"] == "tracker@hengdong.example"
    assert "重点项目监督提醒" in liaison_mail["Subject"]
    body = liaison_mail.get_content()
    assert "用地手续待签收" in body and "征地补偿未到位" in body
    assert "待回访" not in body  # that one is the supervisor's
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(Notification.id))
                             .where(Notification.emailed.is_(True))) == 6

    again = runner.invoke(args=["send-reminders"])
    assert again.exit_code == 0 and "0 e-mail messages sent" in again.output
    assert len(smtp_server.messages) == 3


def test_mail_server_down_keeps_the_reminders_and_a_later_run_sends_them(
        runner, app, db, county, smtp_server):
    port = app.config["MAIL_PORT"]
    app.config["MAIL_PORT"] = 1  # nothing listens there
    failed = runner.invoke(args=["send-reminders"])
    assert failed.exit_code != 0 and "e-mail failed" in failed.output
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(Notification.id))) == 8
    assert smtp_server.messages == []
    app.config["MAIL_PORT"] = port
    retry = runner.invoke(args=["send-reminders"])
    assert retry.exit_code == 0 and "3 e-mail messages sent" in retry.output
    assert len(smtp_server.messages) == 3


def test_header_shows_unread_count_and_reading_clears_it(client, runner, db, county, login):
    runner.invoke(args=["send-reminders"])
    liaison = county["liaison"]
    login(liaison)
    html = client.get("/").get_data(as_text=True)
    assert 'id="unread-count">2<' in html
    page = client.get("/notifications").get_data(as_text=True)
    assert "【到期提醒】" in page and "【逾期提醒】" in page
    mine = db.session.scalars(sa.select(Notification.id).where(
        Notification.user_id == liaison.id).order_by(Notification.id)).all()
    others = db.session.scalar(sa.select(Notification.id).where(
        Notification.user_id != liaison.id))
    assert client.post(f"/notifications/{mine[0]}/read").status_code == 302
    assert 'id="unread-count">1<' in client.get("/").get_data(as_text=True)
    # someone else's notification is not touched
    client.post(f"/notifications/{others}/read")
    db.session.expire_all()
    assert db.session.get(Notification, others).read_at is None
    assert client.post("/notifications/read-all").status_code == 302
    assert 'id="unread-count"' not in client.get("/").get_data(as_text=True)
    assert "未读" not in client.get("/notifications").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(Notification.id)).where(
        Notification.user_id == liaison.id, Notification.read_at.is_(None))) == 0


def test_notifications_need_sign_in(client):
    assert client.get("/notifications").status_code == 302
    assert client.post("/notifications/read-all").status_code in (302, 400)


@pytest.mark.sqlite_only
def test_nothing_due_sends_nothing(runner, db, admin, make_project, make_user):
    make_project(supervisor=make_user("supervisor"))
    result = runner.invoke(args=["send-reminders"])
    assert result.exit_code == 0 and "0 reminders to 0 people" in result.output
