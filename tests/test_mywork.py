"""My work (ball in court): each role sees what waits on it now, most urgent first, on the page
and at GET /api/v1/my-work; leader instructions reach the supervisor and the lead department."""
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tracker import workflow
from tracker.calendar import load_calendar, local_today
from tracker.models import (ChecklistItem, ChecklistTemplate, ProblemStatus as S, Stage,
                            SupervisorAssignment, Visit, VisitKind, utcnow)

ITEM_KEYS = {"kind", "title", "due_on", "overdue_days"}


def set_due(db, problem, admin, day):
    workflow.apply(problem, "set_due", admin, due_on=day.isoformat(), comment="测试调整期限")
    db.session.commit()


@contextmanager
def count_queries(db):
    statements = []

    def before(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", before)


@pytest.fixture
def scene(db, admin, make_user, make_department, make_project, make_problem):
    """A department with one problem of each kind, a co-department, a supervisor."""
    cal = load_calendar(db.session)
    today = local_today()
    dept, co_dept = make_department(name="县住房和城乡建设局"), make_department(name="县财政局")
    sup = make_user("supervisor", name="刘志强")
    project = make_project(supervisor=sup, name="衡东县城区老旧小区改造")
    to_accept = make_problem(project, S.assigned, department=dept, title="待签收的问题")
    # the county's finance bureau helps (协办) on this one
    to_report = workflow.record(project, admin, title="整改中的问题")
    workflow.apply(to_report, "assign", admin, department_id=dept.id, handling_class=5,
                   co_department_ids=[co_dept.id])
    workflow.apply(to_report, "accept", admin)
    due_soon = make_problem(project, S.rectifying, department=dept, title="明天到期的问题")
    set_due(db, due_soon, admin, cal.add_working_days(today, 1))
    overdue = make_problem(project, S.assigned, department=dept, title="逾期未签收的问题")
    set_due(db, overdue, admin, today - timedelta(days=10))
    other = make_problem(project, S.assigned, department=co_dept, title="别的单位的问题")
    db.session.commit()
    return dict(cal=cal, today=today, dept=dept, co_dept=co_dept, sup=sup, project=project,
                to_accept=to_accept, to_report=to_report, due_soon=due_soon, overdue=overdue,
                other=other, dept_user=make_user("department", department=dept),
                co_user=make_user("department", department=co_dept))


def test_department_sees_what_to_accept_report_and_what_is_late_first(client, scene, token_for):
    s = scene
    body = client.get("/api/v1/my-work", headers=token_for(s["dept_user"])).get_json()
    items = body["items"]
    assert set(body) == {"items"}
    for item in items:
        assert set(item) == ITEM_KEYS | {"problem_id"}
    kinds = [(i["kind"], i["problem_id"]) for i in items]
    assert kinds == [("overdue", s["overdue"].id), ("due_soon", s["due_soon"].id),
                     ("to_accept", s["to_accept"].id), ("to_report", s["to_report"].id)]
    late = items[0]
    assert late["due_on"] == (s["today"] - timedelta(days=10)).isoformat()
    assert late["overdue_days"] == s["cal"].working_days_between(
        s["today"] - timedelta(days=10), s["today"]) > 0
    assert items[1]["overdue_days"] == 0
    assert s["other"].id not in {i["problem_id"] for i in items}


def test_co_department_sees_the_problem_but_nothing_waits_on_it(client, db, scene, token_for,
                                                                login):
    s = scene
    headers = token_for(s["co_user"])
    items = client.get("/api/v1/my-work", headers=headers).get_json()["items"]
    assert [i["problem_id"] for i in items] == [s["other"].id]  # its own lead problem only
    # it sees the co-department problem …
    assert client.get(f"/api/v1/problems/{s['to_report'].id}", headers=headers).status_code == 200
    # … may comment on it, but not act on it
    report = client.post(f"/api/v1/problems/{s['to_report'].id}/transitions", headers=headers,
                         json={"action": "report", "comment": "协办单位代为反馈"})
    assert report.status_code == 403
    assert report.get_json()["error"]["code"] == "forbidden"
    db.session.refresh(s["to_report"])
    assert s["to_report"].status is S.rectifying
    comment = client.post(f"/api/v1/problems/{s['to_report'].id}/transitions", headers=headers,
                          json={"action": "comment", "comment": "已配合提供资料"})
    assert comment.status_code == 200
    assert workflow.available_actions(s["to_report"], s["co_user"]) == [workflow.Action.comment]


def test_department_page_lists_the_same_items(client, scene, login):
    s = scene
    login(s["dept_user"])
    html = client.get("/").get_data(as_text=True)
    assert "我的工作" in html
    positions = [html.index(p.title) for p in (s["overdue"], s["due_soon"], s["to_accept"],
                                                s["to_report"])]
    assert positions == sorted(positions)
    assert "已逾期" in html and "即将到期" in html and "待签收" in html and "待反馈整改" in html
    assert s["other"].title not in html
    only_late = client.get("/?kind=overdue").get_data(as_text=True)
    assert s["overdue"].title in only_late and s["to_accept"].title not in only_late
    assert 'id="kind-filter"' in only_late


def test_supervisor_work_revisits_assignments_checklist_and_stale_projects(
        client, db, admin, make_user, make_project, make_problem, make_department, token_for):
    sup = make_user("supervisor")
    dept = make_department()
    busy = make_project(supervisor=sup, name="近期走访过的项目")
    stale = make_project(supervisor=sup, name="长期未走访的项目")
    make_project(supervisor=make_user("supervisor"), name="别人的项目")
    revisit = make_problem(busy, S.rectified, department=dept, title="待回访问题")
    to_assign = make_problem(busy, S.open, title="待交办问题")
    make_problem(busy, S.rectifying, department=dept, title="部门整改中")
    template = ChecklistTemplate(stage=Stage.construction, text="农民工工资按时足额支付")
    old_template = ChecklistTemplate(stage=Stage.approval, text="审批时限")
    db.session.add_all([template, old_template])
    db.session.flush()
    db.session.add_all([
        ChecklistItem(project_id=busy.id, template_id=template.id, stage=Stage.construction,
                      text=template.text),
        ChecklistItem(project_id=busy.id, template_id=old_template.id, stage=Stage.approval,
                      text=old_template.text),  # not the current stage: not counted
    ])
    today = local_today()
    db.session.add(Visit(project_id=busy.id, supervisor_id=sup.id, visited_on=today,
                         kind=VisitKind.routine, stage=Stage.construction))
    stale.created_at = utcnow() - timedelta(days=90)
    busy.created_at = utcnow() - timedelta(days=90)
    db.session.commit()

    items = client.get("/api/v1/my-work", headers=token_for(sup)).get_json()["items"]
    by_kind = {}
    for i in items:
        by_kind.setdefault(i["kind"], []).append(i)
    assert [i["problem_id"] for i in by_kind["to_revisit"]] == [revisit.id]
    assert [i["problem_id"] for i in by_kind["to_assign"]] == [to_assign.id]
    assert [i["project_id"] for i in by_kind["unchecked_items"]] == [busy.id]
    assert [i["project_id"] for i in by_kind["stale_project"]] == [stale.id]
    stale_item = by_kind["stale_project"][0]
    assert set(stale_item) == ITEM_KEYS | {"project_id"}
    assert stale_item["overdue_days"] > 0  # no visit for 90 days, 30 allowed
    assert items[0] == stale_item  # the most overdue comes first
    assert "部门整改中" not in {i["title"] for i in items}


def test_stale_visit_days_follows_the_setting(client, db, admin, make_user, make_project,
                                              token_for):
    settings = pytest.importorskip("tracker.services.settings")
    sup = make_user("supervisor")
    project = make_project(supervisor=sup)
    project.created_at = utcnow() - timedelta(days=45)
    db.session.commit()
    kinds = lambda: [i["kind"] for i in client.get(  # noqa: E731
        "/api/v1/my-work", headers=token_for(sup)).get_json()["items"]]
    assert kinds() == ["stale_project"]
    settings.set(admin, "stale_visit_days", 60)
    db.session.commit()
    assert kinds() == []


def test_admin_sees_overdue_escalated_extensions_and_unsupervised_projects(
        client, db, admin, make_user, make_project, make_problem, make_department, token_for):
    dept = make_department()
    project = make_project(supervisor=make_user("supervisor"))
    orphan = make_project(name="无人监督的项目")
    make_project(name="已完成的项目", stage=Stage.completed)
    late = make_problem(project, S.rectifying, department=dept, title="逾期问题")
    set_due(db, late, admin, local_today() - timedelta(days=3))
    escalated = make_problem(project, S.rectifying, department=dept, title="督办问题")
    workflow.apply(escalated, "escalate", admin, level=2)
    asks = make_problem(project, S.rectifying, department=dept, title="申请延期的问题")
    workflow.apply(asks, "request_extension", admin, requested_due_on="2099-12-31",
                   comment="设备到货延迟")
    make_problem(project, S.rectifying, department=dept, title="正常整改")
    db.session.commit()

    items = client.get("/api/v1/my-work", headers=token_for(admin)).get_json()["items"]
    got = [(i["kind"], i.get("problem_id") or i.get("project_id")) for i in items]
    assert got[0] == ("overdue", late.id)
    assert set(got) == {("overdue", late.id), ("escalated", escalated.id),
                        ("extension_request", asks.id), ("no_supervisor", orphan.id)}


def test_viewer_page_shows_the_weeks_figures(client, db, admin, make_user, make_project,
                                             make_problem, make_department, login, token_for):
    viewer = make_user("viewer")
    project = make_project(supervisor=make_user("supervisor"))
    dept = make_department()
    make_problem(project, S.closed, department=dept)
    late = make_problem(project, S.assigned, department=dept)
    set_due(db, late, admin, local_today() - timedelta(days=5))
    assert client.get("/api/v1/my-work", headers=token_for(viewer)).get_json() == {"items": []}
    login(viewer)
    html = client.get("/").get_data(as_text=True)
    assert 'id="week-figures"' in html
    assert "本周新登记问题" in html and "逾期未办结" in html
    assert "50.0%" in html  # one of two problems closed


def test_viewer_instruction_changes_no_state_and_reaches_supervisor_and_department(
        client, db, scene, make_user, token_for, login):
    s = scene
    viewer = make_user("viewer", name="县委书记")
    problem = s["to_report"]
    before = (problem.status, problem.due_on, problem.original_due_on, problem.escalation,
              problem.department_id, problem.extension_requested_on)
    response = client.post(f"/api/v1/problems/{problem.id}/transitions",
                           headers=token_for(viewer),
                           json={"action": "instruct", "comment": "请务必本周内整改到位"})
    assert response.status_code == 200, response.get_json()
    db.session.refresh(problem)
    assert (problem.status, problem.due_on, problem.original_due_on, problem.escalation,
            problem.department_id, problem.extension_requested_on) == before
    assert problem.events[-1].action.value == "instruct"

    for user in (s["sup"], s["dept_user"]):
        items = client.get("/api/v1/my-work", headers=token_for(user)).get_json()["items"]
        assert ("instruction", problem.id) in {(i["kind"], i.get("problem_id")) for i in items}
    co_items = client.get("/api/v1/my-work", headers=token_for(s["co_user"])).get_json()["items"]
    assert "instruction" not in {i["kind"] for i in co_items}

    login(s["dept_user"])
    html = client.get("/").get_data(as_text=True)
    assert "领导批示" in html and "请务必本周内整改到位" in html

    # once the department answers on the problem, the instruction no longer waits on it
    workflow.apply(problem, "report", s["dept_user"], comment="已按批示整改")
    db.session.commit()
    items = client.get("/api/v1/my-work", headers=token_for(s["dept_user"])).get_json()["items"]
    assert "instruction" not in {i["kind"] for i in items}


def test_instruction_needs_text_and_others_may_not_instruct(client, scene, make_user, token_for):
    s = scene
    url = f"/api/v1/problems/{s['to_accept'].id}/transitions"
    viewer = make_user("viewer")
    empty = client.post(url, headers=token_for(viewer), json={"action": "instruct"})
    assert empty.status_code == 400 and "comment" in empty.get_json()["error"]["fields"]
    refused = client.post(url, headers=token_for(s["dept_user"]),
                          json={"action": "instruct", "comment": "我来批示"})
    assert refused.status_code == 403


def test_my_work_page_runs_a_bounded_number_of_queries(client, db, admin, make_user,
                                                       make_project, make_problem,
                                                       make_department, login):
    dept = make_department()
    sup = make_user("supervisor")
    user = make_user("department", department=dept)
    login(user)

    def measure():
        with count_queries(db) as statements:
            assert client.get("/").status_code == 200
        return len(statements)

    project = make_project(supervisor=sup)
    make_problem(project, S.assigned, department=dept)
    few = measure()
    for n in range(8):
        p = make_problem(make_project(supervisor=sup), S.rectifying, department=dept)
        workflow.apply(p, "instruct", admin, comment=f"批示{n}")
    db.session.commit()
    assert measure() == few
    login(admin)
    base = measure()
    for n in range(5):
        make_project()  # more unsupervised projects, more overdue problems
        set_due(db, make_problem(project, S.assigned, department=dept), admin,
                local_today() - timedelta(days=n + 1))
    assert measure() == base


def test_my_work_requires_sign_in(client):
    assert client.get("/").status_code == 302
    assert client.get("/api/v1/my-work").status_code == 401


def test_my_work_is_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/my-work"]["get"]
    assert "200" in operation["responses"]


@pytest.mark.parametrize("role", ["department", "supervisor"])
def test_unsupervised_user_sees_nothing_of_others(client, role, make_user, make_project,
                                                  make_problem, make_department, token_for):
    other_dept = make_department()
    project = make_project(supervisor=make_user("supervisor"))
    make_problem(project, S.rectified, department=other_dept)
    make_problem(project, S.assigned, department=other_dept)
    user = make_user(role)
    assert client.get("/api/v1/my-work", headers=token_for(user)).get_json() == {"items": []}


def test_supervisor_reassigned_loses_the_work(db, admin, make_user, make_project, make_problem,
                                              make_department, client, token_for):
    first, second = make_user("supervisor"), make_user("supervisor")
    project = make_project(supervisor=first)
    make_problem(project, S.rectified, department=make_department())
    assignment = db.session.scalar(sa.select(SupervisorAssignment))
    assignment.ended_at = utcnow()
    db.session.add(SupervisorAssignment(project_id=project.id, user_id=second.id))
    db.session.commit()
    kinds = lambda u: {i["kind"] for i in client.get(  # noqa: E731
        "/api/v1/my-work", headers=token_for(u)).get_json()["items"]}
    assert "to_revisit" not in kinds(first)
    assert "to_revisit" in kinds(second)


def test_long_lists_show_the_most_urgent_and_count_the_rest(client, scene, login, monkeypatch):
    monkeypatch.setattr("tracker.main.routes.PAGE_LIMIT", 2)
    login(scene["dept_user"])
    html = client.get("/").get_data(as_text=True)
    assert scene["overdue"].title in html and scene["due_soon"].title in html
    assert scene["to_report"].title not in html
    assert 'id="more-items"' in html and "另有 2 项未列出" in html
    assert "全部 4" in html  # the filter chips still count everything


def test_counts_agree_with_the_items_and_a_limit_keeps_the_most_urgent(db, admin, scene):
    from collections import Counter

    from tracker.services.mywork import my_work

    for user in (scene["dept_user"], scene["sup"], admin):
        work = my_work(user)
        assert Counter(i.kind for i in work.items) == work.counts, user.role
        top = my_work(user, limit=1)
        assert top.counts == work.counts
        assert top.items[:1] == work.items[:1]
    assert my_work(admin).counts and my_work(scene["dept_user"]).counts  # not a vacuous check


def test_open_high_risks_wait_on_admin(db, client, admin, make_user, make_project, login):
    from tracker.services.risks import change_risk, create_risk

    project = make_project(supervisor=make_user("supervisor"))
    high = create_risk(admin, project, title="征地补偿纠纷可能引发阻工", category="land", level="high")
    low = create_risk(admin, project, title="雨季施工安全", category="safety", level="low")
    db.session.commit()
    page = login(admin).get("/").get_data(as_text=True)
    assert "征地补偿纠纷可能引发阻工" in page and "高风险点" in page
    assert "雨季施工安全" not in page
    change_risk(admin, high, status="closed", reason="补偿款已兑付，纠纷化解")
    db.session.commit()
    assert "征地补偿纠纷可能引发阻工" not in client.get("/").get_data(as_text=True)
    assert low.level.value == "low"
