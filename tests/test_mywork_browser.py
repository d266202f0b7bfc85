"""On a phone-sized browser (390×844): a department liaison signs in to "my work", sees the unread
reminders in the header, reads one; admin records an accountability decision on a level-3 problem
(confirming the dialog)."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tracker import workflow
from tracker.calendar import local_today
from tracker.models import AccountabilityRecord, Outcome
from tracker.models import ProblemStatus as S

from .browser import BROWSER_TEST, chromium_browser, no_sideways_scroll, server  # noqa: F401 (fixtures)
from .conftest import PASSWORD

pytestmark = BROWSER_TEST

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(chromium_browser):
    context = chromium_browser.new_context(viewport=PHONE, locale="zh-CN")
    yield context.new_page()
    context.close()


def sign_in(page, base, user):
    page.goto(f"{base}/login")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("[type=submit]")
    page.wait_for_url(f"{base}/")


def test_liaison_reads_reminders_on_a_phone(server, phone, db, admin, runner, make_user,
                                            make_department, make_project, make_problem):
    dept = make_department(name="国网衡东县供电公司")
    liaison = make_user("department", department=dept, name="供电公司联络员")
    project = make_project(supervisor=make_user("supervisor"), name="衡东县农村公路提质改造")
    late = make_problem(project, S.assigned, department=dept, title="临时用电报装迟迟未接入")
    workflow.apply(late, "set_due", admin, due_on=(local_today() - timedelta(days=6)).isoformat(),
                   comment="按督办要求提前")
    make_problem(project, S.rectifying, department=dept, title="杆线迁改进度滞后")
    db.session.commit()
    assert runner.invoke(args=["send-reminders"]).exit_code == 0

    page = phone
    sign_in(page, server, liaison)
    assert page.locator("#unread-count").inner_text().startswith("1")
    items = page.locator("#mywork-items li")
    assert items.count() == 2
    assert "已逾期" in items.nth(0).inner_text() and "临时用电报装迟迟未接入" in items.nth(0).inner_text()
    assert no_sideways_scroll(page)

    page.click("#notifications-link")
    assert "【逾期提醒】" in page.locator("#notification-list").inner_text()
    page.click("#notification-list button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#unread-count").count() == 0
    assert no_sideways_scroll(page)


def test_admin_records_an_accountability_decision_on_a_phone(server, phone, db, admin,
                                                             make_user, make_department,
                                                             make_project, make_problem):
    dept = make_department(name="县住房和城乡建设局")
    project = make_project(supervisor=make_user("supervisor"), name="衡东县城区老旧小区改造")
    problem = make_problem(project, S.rectifying, department=dept, title="雨污分流改造滞后")
    workflow.apply(problem, "escalate", admin, level=3)
    db.session.commit()

    page = phone
    sign_in(page, server, admin)
    page.goto(f"{server}/problems/{problem.id}")
    page.fill("#acc-subject", "县住建局城建股 王某")
    page.click("#accountability-form [type=submit]")
    page.wait_for_load_state()
    assert "处理结果待定" in page.locator("#accountability").inner_text()

    page.select_option("#accountability select[name=outcome]", "criticism")
    page.fill("#accountability input[name=decided_on]", local_today().isoformat())
    page.once("dialog", lambda dialog: dialog.accept())  # data-confirm: the decision is final
    page.click("#accountability [data-confirm]")
    page.wait_for_load_state()
    assert "批评教育" in page.locator("#accountability").inner_text()
    assert no_sideways_scroll(page)
    db.session.rollback()  # end the test's own snapshot: read what the server wrote
    record = db.session.scalar(sa.select(AccountabilityRecord))
    assert (record.subject, record.outcome) == ("县住建局城建股 王某", Outcome.criticism)
