"""On a phone-sized browser (390×844) a supervisor logs a revisit with a photo that closes one
problem and reopens another — after a failed first try and a reload that brings the draft back —
and then sees it on the project page."""
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import ExifTags, Image

from tracker.models import Attachment, Problem, ProblemStatus, Visit

from .browser import BROWSER_TEST, chromium_browser, no_sideways_scroll, server  # noqa: F401 (fixtures)
from .conftest import PASSWORD, SHOTS

pytestmark = BROWSER_TEST

PHONE = {"width": 390, "height": 844}


def site_photo(path: Path) -> Path:
    image = Image.new("RGB", (3264, 2448), (150, 160, 170))
    for x in range(0, 3264, 200):
        image.paste((90, 110, 60), (x, 1200, x + 120, 2448))
    exif = Image.Exif()
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "N", (27.0, 4.0, 48.0)
    gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = "E", (112.0, 57.0, 0.0)
    image.save(path, "JPEG", exif=exif, quality=90)
    return path


def test_supervisor_logs_a_revisit_with_a_photo_on_a_phone(db, app, make_user, make_project,
                                                           make_department, make_problem,
                                                           server, chromium_browser, tmp_path):
    supervisor = make_user("supervisor", username="jjy_wang", name="王建国")
    dept = make_department(name="县住房和城乡建设局")
    project = make_project(supervisor=supervisor, name="城南污水处理厂二期", lat=27.08, lon=112.95)
    fixed = make_problem(project, ProblemStatus.rectified, department=dept,
                         title="施工现场围挡破损未修复")
    not_fixed = make_problem(project, ProblemStatus.rectified, department=dept,
                             title="农民工工资未按月足额发放")
    photo = site_photo(tmp_path / "IMG_0001.jpg")
    SHOTS.mkdir(parents=True, exist_ok=True)

    context = chromium_browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN",
        geolocation={"latitude": 27.0803, "longitude": 112.9504, "accuracy": 12},
        permissions=["geolocation"])
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    page.goto(f"{server}/login")
    page.fill("#username", supervisor.username)
    page.fill("#password", PASSWORD)
    page.click("#submit")
    page.wait_for_url(f"{server}/")

    # From the project page's visit panel to the form.
    page.goto(f"{server}/projects/{project.id}")
    page.click("#visits-panel a:has-text('登记走访')")
    page.wait_for_selector("#visit-form")
    assert page.locator("[data-revisit]").count() == 2
    page.wait_for_function("document.querySelector('#lat').value !== ''")  # permission granted
    assert page.input_value("#lat").startswith("27.0803")
    assert no_sideways_scroll(page)
    submit_box = page.locator("#submit-visit").bounding_box()
    assert submit_box["height"] >= 44
    page.screenshot(path=str(SHOTS / "visit-form.png"), full_page=True)

    # Typing, then the phone reloads the page: the draft is offered back.
    page.click("label[for='kind-1']")  # 跟踪回访
    page.fill("#people_met", "项目经理张伟、劳资专管员李红")
    page.fill("#summary", "回访围挡修复和工资发放情况，查看了工资台账。")
    page.click("label[for='revisits-0-outcome-1']")
    page.select_option("#revisits-0-satisfaction", "satisfied")
    page.fill("#revisits-0-comment", "围挡已全部更换")
    page.click("label[for='revisits-1-outcome-2']")
    page.select_option("#revisits-1-satisfaction", "dissatisfied")
    page.wait_for_timeout(400)  # the draft is saved a moment after typing stops
    page.reload()
    page.wait_for_selector("#draft-banner:not(.d-none)")
    assert page.input_value("#summary") == ""
    assert page.locator("#draft-banner").is_visible()
    page.screenshot(path=str(SHOTS / "visit-draft-offered.png"), full_page=False)
    page.click("[data-draft-restore]")
    assert page.input_value("#summary") == "回访围挡修复和工资发放情况，查看了工资台账。"
    assert page.is_checked("#revisits-1-outcome-2")
    assert page.input_value("#revisits-0-satisfaction") == "satisfied"

    # Reopen without a reason: refused, the message beside the reason, nothing written.
    page.set_input_files("#photos", str(photo))
    page.click("#submit-visit")
    page.wait_for_selector("#form-errors")
    feedback = page.locator("#revisits-1-comment ~ .invalid-feedback")
    assert "重新整改须说明原因" in feedback.inner_text()
    assert "照片和文件未保存" in page.inner_text("#visit-form")
    db.session.rollback()  # a fresh read, not the test's earlier snapshot
    assert db.session.scalar(sa.select(sa.func.count(Visit.id))) == 0
    page.locator("#revisits-1-comment").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "visit-error.png"), full_page=False)

    # Give the reason, pick the photo again, send.
    page.fill("#revisits-1-comment", "10月工资仍有12人未发放")
    page.set_input_files("#photos", str(photo))
    assert "IMG_0001.jpg" in page.inner_text("#file-summary")
    # The signal drops just before sending: the form stays, with its draft, and says so.
    context.set_offline(True)
    page.click("#submit-visit")
    page.wait_for_selector("#offline-note:not(.d-none)")
    assert page.input_value("#revisits-1-comment") == "10月工资仍有12人未发放"
    draft = page.evaluate(f"JSON.parse(localStorage.getItem('tracker.visitDraft.{supervisor.id}'))")
    assert draft["values"][f"revisit:{not_fixed.id}:comment"] == "10月工资仍有12人未发放"
    db.session.rollback()  # a fresh read, not the test's earlier snapshot
    assert db.session.scalar(sa.select(sa.func.count(Visit.id))) == 0
    context.set_offline(False)
    page.click("#submit-visit")
    page.wait_for_selector("[data-visit-saved]", state="attached")
    assert "走访记录已保存" in page.inner_text("main")
    assert dialogs and "将销号 1 个问题" in dialogs[-1]  # asked before closing on the revisit
    assert page.evaluate(f"localStorage.getItem('tracker.visitDraft.{supervisor.id}')") is None
    page.wait_for_selector(".attachments img")
    assert page.evaluate("document.querySelector('.attachments img').naturalWidth") > 0
    assert no_sideways_scroll(page)
    page.screenshot(path=str(SHOTS / "visit-saved.png"), full_page=True)

    db.session.rollback()  # end the test's read snapshot: see what the server wrote
    visit = db.session.scalars(sa.select(Visit)).one()
    assert visit.far_from_site is False and visit.lat == pytest.approx(27.0803)
    assert db.session.get(Problem, fixed.id).status is ProblemStatus.closed
    assert db.session.get(Problem, not_fixed.id).status is ProblemStatus.rectifying
    attachment = db.session.scalars(sa.select(Attachment)).one()
    assert attachment.exif["lat"] == pytest.approx(27.08, abs=1e-4)

    # The project page shows the visit in its timeline with both outcomes.
    page.goto(f"{server}/projects/{project.id}")
    panel = page.locator("#visits-panel")
    panel.scroll_into_view_if_needed()
    text = panel.inner_text()
    assert "跟踪回访" in text and "施工现场围挡破损未修复" in text and "销号" in text
    assert "农民工工资未按月足额发放" in text and "重新整改" in text
    assert no_sideways_scroll(page)
    panel.screenshot(path=str(SHOTS / "visit-project-timeline.png"))
    context.close()
