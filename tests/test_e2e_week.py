"""One week in the county, end to end in a real browser against a live server on a real SQLite
file, with CSRF on as in production:

admin imports the key projects from an Excel file and assigns the supervisors → a supervisor, on a
phone, works the supervision list and logs a visit that raises a problem with a photo → admin hands
the problem to a department → the liaison accepts it and reports back → the supervisor revisits and
closes it with the enterprise's rating → a leader reads the dashboard and downloads the weekly pack.

Every step is saved as a screenshot at phone and desktop size (SHOTS, from conftest), and the main
pages are checked with axe-core for serious or critical accessibility violations."""
import io
import threading
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from tracker.calendar import local_today
from tracker.models import (Attachment, ChecklistTemplate, Problem, ProblemEvent, ProblemStatus,
                            Project, Stage, Visit)

from .browser import BROWSER_TEST, PHONE, chromium_browser, no_sideways_scroll  # noqa: F401
from .conftest import PASSWORD, SHOTS

DESKTOP = {"width": 1280, "height": 860}
AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"

pytestmark = BROWSER_TEST


@pytest.fixture
def server(app):
    """The live server with CSRF on, as in production (the other tests switch it off)."""
    app.config["WTF_CSRF_ENABLED"] = True
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()


class Walk:
    """The browser pages of the story, the screenshots they leave and the accessibility check."""

    def __init__(self, browser, server):
        self.browser, self.server = browser, server
        self.violations: dict[str, list] = {}
        self.dialogs: list[str] = []  # every confirmation asked, accepted as the user would
        self.contexts = []

    def sign_in(self, user, viewport=DESKTOP):
        mobile = viewport is PHONE
        context = self.browser.new_context(viewport=viewport, locale="zh-CN", is_mobile=mobile,
                                           has_touch=mobile, device_scale_factor=2 if mobile else 1,
                                           accept_downloads=True, bypass_csp=True)  # axe is injected
        self.contexts.append(context)
        page = context.new_page()
        page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.accept()))
        page.goto(f"{self.server}/login")
        self.check(page, "sign-in")
        page.fill("#username", user.username)
        page.fill("#password", PASSWORD)
        page.click("#submit")
        page.wait_for_url(f"{self.server}/")
        return page

    def go(self, page, path):
        page.goto(f"{self.server}{path}")
        assert no_sideways_scroll(page), f"{path} is wider than the screen"

    def shot(self, page, name, focus=None):
        """The page as it is, at phone and at desktop size, then back to its own size; the
        whole page, or the screen from the `focus` element down."""
        own = page.viewport_size
        page.evaluate("document.querySelectorAll('img[loading=lazy]').forEach(i => i.loading = 'eager')")
        for label, size in (("phone", PHONE), ("desktop", DESKTOP)):
            page.set_viewport_size(size)
            page.wait_for_function("Array.from(document.images).every(i => i.complete)")
            if size is PHONE:
                assert no_sideways_scroll(page), f"{name} is wider than a phone"
            if focus:
                page.locator(focus).first.evaluate("e => e.scrollIntoView({block: 'start'})")
            page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=focus is None)
        page.set_viewport_size(own)

    def check(self, page, name):
        """axe-core on the page as it is: note every serious or critical violation."""
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            page.add_script_tag(path=str(AXE))
        result = page.evaluate("""async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                .map(v => ({id: v.id, impact: v.impact, help: v.help,
                            nodes: v.nodes.slice(0, 4).map(n => n.target.join(' ') + ' | '
                                + ((n.any[0] || n.all[0] || {}).message || '').slice(0, 160))}));
        }""")
        if result:
            self.violations[name] = result

    def close(self):
        for context in self.contexts:
            context.close()


