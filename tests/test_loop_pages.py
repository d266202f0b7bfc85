"""The closed loop through the pages, as the supervisor, the department liaison and headquarters
click through it; and the problem list page with its filters, tabs and overdue marks."""
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tracker.calendar import load_calendar, local_today
from tracker.models import Problem, ProblemEvent, ProblemStatus

from .conftest import PASSWORD


@pytest.fixture
def browser_for(app):
    """A signed-in test client per user (each keeps its own session cookie)."""
    def sign_in(user):
        client = app.test_client()
        response = client.post("/login", data={"username": user.username, "password": PASSWORD})
        assert response.status_code == 302
        return client
    return sign_in


def version_of(html: str, action: str) -> str:
    form = html[html.index(f'id="action-{action}"'):]
    return re.search(r'name="version" value="(\d+)"', form).group(1)


def test_whole_loop_through_the_pages(db, admin, make_user, make_project, make_department,
                                      browser_for):
    dept = make_department(name="人社局")
    supervisor, liaison = make_user("supervisor", name="李监察"), make_user("department", department=dept)
    project = make_project(supervisor=supervisor, name="产业园标准厂房")
    sup, dep = browser_for(supervisor), browser_for(liaison)

    form = sup.get(f"/problems/new?project_id={project.id}")
    assert form.status_code == 200 and "登记问题" in form.get_data(as_text=True)
    created = sup.post(f"/problems/new?project_id={project.id}", data={
        "title": "施工单位拖欠农民工工资", "description": "3月工资未发", "source": "visit",
        "stage": project.stage.value, "handling_class": ""})
    assert created.status_code == 302
    pid = int(created.headers["Location"].rstrip("/").split("/")[-1])

    def act(client, action, expect=302, **data):
        page = client.get(f"/problems/{pid}").get_data(as_text=True)
        data.setdefault("version", version_of(page, action))
        response = client.post(f"/problems/{pid}/actions/{action}", data=data)
        assert response.status_code == expect, response.get_data(as_text=True)[:2000]
        return response

    page = sup.get(f"/problems/{pid}").get_data(as_text=True)
    assert 'id="action-assign"' in page and 'id="action-accept"' not in page
    act(sup, "assign", department_id=str(dept.id), handling_class="5", comment="请尽快整改")
    problem = db.session.get(Problem, pid)
    assert problem.due_on == load_calendar(db.session).add_working_days(local_today(), 5)

    # The liaison sees exactly accept (and the actions always open to the lead department).
    page = dep.get(f"/problems/{pid}").get_data(as_text=True)
    assert 'id="action-accept"' in page and 'id="action-assign"' not in page
    act(dep, "accept")
    act(dep, "report", comment="已补发工资，附工资表")

    refused = act(sup, "close", expect=400, satisfaction="dissatisfied", comment="企业反映仍拖欠")
    text = refused.get_data(as_text=True)
    assert "回访未通过" in text and 'id="action-error"' in text
    assert db.session.get(Problem, pid).status is ProblemStatus.rectified

    act(sup, "reopen", comment="回访企业不满意，4月工资仍未发放", satisfaction="dissatisfied")
    act(dep, "report", comment="4月工资已全部发放")
    act(sup, "close", satisfaction="satisfied", comment="回访企业满意")

    problem = db.session.get(Problem, pid)
    assert problem.status is ProblemStatus.closed and problem.closed_at is not None
    actions = db.session.scalars(sa.select(ProblemEvent.action).where(
        ProblemEvent.problem_id == pid).order_by(ProblemEvent.id)).all()
    assert [a.value for a in actions] == [
        "record", "assign", "accept", "report", "reopen", "report", "close"]
    story = sup.get(f"/problems/{pid}").get_data(as_text=True)
    assert story.count('class="timeline-event"') == 7
    assert "已销号" in story and "满意" in story and "李监察" in story
    # Closed: only admin may reopen; the supervisor can still leave a comment.
    assert 'id="action-reopen"' not in story and 'id="action-comment"' in story


def test_refused_and_stale_actions_show_why_and_change_nothing(db, admin, make_user, make_project,
                                                               make_department, make_problem,
                                                               browser_for):
    dept = make_department()
    supervisor = make_user("supervisor")
    problem = make_problem(make_project(supervisor=supervisor), "rectified", department=dept)
    sup = browser_for(supervisor)
    before = problem.version
    stale = sup.post(f"/problems/{problem.id}/actions/close",
                     data={"version": str(before - 1), "satisfaction": "satisfied"})
    assert stale.status_code == 409 and "已被他人更新" in stale.get_data(as_text=True)
    missing = sup.post(f"/problems/{problem.id}/actions/reopen", data={"version": str(before)})
    assert missing.status_code == 400 and "必填" in missing.get_data(as_text=True)
    wrong_state = sup.post(f"/problems/{problem.id}/actions/assign",
                           data={"department_id": str(dept.id), "handling_class": "5"})
    assert wrong_state.status_code in (403, 409)
    db.session.refresh(problem)
    assert problem.version == before and problem.status is ProblemStatus.rectified


