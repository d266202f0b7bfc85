"""Risk pages: the supervisor keeps a project's register from the project page; headquarters reads
the weekly risk view; readers read; a risk that happens becomes a problem."""
import re

import pytest
import sqlalchemy as sa

from tracker.models import Problem, Risk, RiskChange, RiskLevel, RiskStatus
from tracker.services import risks as service

from .conftest import PASSWORD


@pytest.fixture
def supervisor(make_user):
    return make_user("supervisor", name="赵监察")


@pytest.fixture
def project(make_project, supervisor):
    return make_project(supervisor=supervisor, name="县人民医院迁建")


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def signed_in(app):
    """A fresh browser session signed in as `user`."""
    def sign_in(user):
        browser = app.test_client()
        response = browser.post("/login", data={"username": user.username, "password": PASSWORD})
        assert response.status_code == 302
        return browser
    return sign_in


def test_supervisor_registers_and_rerates_from_the_project_page(db, client, login, supervisor,
                                                                project, make_department):
    dept = make_department(name="住建局")
    login(supervisor)
    page = client.get(f"/projects/{project.id}")
    assert page.status_code == 200 and "登记风险点" in text(page)

    form = client.get(f"/risks/new?project_id={project.id}")
    assert form.status_code == 200
    missing = client.post(f"/risks/new?project_id={project.id}", data={
        "title": "", "category": "safety", "level": "high", "stage": "construction"})
    assert missing.status_code == 400 and "请填写风险点" in text(missing)
    created = client.post(f"/risks/new?project_id={project.id}", data={
        "title": "高支模施工方案未论证", "description": "", "category": "safety", "level": "high",
        "stage": "construction", "department_id": str(dept.id), "reason": "走访发现"})
    assert created.status_code == 302 and created.location.endswith(f"/projects/{project.id}#risks")
    risk = db.session.scalars(sa.select(Risk)).one()
    assert (risk.level, risk.department_id) == (RiskLevel.high, dept.id)

    page = text(client.get(f"/projects/{project.id}"))
    assert "高支模施工方案未论证" in page and f'action="/risks/{risk.id}/rate"' in page

    # Re-rating without a reason is refused with the reason named, and nothing changes.
    refused = client.post(f"/risks/{risk.id}/rate", data={
        "level": "medium", "status": "watching", "reason": "", "version": risk.version},
        follow_redirects=True)
    assert "须说明理由" in text(refused)
    assert db.session.get(Risk, risk.id).level is RiskLevel.high

    done = client.post(f"/risks/{risk.id}/rate", data={
        "level": "medium", "status": "mitigated", "reason": "方案已通过专家论证",
        "version": risk.version}, follow_redirects=True)
    assert "已调整" in text(done)
    risk = db.session.get(Risk, risk.id)
    assert (risk.level, risk.status) == (RiskLevel.medium, RiskStatus.mitigated)

    story = text(client.get(f"/risks/{risk.id}"))
    assert "方案已通过专家论证" in story and "走访发现" in story and "降级" in story


def test_the_risk_page_edits_and_refuses_a_stale_form(db, client, login, supervisor, project):
    risk = service.create_risk(supervisor, project, title="结算审计滞后", category="settlement",
                               level="low")
    db.session.commit()
    login(supervisor)
    form = {"title": "结算审计严重滞后", "description": "审计局排期到明年", "category": "settlement",
            "stage": "construction", "department_id": "", "level": "low", "status": "watching",
            "reason": "", "version": str(risk.version)}
    assert client.post(f"/risks/{risk.id}/edit", data=form).status_code == 302
    risk = db.session.get(Risk, risk.id)
    assert (risk.title, risk.version) == ("结算审计严重滞后", 2)
    stale = client.post(f"/risks/{risk.id}/edit", data={**form, "version": "1", "level": "high",
                                                        "reason": "拖延"})
    assert stale.status_code == 400 and "已被他人更新" in text(stale)
    assert db.session.get(Risk, risk.id).level is RiskLevel.low


def test_readers_read_and_visibility_follows_the_project(db, signed_in, make_user,
                                                         make_department, supervisor, project):
    dept, other_dept = make_department(), make_department()
    risk = service.create_risk(supervisor, project, title="征地补偿款未足额到位", category="land",
                               level="high", department_id=dept.id)
    db.session.commit()

    viewer = signed_in(make_user("viewer"))
    page = viewer.get(f"/risks/{risk.id}")
    assert page.status_code == 200 and "征地补偿款未足额到位" in text(page)
    assert "调整风险点" not in text(page)
    assert viewer.post(f"/risks/{risk.id}/rate", data={"level": "low", "status": "watching",
                                                       "reason": "x"}).status_code == 403

    assert signed_in(make_user("department", department=dept)).get(
        f"/risks/{risk.id}").status_code == 200
    assert signed_in(make_user("department", department=other_dept)).get(
        f"/risks/{risk.id}").status_code == 404
    stranger = signed_in(make_user("supervisor"))
    assert stranger.get(f"/risks/{risk.id}").status_code == 404
    assert stranger.get(f"/risks/new?project_id={project.id}").status_code == 404
    assert "征地补偿款未足额到位" not in text(stranger.get("/risks/list"))
    assert "征地补偿款未足额到位" not in text(stranger.get("/risks/"))