def projects_workbook() -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["2026年衡东县重点项目清单"])  # a title row above the headers, as in the county
    sheet.append(["项目编号", "项目名称", "项目级别", "项目类别", "总投资（万元）", "责任单位",
                  "业主单位", "项目地点", "当前阶段", "纪检监察员"])
    sheet.append(["HD2026-001", "衡东县印章产业园标准厂房", "市重点", "产业", "52,000",
                  "县工业园管委会", "衡东县城发集团", "衡东县大浦镇", "工程建设实施", ""])
    sheet.append(["HD2026-002", "城南污水处理厂二期", "县重点", "基础设施", "１８６００",
                  "县住房和城乡建设局", "衡东县水务公司", "衡东县城关镇", "工程建设实施", ""])
    sheet.append([None] * 10)  # a blank row is ignored
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def a_photo() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (1200, 900), (150, 160, 170)).save(out, "JPEG", quality=80)
    return out.getvalue()


def test_one_week_in_the_county(db, app, admin, make_user, make_department, server,
                                chromium_browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    admin.name = "县纪委监委办公室"
    dept = make_department(code="RSJ", name="县人力资源和社会保障局")
    liu = make_user("supervisor", username="jjy_liu", name="刘纪检")
    wang = make_user("supervisor", username="jjy_wang", name="王建国")
    liaison = make_user("department", username="rsj_li", department=dept, name="李联络")
    leader = make_user("viewer", username="leader_zhao", name="赵书记")
    db.session.add_all([ChecklistTemplate(stage=Stage.construction, text=t, position=i)
                        for i, t in enumerate(["招投标程序是否合法合规，有无围标串标",
                                               "有无违法分包、转包、挂靠",
                                               "农民工工资是否按月足额支付"])])
    db.session.commit()
    walk = Walk(chromium_browser, server)
    try:
        _play_the_week(walk, db, server, admin, liu, wang, liaison, leader, dept)
    finally:
        walk.close()
    assert walk.violations == {}, "\n".join(
        f"{page}: {v['impact']} {v['id']} ({v['help']}): {node}"
        for page, found in walk.violations.items() for v in found for node in v["nodes"])


def _play_the_week(walk, db, server, admin, liu, wang, liaison, leader, dept):
    # 1. Admin imports the county's key projects from the spreadsheet.
    hq = walk.sign_in(admin)
    assert hq.request.post(f"{server}/logout").status == 400  # CSRF on: a post without its token
    walk.check(hq, "my-work-admin")
    walk.go(hq, "/projects/import")
    hq.set_input_files("#file", files=[{
        "name": "2026年重点项目.xlsx", "buffer": projects_workbook(),
        "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}])
    hq.click("#import-submit")
    hq.wait_for_url(f"{server}/projects/")
    assert "新增 2 个项目" in hq.inner_text(".alert-success")
    walk.check(hq, "project-list")
    walk.shot(hq, "e2e-01-import")
    db.session.rollback()  # a fresh read: see what the server wrote
    plant, sewage = (db.session.scalars(sa.select(Project).order_by(Project.code)).all())
    assert plant.name == "衡东县印章产业园标准厂房" and plant.investment_wan == 52000
    assert sewage.investment_wan == 18600 and plant.supervisor_id is None

    # 2. … and assigns one supervisor to each project on the project's page.
    for project, supervisor in ((plant, liu), (sewage, wang)):
        walk.go(hq, f"/projects/{project.id}")
        hq.select_option("#supervisor form select", label=f"{supervisor.name}（{supervisor.username}）")
        hq.click("#supervisor form button[type=submit]")
        hq.wait_for_selector(f"[data-current-supervisor]:has-text('{supervisor.name}')")
    walk.check(hq, "project-page")
    walk.shot(hq, "e2e-02-supervisor-assigned")
    db.session.rollback()
    assert db.session.get(Project, plant.id).supervisor_id == liu.id

    # 3. The supervisor, on a phone, sees the project and works its supervision list.
    sup = walk.sign_in(liu, PHONE)
    walk.check(sup, "my-work-supervisor")
    walk.go(sup, f"/projects/{plant.id}")
    assert "衡东县印章产业园标准厂房" in sup.inner_text("main")
    sup.click("#checklist-panel a:has-text('逐项核查')")
    sup.wait_for_url(f"**/projects/{plant.id}/checklist")
    for index, result in ((0, "ok"), (1, "na")):
        item = sup.locator(".checklist-item").nth(index)
        item.locator("summary").click()
        item.locator(f"label[for$='-{result}']").click()
        item.locator("textarea[name=note]").fill("查阅招标文件和分包合同，未见异常" if index == 0
                                                 else "本项目无分包")
        item.locator("button[type=submit]").click()
        sup.wait_for_load_state()
        sup.wait_for_selector(".alert-success")
    walk.shot(sup, "e2e-03-checklist")
    walk.go(sup, f"/projects/{plant.id}")
    assert "已核查 2 / 3" in sup.inner_text("#checklist-panel")

    # 4. … and logs a field visit that raises a wage problem, with a photo.
    sup.click("#visits-panel a:has-text('登记走访')")
    sup.wait_for_selector("#visit-form")
    walk.check(sup, "visit-form")
    sup.fill("#people_met", "项目经理张伟、劳资专管员李红")
    sup.fill("#summary", "查看工资专户和考勤表，3月工资未按时发放。")
    sup.fill("#new_problems-0-title", "农民工3月工资未按月足额发放")
    sup.fill("#new_problems-0-description", "32名工人3月工资约40万元未发放")
    sup.select_option("#new_problems-0-handling_class", "5")
    sup.set_input_files("#photos", files=[{"name": "工资专户.jpg", "mimeType": "image/jpeg",
                                           "buffer": a_photo()}])
    walk.shot(sup, "e2e-04-visit-form", focus="[data-new-problem]")
    sup.click("#submit-visit")
    sup.wait_for_selector("[data-visit-saved]", state="attached")
    assert "走访记录已保存" in sup.inner_text("main")
    sup.wait_for_selector(".attachments img")
    walk.shot(sup, "e2e-05-visit-saved")
    db.session.rollback()
    problem = db.session.scalars(sa.select(Problem)).one()
    visit = db.session.scalars(sa.select(Visit)).one()
    assert problem.status is ProblemStatus.open and problem.project_id == plant.id
    assert db.session.scalar(sa.select(sa.func.count(Attachment.id))) == 1
    assert visit.kind.value == "routine"

    # 5. Admin hands the problem to the department (交办) with the 1510 class.
    walk.go(hq, "/problems/")
    walk.check(hq, "problem-list")
    hq.click(f"a[href$='/problems/{problem.id}']")
    hq.wait_for_url(f"**/problems/{problem.id}")
    walk.check(hq, "problem-page")
    hq.click("#action-assign summary")
    hq.select_option("#assign-department_id", label="县人力资源和社会保障局")
    hq.select_option("#assign-handling_class", "5")
    hq.fill("#assign-comment", "请5个工作日内督促施工单位足额发放")
    hq.click("#action-assign button[type=submit]")
    hq.wait_for_selector(".alert-success")
    assert "已交办县人力资源和社会保障局，整改期限" in hq.inner_text(".alert-success")
    walk.shot(hq, "e2e-06-assigned")
    db.session.rollback()
    problem = db.session.get(Problem, problem.id)
    assert problem.status is ProblemStatus.assigned and problem.department_id == dept.id
    assert problem.due_on is not None and problem.due_on > local_today()

    # 6. The liaison finds it in their work, accepts it (签收) and reports back (反馈).
    dep = walk.sign_in(liaison, PHONE)
    walk.check(dep, "my-work-department")
    assert "农民工3月工资未按月足额发放" in dep.inner_text("main")
    walk.go(dep, f"/problems/{problem.id}")
    dep.click("#action-accept summary")
    dep.click("#action-accept button[type=submit]")
    dep.wait_for_selector("text=已签收")
    walk.check(dep, "problem-page-department")
    dep.click("#action-report summary")
    dep.fill("#report-comment", "已督促施工单位补发3月工资40.2万元，工人签字确认")
    dep.set_input_files("#report-evidence", files=[
        {"name": "工资发放签字表.jpg", "mimeType": "image/jpeg", "buffer": a_photo()}])
    dep.click("#action-report button[type=submit]")
    dep.wait_for_selector("text=已反馈整改")
    assert "待回访" in dep.inner_text("main")
    walk.shot(dep, "e2e-07-reported")

    # 7. The ball is in the supervisor's court: revisit on site and close it (销号) with the
    #    enterprise's rating.
    walk.go(sup, "/")
    waiting = sup.locator("main li, main .list-group-item").filter(has_text="农民工3月工资未按月足额发放")
    assert "待回访" in waiting.first.inner_text()
    walk.go(sup, f"/visits/new?project_id={plant.id}")
    assert sup.locator("[data-revisit]").count() == 1
    sup.click("label[for='kind-1']")  # 跟踪回访
    sup.fill("#summary", "回访施工单位和工人代表，3月工资已补发到位。")
    sup.click("label[for='revisits-0-outcome-1']")  # 销号
    sup.select_option("#revisits-0-satisfaction", "satisfied")
    sup.fill("#revisits-0-comment", "工人代表确认已足额领取")
    walk.shot(sup, "e2e-08-revisit", focus="[data-revisit]")
    sup.click("#submit-visit")
    sup.wait_for_selector("[data-visit-saved]", state="attached")
    assert "将销号 1 个问题" in walk.dialogs[-1]  # the irreversible step was confirmed first
    walk.go(sup, f"/problems/{problem.id}")
    assert "已销号" in sup.inner_text("main")
    shown = sup.eval_on_selector_all(".timeline-event", "els => els.map(e => e.dataset.action)")
    assert shown == ["record", "assign", "accept", "report", "close"]  # the log, on the page
    walk.shot(sup, "e2e-09-closed")
    db.session.rollback()
    problem = db.session.get(Problem, problem.id)
    assert problem.status is ProblemStatus.closed and problem.satisfaction.value == "satisfied"
    actions = db.session.scalars(sa.select(ProblemEvent.action).where(
        ProblemEvent.problem_id == problem.id).order_by(ProblemEvent.id)).all()
    assert [a.value for a in actions] == ["record", "assign", "accept", "report", "close"]

    # 8. The leader reads the dashboard: one problem, closed, on time.
    lead = walk.sign_in(leader)
    walk.check(lead, "my-work-viewer")
    walk.go(lead, "/dashboard/")
    walk.check(lead, "dashboard")
    cards = lead.inner_text(".headline-cards")
    assert "100.0%" in cards and "已销号 1 个" in cards
    stage_row = lead.locator("tr:has(th:text-is('工程建设实施'))").first.inner_text()
    assert "100.0%" in stage_row
    walk.shot(lead, "e2e-10-dashboard")

    # 9. … and downloads this week's pack: charts as PNG, one PDF and the Excel ledger.
    week = "%d-W%02d" % local_today().isocalendar()[:2]
    lead.fill("#week", week)
    with lead.expect_download() as download_info:
        lead.click("form[action$='/dashboard/weekly.zip'] button[type=submit]")
    pack = zipfile.ZipFile(io.BytesIO(Path(download_info.value.path()).read_bytes()))
    names = pack.namelist()
    assert any(n.endswith(".pdf") for n in names), names
    assert sum(n.endswith(".png") for n in names) >= 4, names
    ledger = [n for n in names if n.endswith(".xlsx")]
    assert len(ledger) == 1
    from openpyxl import load_workbook
    cells = [str(c) for row in load_workbook(io.BytesIO(pack.read(ledger[0]))).active.iter_rows(
        values_only=True) for c in row if c is not None]
    assert "农民工3月工资未按月足额发放" in cells

    # The other main pages, for the accessibility check.
    walk.go(lead, "/risks/")
    walk.check(lead, "risks")
    walk.go(hq, "/admin/users")
    walk.check(hq, "admin-users")
