"""In a real browser, headquarters imports a project list, assigns a supervisor, moves a stage."""
from tracker.models import ChecklistTemplate, Stage

from .browser import BROWSER_TEST, chromium_browser, server  # noqa: F401 (fixtures)
from .conftest import PASSWORD, SHOTS
from .test_import import HEADERS_CN, xlsx

pytestmark = BROWSER_TEST


def test_admin_imports_assigns_and_moves_a_stage(db, admin, make_user, server, chromium_browser, tmp_path):
    make_user("supervisor", username="jjy_liu", name="刘晓东")
    make_user("supervisor", username="jjy_chen", name="陈静")
    db.session.add_all([ChecklistTemplate(stage=Stage.approval, text="各项审批在法定时限内办结", position=1),
                        ChecklistTemplate(stage=Stage.approval, text="不存在吃拿卡要、推诿扯皮", position=2)])
    db.session.commit()
    workbook = tmp_path / "2027年重点项目清单.xlsx"
    workbook.write_bytes(xlsx([
        HEADERS_CN,
        ["HD2027001", "衡东县智能制造产业园", "省重点", "产业项目", "１２０,０００", "县发展和改革局",
         "衡东县产业投资公司", "城关镇", "招商签约", ""],
        ["HD2027002", "衡东县第二人民医院迁建", "市重点", "社会民生", "35,800.5", "县卫健局", "县二医院",
         "大浦镇", "工程建设实施", "jjy_chen"],
    ]))
    browser = chromium_browser
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page.on("dialog", lambda dialog: dialog.accept())

    page.goto(f"{server}/login")
    page.fill("#username", admin.username)
    page.fill("#password", PASSWORD)
    page.click("#submit")
    page.wait_for_url(f"{server}/")

    # import: a bad file first shows each bad row and writes nothing
    page.goto(f"{server}/projects/import")
    bad = tmp_path / "bad.csv"
    bad.write_bytes(",".join(HEADERS_CN).encode("gbk") + b"\r\n" +
                    "X1,某项目,县重点,产业,-10,,,,试运营,\r\n".encode("gbk"))
    page.set_input_files("#file", str(bad))
    page.click("#import-submit")
    page.wait_for_selector("#import-errors")
    assert "总投资不能为负数" in page.inner_text("#import-errors")
    assert "未知阶段" in page.inner_text("#import-errors")
    page.screenshot(path=str(SHOTS / "projects-import-errors.png"), full_page=True)

    page.set_input_files("#file", str(workbook))
    page.click("#import-submit")
    page.wait_for_url(f"{server}/projects/")
    assert "新增 2 个项目" in page.inner_text("main")
    assert "衡东县智能制造产业园" in page.inner_text("table")
    page.screenshot(path=str(SHOTS / "projects-list.png"), full_page=True)

    # assign a supervisor on the project page
    page.click("text=衡东县智能制造产业园")
    page.select_option("#user_id", label="刘晓东（jjy_liu）")
    page.fill("#note", "新纳入重点项目")
    page.click("text=指派纪检监察员")
    page.wait_for_selector("text=已指派纪检监察员 刘晓东")
    assert "刘晓东" in page.inner_text("[data-current-supervisor]")

    # move on to the next stage
    page.click("summary:has-text('推进阶段')")
    page.select_option("#stage", "approval")
    page.fill("#stage-form textarea[name=note]", "投资协议已签订，进入审批落地阶段")
    page.click("text=确认变更阶段")
    page.wait_for_selector("text=项目已进入“审批落地开工”阶段")
    timeline = page.inner_text("#timeline")
    assert "审批落地开工" in timeline and "投资协议已签订" in timeline
    page.screenshot(path=str(SHOTS / "projects-show.png"), full_page=True)
    page.goto(f"{server}/projects/workload")
    assert "衡东县智能制造产业园" in page.inner_text("#workload")
    page.screenshot(path=str(SHOTS / "projects-workload.png"), full_page=True)
    page.go_back()

    # the same page on a phone
    phone = browser.new_page(viewport={"width": 360, "height": 780}, locale="zh-CN",
                             storage_state=page.context.storage_state())
    phone.goto(page.url)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    phone.screenshot(path=str(SHOTS / "projects-show-phone.png"), full_page=True)
    phone.goto(f"{server}/projects/")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    phone.screenshot(path=str(SHOTS / "projects-list-phone.png"), full_page=True)
