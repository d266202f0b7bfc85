"""In a real browser at phone size (390×844): the supervisor finds a problem while working the
supervision list, hands it to a department, the liaison accepts and reports, and after the
revisit the supervisor closes it from the problem page with the enterprise's rating."""
import sqlalchemy as sa

from tracker.calendar import local_today
from tracker.models import (
    ChecklistTemplate,
    Problem,
    ProblemEvent,
    ProblemStatus,
    Stage,
)

from .browser import BROWSER_TEST, chromium_browser, no_sideways_scroll, server  # noqa: F401 (fixtures)
from .conftest import PASSWORD, SHOTS

pytestmark = BROWSER_TEST

PHONE = {"width": 390, "height": 844}


def phone(browser, server, user):
    page = browser.new_page(viewport=PHONE, locale="zh-CN", device_scale_factor=2, is_mobile=True,
                            has_touch=True)
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{server}/login")
    page.fill("#username", user.username)
    page.fill("#password", PASSWORD)
    page.click("#submit")
    page.wait_for_url(f"{server}/")
    return page


def a_photo() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (800, 600), (230, 230, 220)).save(out, "JPEG")
    return out.getvalue()


def test_a_problem_from_the_checklist_is_closed_after_a_revisit(
        db, admin, make_user, make_department, make_project, server, chromium_browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    dept = make_department(code="RSJ", name="县人力资源和社会保障局")
    supervisor = make_user("supervisor", name="刘纪检")
    liaison = make_user("department", department=dept, name="人社局联络员")
    project = make_project(supervisor=supervisor, stage=Stage.construction,
                           name="衡东县印章产业园标准厂房")
    db.session.add_all([ChecklistTemplate(stage=Stage.construction, text=t, position=i)
                        for i, t in enumerate(["招投标程序是否合法合规，有无围标串标",
                                               "有无违法分包、转包、挂靠",
                                               "农民工工资是否按月足额支付"])])
    db.session.commit()

    # 1. The supervisor works the list from the project page and marks one line `problem`.
    sup = phone(chromium_browser, server, supervisor)
    sup.goto(f"{server}/projects/{project.id}")
    sup.click("#checklist-panel a:has-text('逐项核查')")
    sup.wait_for_url(f"**/projects/{project.id}/checklist")
    item = sup.locator(".checklist-item").nth(2)
    item.locator("summary").click()
    item.locator("label:has-text('发现问题')").click()
    assert item.locator(".problem-fields").is_visible()
    item.locator("textarea[name=note]").fill("抽查3月工资表，32名工人工资未发放，约40万元")
    item.locator("select[name=handling_class]").select_option("5")
    sup.screenshot(path=str(SHOTS / "loop-1-checklist-mark.png"), full_page=True)
    assert no_sideways_scroll(sup)
    item.locator("button[type=submit]").click()
    sup.wait_for_selector("text=并登记问题")
    sup.screenshot(path=str(SHOTS / "loop-2-checklist-problem.png"), full_page=True)

    db.session.rollback()  # end the test's read snapshot: see what the server wrote
    problem = db.session.scalar(sa.select(Problem))
    assert problem.checklist_item_id is not None and problem.status is ProblemStatus.open

    # 2. From the item's link to the problem; the supervisor hands it to the department.
    sup.click(f"a.linked-problem[href$='/problems/{problem.id}']")
    sup.wait_for_url(f"**/problems/{problem.id}")
    sup.click("#action-assign summary")
    sup.select_option("#assign-department_id", label="县人力资源和社会保障局")
    sup.select_option("#assign-handling_class", "5")
    sup.fill("#assign-comment", "请5个工作日内督促施工单位足额发放")
    sup.click("#action-assign button[type=submit]")
    sup.wait_for_selector("text=已交办")
    sup.screenshot(path=str(SHOTS / "loop-3-assigned.png"), full_page=True)
    assert no_sideways_scroll(sup)

    # 3. The liaison finds it on the problem list, accepts it and reports back.
    dep = phone(chromium_browser, server, liaison)
    dep.goto(f"{server}/problems/")
    dep.click(f"a[href$='/problems/{problem.id}']")
    dep.click("#action-accept summary")
    dep.click("#action-accept button[type=submit]")
    dep.wait_for_selector("text=已签收")
    dep.click("#action-report summary")
    dep.fill("#report-comment", "已督促施工单位补发3月工资40.2万元，工人签字确认")
    dep.set_input_files("#report-evidence", files=[
        {"name": "工资发放签字表.jpg", "mimeType": "image/jpeg", "buffer": a_photo()}])
    dep.click("#action-report button[type=submit]")
    dep.wait_for_selector("text=已反馈整改")
    assert "工资发放签字表" in dep.inner_text(".evidence")
    dep.screenshot(path=str(SHOTS / "loop-4-department-reported.png"), full_page=True)
    assert no_sideways_scroll(dep)

    # 4. The revisit on site (logged through the visits service), then the close on the page.
    from tracker.services import visits
    db.session.rollback()  # a fresh transaction: the server has written since our last read
    visits.log_visit(supervisor, project, visited_on=local_today(), kind="revisit",
                     summary="回访施工单位和工人代表，3月工资已补发到位")
    db.session.commit()
    sup.goto(f"{server}/problems/{problem.id}")
    sup.click("#action-close summary")
    sup.click("#action-close label:has-text('不满意') >> nth=0")
    sup.click("#action-close button[type=submit]")
    sup.wait_for_selector("#action-error")
    assert "回访未通过" in sup.inner_text("#action-error")
    sup.screenshot(path=str(SHOTS / "loop-5-close-refused.png"), full_page=True)
    sup.click("#action-close label:text-is('满意')")
    sup.fill("#close-comment", "回访企业和工人代表，确认已整改到位")
    sup.click("#action-close button[type=submit]")
    sup.wait_for_selector("text=已销号")
    sup.screenshot(path=str(SHOTS / "loop-6-closed.png"), full_page=True)
    assert no_sideways_scroll(sup)

    db.session.rollback()
    problem = db.session.get(Problem, problem.id)
    assert problem.status is ProblemStatus.closed and problem.satisfaction.value == "satisfied"
    actions = db.session.scalars(sa.select(ProblemEvent.action).where(
        ProblemEvent.problem_id == problem.id).order_by(ProblemEvent.id)).all()
    assert [a.value for a in actions] == ["record", "assign", "accept", "report", "close"]

    # 5. The project page shows the list's progress and no open problem.
    sup.goto(f"{server}/projects/{project.id}")
    panel = sup.inner_text("#checklist-panel")
    assert "已核查 1 / 3" in panel
    sup.locator("#checklist-panel").screenshot(path=str(SHOTS / "loop-7-project-progress.png"))