def test_a_risk_that_happens_becomes_a_problem(db, client, login, supervisor, project):
    risk = service.create_risk(supervisor, project, title="工资拖欠风险", category="wages",
                               level="high")
    db.session.commit()
    login(supervisor)
    response = client.post(f"/risks/{risk.id}/problem",
                           data={"title": "总包拖欠工资 120 万元", "description": "工人聚集讨薪"})
    problem = db.session.scalars(sa.select(Problem)).one()
    assert response.status_code == 302 and response.location.endswith(f"/problems/{problem.id}")
    assert (problem.risk_id, problem.title) == (risk.id, "总包拖欠工资 120 万元")
    assert "总包拖欠工资 120 万元" in text(client.get(f"/risks/{risk.id}"))


def test_headquarters_weekly_view(db, client, login, admin, supervisor, project, make_project):
    other = make_project(supervisor=supervisor, name="产业园供水管网", stage="approval")
    service.create_risk(admin, project, title="深基坑", category="safety", level="high")
    low = service.create_risk(admin, other, title="用地指标", category="land", level="low")
    service.change_risk(admin, low, level="medium", reason="指标尚未下达")
    db.session.commit()
    login(admin)
    page = client.get("/risks/")
    assert page.status_code == 200
    html = text(page)
    # Projects by highest open level: the hospital (high) before the water mains (medium).
    assert html.index("县人民医院迁建") < html.index("产业园供水管网")
    assert re.search(r'id="week-new".*?fs-3 fw-semibold">2<', html, re.S)
    assert re.search(r'id="week-raised".*?fs-3 fw-semibold">1<', html, re.S)
    assert "指标尚未下达" in html
    for bad in ("2026-W99", "9999-W52", "0001-W01", "W47", "2026-W"):
        assert client.get(f"/risks/?week={bad}").status_code == 404
    past = text(client.get("/risks/?week=2020-W10"))
    assert "该周结束时没有未关闭的风险点" in past
    listed = text(client.get("/risks/list?level=high&open=1"))
    assert "深基坑" in listed and "用地指标" not in listed


@pytest.mark.sqlite_only
def test_the_chart_is_a_png(db, client, login, admin, project):
    service.create_risk(admin, project, title="深基坑", category="safety", level="high")
    db.session.commit()
    login(admin)
    response = client.get("/risks/chart.png?week=2026-W47")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.data[:8] == b"\x89PNG\r\n\x1a\n" and len(response.data) > 10_000


@pytest.mark.sqlite_only
def test_the_weekly_view_runs_a_bounded_number_of_queries(db, app, client, login, admin,
                                                          make_project):
    def queries_for(url):
        seen = []

        def count(*args):
            seen.append(1)
        with app.app_context():
            engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            assert client.get(url).status_code == 200
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    login(admin)
    project = make_project()
    for n in range(3):
        service.create_risk(admin, project, title=f"风险{n}", category="other", level="low")
    db.session.commit()
    few = (queries_for("/risks/"), queries_for("/risks/list"), queries_for(f"/projects/{project.id}"))
    for n in range(3):
        p = make_project()
        for m in range(5):
            r = service.create_risk(admin, p, title=f"风险{n}-{m}", category="land", level="high")
            service.change_risk(admin, r, status="mitigated", reason="缓解")
    db.session.commit()
    many = (queries_for("/risks/"), queries_for("/risks/list"), queries_for(f"/projects/{project.id}"))
    assert many == few
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RiskChange)) == 33


def test_the_visit_form_block_names_fields_and_shows_errors(db, app, supervisor, project,
                                                            make_user):
    from flask import render_template
    from flask_login import login_user

    from tracker.risks.panels import visit_rerate_panel

    risk = service.create_risk(supervisor, project, title="深基坑", category="safety", level="medium")
    closed = service.create_risk(supervisor, project, title="旧风险", category="other", level="low",
                                 status="closed")
    db.session.commit()
    with app.test_request_context("/visits/new", method="POST"):
        login_user(supervisor)
        formdata = {f"risks-{risk.id}-level": "high", f"risks-{risk.id}-reason": ""}
        html = render_template("risks/_visit_rerate.html", rerate=visit_rerate_panel(
            project, supervisor, formdata, {f"risks-{risk.id}-reason": "调整风险等级或状态须说明理由"}))
    assert f'name="risks-{risk.id}-level"' in html and f'name="risks-{risk.id}-version"' in html
    assert re.search(r'<option value="high" selected>', html)
    assert "调整风险等级或状态须说明理由" in html and "is-invalid" in html
    assert "旧风险" not in html and f"risks-{closed.id}-" not in html
    assert visit_rerate_panel(project, make_user("viewer"))["rows"] == []
