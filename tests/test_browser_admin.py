"""In a real browser, admin creates a user, enters a holiday, and finds both in the audit viewer."""


from .browser import BROWSER_TEST, chromium_browser, server  # noqa: F401 (fixtures)
from .conftest import PASSWORD, SHOTS

pytestmark = BROWSER_TEST


def test_admin_creates_a_user_enters_a_holiday_and_finds_both_in_the_audit_viewer(
        db, admin, make_department, server, chromium_browser):
    make_department(code="FGJ", name="县发展和改革局")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = chromium_browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{server}/login")
    page.fill("#username", admin.username)
    page.fill("#password", PASSWORD)
    page.click("#submit")
    page.wait_for_url(f"{server}/")

    # A new liaison for the development and reform bureau.
    page.click("text=系统管理")
    page.click(".dropdown-menu a[href$='/admin/users']")
    page.click("a.btn-primary[href$='/admin/users/new']")
    page.wait_for_url("**/admin/users/new")
    # Only department users belong to a department: the field shows for that role only.
    page.wait_for_selector("#department_id", state="hidden")
    page.fill("#username", "fgj_wang")
    page.fill("#name", "王建国")
    page.select_option("#role", "department")
    page.wait_for_selector("#department_id", state="visible")
    page.select_option("#department_id", label="县发展和改革局（FGJ）")
    page.fill("#password", "start-pass-1")
    page.screenshot(path=str(SHOTS / "admin-user-new.png"), full_page=True)
    page.click("#submit")
    page.wait_for_selector("text=已新建用户 王建国（fgj_wang）")
    page.screenshot(path=str(SHOTS / "admin-user.png"), full_page=True)

    # The 2027 New Year holiday, which the calendar package does not know yet.
    page.goto(f"{server}/admin/calendar?year=2027")
    assert "未收录" in page.inner_text("table")
    page.fill("#days_off", "2027-01-01~2027-01-03 元旦")
    page.fill("#days_worked", "2027-01-04 元旦调休上班")
    page.click("#submit")
    page.wait_for_selector("text=已保存 2027 年节假日安排")
    assert "2027年1月1日" in page.inner_text("main")
    page.screenshot(path=str(SHOTS / "admin-calendar.png"), full_page=True)

    # Both show in the audit viewer; the filter narrows to the calendar.
    page.goto(f"{server}/admin/audit")
    table = page.inner_text(".audit-table")
    assert "新建用户" in table and "fgj_wang" in table
    assert "录入全年节假日" in table and "2027-01-01" in table
    page.screenshot(path=str(SHOTS / "admin-audit.png"), full_page=True)
    page.select_option("#category", "calendar")
    page.click("form[role=search] button[type=submit]")
    page.wait_for_url("**category=calendar**")
    table = page.inner_text(".audit-table")
    assert "录入全年节假日" in table and "新建用户" not in table

    # A setting changed in the page is in force at once and logged.
    page.goto(f"{server}/admin/settings")
    page.fill("#reminder_hour", "9")
    page.screenshot(path=str(SHOTS / "admin-settings.png"), full_page=True)
    page.click("#submit")
    page.wait_for_selector("text=立即生效")
    assert page.input_value("#reminder_hour") == "9"
    page.goto(f"{server}/admin/departments")
    page.screenshot(path=str(SHOTS / "admin-departments.png"), full_page=True)

    # The same pages on a phone.
    phone = chromium_browser.new_page(viewport={"width": 375, "height": 740}, locale="zh-CN",
                                      storage_state=page.context.storage_state())
    phone.goto(f"{server}/admin/audit")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    phone.screenshot(path=str(SHOTS / "admin-audit-phone.png"), full_page=True)
    phone.goto(f"{server}/admin/users")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    phone.screenshot(path=str(SHOTS / "admin-users-phone.png"), full_page=True)
