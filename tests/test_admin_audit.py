"""The audit viewer: every recorded change in one read-only list, filtered, exported to Excel."""
import io
from datetime import date

import sqlalchemy as sa
from openpyxl import load_workbook

from tracker import workflow
from tracker.models import Risk, RiskCategory, RiskChange, RiskLevel, RiskStatus, Stage
from tracker.services import people, projects, settings


def _story(db, admin, make_user, make_department, make_project, make_problem):
    """A small history touching every source the viewer reads."""
    sup, other = make_user("supervisor", name="李监察"), make_user("supervisor", name="赵监察")
    dept = make_department(name="发改局")
    project = make_project(supervisor=sup, name="光伏产业园")
    problem = make_problem(project, "assigned", department=dept, title="审批超时")
    projects.assign_supervisor(admin, project, other, note="工作调整")
    projects.move_stage(admin, project, Stage.acceptance, changed_on=date.today(), reason="测试推进")
    risk = Risk(project_id=project.id, title="征地补偿纠纷", stage=Stage.construction,
                category=RiskCategory.land, level=RiskLevel.high, created_by_id=sup.id)
    db.session.add(risk)
    db.session.flush()
    db.session.add(RiskChange(risk_id=risk.id, actor_id=sup.id, to_level=RiskLevel.high,
                              to_status=RiskStatus.watching, reason="走访发现"))
    settings.set(admin, "yellow_card_threshold", 4)
    people.create(admin, username="newbie", name="新同事", role="viewer", password="start-pass-1")
    db.session.commit()
    return project, problem, sup, other


def test_the_viewer_shows_every_kind_of_change_and_filters_them(client, db, admin, login,
                                                                make_user, make_department,
                                                                make_project, make_problem):
    project, problem, sup, other = _story(db, admin, make_user, make_department, make_project,
                                          make_problem)
    client.post("/login", data={"username": "admin", "password": "wrong"})  # a refused sign-in
    login(admin)
    page = client.get("/admin/audit").get_data(as_text=True)
    for text in ("交办", "审批超时", "阶段变更", "指派纪检监察员", "赵监察", "修改设置",
                 "yellow_card_threshold：3 → 4", "新建用户", "新同事", "登录失败", "光伏产业园", "风险变化",
                 "征地补偿纠纷"):
        assert text in page, text

    only_settings = client.get("/admin/audit?category=setting").get_data(as_text=True)
    assert "yellow_card_threshold" in only_settings and "审批超时" not in only_settings
    problem_only = client.get(f"/admin/audit?object_type=problem&object_id={problem.id}")
    text = problem_only.get_data(as_text=True)
    assert "审批超时" in text and "修改设置" not in text
    by_sup = client.get(f"/admin/audit?actor_id={sup.id}").get_data(as_text=True)
    assert "征地补偿纠纷" in by_sup and "修改设置" not in by_sup
    future = client.get("/admin/audit?date_from=2099-01-01").get_data(as_text=True)
    assert "没有符合条件的记录" in future
    today = date.today().isoformat()
    assert "修改设置" in client.get(f"/admin/audit?date_from=2000-01-01&date_to={today}"
                                    ).get_data(as_text=True)
    # Bad filter input is shown, never a 500.
    assert client.get("/admin/audit?object_id=abc&date_to=someday&page=-3").status_code == 200


def test_the_viewer_exports_to_excel_and_edits_nothing(client, db, admin, login, make_user,
                                                       make_department, make_project,
                                                       make_problem):
    _, problem, _, _ = _story(db, admin, make_user, make_department, make_project, make_problem)
    login(admin)
    response = client.get("/admin/audit/export.xlsx?category=problem")
    assert response.status_code == 200
    ws = load_workbook(io.BytesIO(response.data)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:4] == ("时间", "操作人", "类别", "操作")
    assert {r[3] for r in rows[1:]} == {"登记", "交办"}
    assert client.post("/admin/audit").status_code == 405
    # A comment pasted with a control character Excel cannot hold: dropped, not a failed export.
    workflow.apply(problem, "comment", admin, comment="已电话\x0b督促")
    db.session.commit()
    response = client.get("/admin/audit/export.xlsx?category=problem")
    assert response.status_code == 200
    summaries = [r[7] for r in load_workbook(io.BytesIO(response.data)).active.iter_rows(
        min_row=2, values_only=True)]
    assert any("已电话督促" in (s or "") for s in summaries)


def test_a_page_of_the_viewer_runs_a_bounded_number_of_queries(app, client, db, admin, login,
                                                               make_user, make_department,
                                                               make_project, make_problem):
    from sqlalchemy import event

    _story(db, admin, make_user, make_department, make_project, make_problem)
    login(admin)
    counts = []

    def count(*_args):
        counts[-1] += 1

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        counts.append(0)
        client.get("/admin/audit")
        project = make_project()
        for _ in range(15):
            make_problem(project, "assigned", department=make_department())
        counts.append(0)
        client.get("/admin/audit")
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert counts[1] <= counts[0] + 1, counts


def test_odd_input_is_never_a_server_error(client, db, admin, login, make_department):
    dept = make_department()
    login(admin)
    for url in ("/admin/audit?date_from=0001-01-01&date_to=9999-12-31",
                "/admin/audit?actor_id=99999999999999999999&object_id=99999999999999999999",
                "/admin/audit?category=nonsense&object_type=nonsense&page=99999999",
                "/admin/users/99999999999999999999", "/admin/departments/99999999999",
                "/admin/calendar?year=abc", "/admin/calendar?year=99999",
                "/admin/users?role=boss&status=x&q=%F0%9F%98%80"):
        assert client.get(url).status_code in (200, 404), url
    response = client.post(f"/admin/departments/{dept.id}", data={
        "merge-survivor_id": "99999999999999", "merge-submit": "1"})
    assert response.status_code == 200 and "必填" in response.get_data(as_text=True)
    db.session.refresh(dept)
    assert dept.active
    response = client.post("/admin/users/new", data={
        "username": "x1", "name": "某", "role": "department", "department_id": "99999999999999",
        "password": "start-pass-1"})
    assert response.status_code == 200
    assert client.post("/admin/calendar/2027-02-30/delete").status_code == 404
