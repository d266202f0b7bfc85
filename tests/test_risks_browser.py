"""In a real browser: a supervisor re-rates a risk from the project page on a phone (the reason
is asked for before the form goes), and headquarters reads the weekly risk view."""


from tracker.models import Risk, RiskLevel
from tracker.services import risks as service

from .browser import BROWSER_TEST, chromium_browser, server  # noqa: F401 (fixtures)
from .conftest import PASSWORD, SHOTS

pytestmark = BROWSER_TEST


def sign_in(page, server, user):
    page.goto(f"{server}/login")
    page.fill("#username", user.username)
    page.fill("#password", PASSWORD)
    page.click("#submit")
    page.wait_for_url(f"{server}/")


def test_rerating_on_a_phone_and_the_weekly_view(db, admin, make_user, make_project, server,
                                                 chromium_browser):
    supervisor = make_user("supervisor", name="陈静")
    project = make_project(supervisor=supervisor, name="衡东县污水处理厂提标扩能工程")
    risk = service.create_risk(supervisor, project, title="深基坑支护方案未经论证",
                               category="safety", level="medium")
    service.create_risk(supervisor, project, title="农民工工资支付风险", category="wages",
                        level="high")
    db.session.commit()
    SHOTS.mkdir(parents=True, exist_ok=True)

    phone = chromium_browser.new_page(viewport={"width": 375, "height": 812}, locale="zh-CN")
    sign_in(phone, server, supervisor)
    phone.goto(f"{server}/projects/{project.id}#risks")
    row = phone.locator(f"#risk-{risk.id}")
    row.get_by_role("button", name="调整").click()
    form = phone.locator(f"#rate-{risk.id}")
    form.locator("select[name=level]").select_option("high")
    reason = form.locator("[data-reason]")
    assert reason.evaluate("e => e.required")          # asked for once the level differs
    form.get_by_role("button", name="保存").click()
    assert reason.evaluate("e => !e.validity.valid")   # the browser kept the form back
    assert db.session.get(Risk, risk.id).level is RiskLevel.medium
    reason.fill("现场发现无支护开挖")
    form.get_by_role("button", name="保存").click()
    phone.wait_for_selector(".alert-success")
    assert "已调整" in phone.inner_text(".alert-success")
    db.session.rollback()  # end the test's snapshot to read what the server wrote
    assert db.session.get(Risk, risk.id).level is RiskLevel.high
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    phone.locator("#risks").screenshot(path=str(SHOTS / "risks-project-panel-phone.png"))

    desk = chromium_browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    sign_in(desk, server, admin)
    desk.goto(f"{server}/risks/")
    assert "衡东县污水处理厂提标扩能工程" in desk.inner_text("#risk-projects")
    assert desk.inner_text("#week-raised .fs-3") == "1"
    assert "现场发现无支护开挖" in desk.inner_text("#risk-changes")
    desk.screenshot(path=str(SHOTS / "risks-weekly-view.png"), full_page=True)