def test_problem_list_filters_tabs_and_overdue_age(db, admin, make_user, make_project,
                                                   make_department, make_problem, browser_for):
    dept, other_dept = make_department(name="自然资源局"), make_department(name="财政局")
    project = make_project(name="高铁新城片区开发")
    late = make_problem(project, "rectifying", department=dept, title="用地报批超时")
    late.due_on = local_today() - timedelta(days=14)
    make_problem(project, "open", title="招标文件设置不合理条件")
    make_problem(make_project(), "closed", department=other_dept, title="结算资金拨付滞后")
    db.session.commit()
    web = browser_for(admin)

    page = web.get("/problems/").get_data(as_text=True)
    assert "用地报批超时" in page and "结算资金拨付滞后" in page
    days = load_calendar(db.session).working_days_between(late.due_on, local_today())
    assert f"逾期 {days} 个工作日" in page
    # Tabs count per status with the other filters applied.
    page = web.get(f"/problems/?project_id={project.id}").get_data(as_text=True)
    assert re.search(r"整改中 <span class=\"badge status-rectifying\">1</span>", page)
    assert re.search(r"已销号 <span class=\"badge status-closed\">0</span>", page)
    assert "结算资金拨付滞后" not in page

    def titles(query):
        html = web.get("/problems/?" + query).get_data(as_text=True)
        return {t for t in ("用地报批超时", "招标文件设置不合理条件", "结算资金拨付滞后") if t in html}

    assert titles("overdue=1") == {"用地报批超时"}
    assert titles("status=open") == {"招标文件设置不合理条件"}
    assert titles(f"department_id={other_dept.id}") == {"结算资金拨付滞后"}
    assert titles("source=other&handling_class=5") == {"用地报批超时", "结算资金拨付滞后"}
    assert titles("escalated=1") == set()
    assert titles("stage=signing") == set()
    assert titles("q=招标") == {"招标文件设置不合理条件"}
    assert titles("status=bogus&project_id=x") == {"用地报批超时", "招标文件设置不合理条件",
                                                  "结算资金拨付滞后"}


def test_department_user_sees_only_their_problems(db, admin, make_user, make_project,
                                                  make_department, make_problem, browser_for):
    mine, theirs = make_department(), make_department()
    liaison = make_user("department", department=mine)
    project = make_project()
    own = make_problem(project, "assigned", department=mine, title="本单位问题")
    other = make_problem(project, "assigned", department=theirs, title="他单位问题")
    web = browser_for(liaison)
    page = web.get("/problems/").get_data(as_text=True)
    assert "本单位问题" in page and "他单位问题" not in page
    assert web.get(f"/problems/{other.id}").status_code == 404
    assert web.get(f"/problems/{own.id}").status_code == 200
    assert web.get(f"/problems/new?project_id={project.id}").status_code == 403


def test_list_page_runs_a_fixed_number_of_queries(db, admin, make_project, make_department,
                                                  make_problem, browser_for):
    web = browser_for(admin)
    dept = make_department()

    def count_queries() -> int:
        seen = []

        def listener(*args):
            seen.append(1)
        engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", listener)
        try:
            assert web.get("/problems/?overdue=&status=").status_code == 200
        finally:
            sa.event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    make_problem(make_project(), "assigned", department=dept)
    few = count_queries()
    for _ in range(12):
        make_problem(make_project(), "rectifying", department=make_department())
    assert count_queries() == few


def test_report_carries_evidence_and_a_refused_file_writes_nothing(
        app, db, admin, make_user, make_project, make_department, make_problem, browser_for):
    import io

    from PIL import Image

    from tracker.models import Attachment

    dept = make_department()
    liaison = make_user("department", department=dept)
    problem = make_problem(make_project(), "rectifying", department=dept)
    web = browser_for(liaison)
    photo = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 40)).save(photo, "JPEG")

    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    refused = web.post(f"/problems/{problem.id}/actions/report", data={
        "version": str(problem.version), "comment": "已整改",
        "evidence": [(io.BytesIO(svg), "evil.svg")]}, content_type="multipart/form-data")
    assert refused.status_code == 400 and "evil.svg" in refused.get_data(as_text=True)
    db.session.refresh(problem)
    assert problem.status is ProblemStatus.rectifying
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 0

    photo.seek(0)
    done = web.post(f"/problems/{problem.id}/actions/report", data={
        "version": str(problem.version), "comment": "已整改，附现场照片",
        "evidence": [(photo, "现场照片.jpg")]}, content_type="multipart/form-data")
    assert done.status_code == 302
    attachment = db.session.scalar(sa.select(Attachment))
    assert attachment.problem_id == problem.id and attachment.uploaded_by_id == liaison.id
    page = web.get(f"/problems/{problem.id}").get_data(as_text=True)
    assert "现场照片" in page
    served = web.get(f"/visits/files/{attachment.id}")
    assert served.status_code == 200 and served.headers["Content-Type"].startswith("image/")
    # Someone who may not see the problem may not fetch its evidence either.
    stranger = browser_for(make_user("department", department=make_department()))
    assert stranger.get(f"/visits/files/{attachment.id}").status_code == 404


def test_problem_page_runs_a_fixed_number_of_queries(db, admin, make_user, make_project,
                                                     make_department, make_problem, browser_for):
    from tracker import workflow

    web = browser_for(admin)
    problem = make_problem(make_project(), "rectifying", department=make_department())

    def count_queries() -> int:
        seen = []
        listener = lambda *args: seen.append(1)  # noqa: E731
        sa.event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert web.get(f"/problems/{problem.id}").status_code == 200
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    few = count_queries()
    for i in range(10):  # a long story by many hands
        workflow.apply(problem, "comment", make_user("admin"), comment=f"督促{i}")
    db.session.commit()
    assert count_queries() == few

