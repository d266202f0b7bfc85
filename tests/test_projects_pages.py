"""The project pages as headquarters and supervisors use them."""
import io
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from tracker.calendar import local_today
from tracker.models import Project, Stage, StageChange, SupervisorAssignment

from .test_import import HEADERS_CN, xlsx


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def county(db, make_user, make_project, make_problem, make_department):
    """A few projects: two supervisors, one overdue problem, one unassigned project."""
    liu = make_user("supervisor", username="jjy_liu", name="刘纪检")
    chen = make_user("supervisor", username="jjy_chen", name="陈纪检")
    park = make_project(supervisor=liu, code="HD001", name="衡东县产业园", stage=Stage.construction,
                        investment_wan=50000, category="产业项目")
    school = make_project(supervisor=chen, code="HD002", name="衡东县第二中学", stage=Stage.approval,
                          investment_wan=800, category="社会民生")
    road = make_project(code="HD003", name="城区道路提质", stage=Stage.signing, investment_wan=3000,
                        category="基础设施")
    problem = make_problem(park, status="assigned", department=make_department())
    problem.due_on = local_today() - timedelta(days=3)
    db.session.commit()
    return {"liu": liu, "chen": chen, "park": park, "school": school, "road": road}


def test_list_filters_search_and_sort(client, login, admin, county):
    login(admin)
    page = text(client.get("/projects/"))
    assert "衡东县产业园" in page and "城区道路提质" in page and "未分配" in page
    only = text(client.get("/projects/?q=第二中学"))
    assert "衡东县第二中学" in only and "衡东县产业园" not in only
    assert "城区道路提质" in text(client.get("/projects/?q=hd003"))  # code, any case
    overdue = text(client.get("/projects/?overdue=1"))
    assert "衡东县产业园" in overdue and "衡东县第二中学" not in overdue
    by_sup = text(client.get(f"/projects/?supervisor={county['chen'].id}"))
    assert "衡东县第二中学" in by_sup and "衡东县产业园" not in by_sup
    unassigned = text(client.get("/projects/?supervisor=none&stage=signing&level=county"))
    assert "城区道路提质" in unassigned and "衡东县产业园" not in unassigned
    assert "衡东县产业园" not in text(client.get("/projects/?category=社会民生"))
    richest_first = text(client.get("/projects/?sort=investment&dir=desc"))
    assert richest_first.index("衡东县产业园") < richest_first.index("城区道路提质") < \
        richest_first.index("衡东县第二中学")
    by_stage = text(client.get("/projects/?sort=stage"))
    assert by_stage.index("城区道路提质") < by_stage.index("衡东县第二中学") < \
        by_stage.index("衡东县产业园")
    assert client.get("/projects/?sort=evil&dir=sideways&page=999&stage=nope").status_code == 200
    assert client.get("/projects/?page=99999999999999999999&supervisor=-1").status_code == 200


def test_supervisor_sees_only_their_projects(client, login, county):
    login(county["liu"])
    page = text(client.get("/projects/"))
    assert "衡东县产业园" in page and "衡东县第二中学" not in page
    assert client.get(f"/projects/{county['school'].id}").status_code == 404
    assert client.get("/projects/workload").status_code == 403
    assert client.get("/projects/new").status_code == 403
    assert client.get("/projects/import").status_code == 403


def test_list_page_runs_a_bounded_number_of_queries(app, db, client, login, admin, make_project,
                                                     make_user):
    login(admin)
    sups = [make_user("supervisor") for _ in range(3)]

    def queries_for_list() -> int:
        statements = []

        def count(*args):
            statements.append(1)
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert client.get("/projects/?sort=supervisor").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(statements)

    for i in range(5):
        make_project(supervisor=sups[i % 3])
    few = queries_for_list()
    for i in range(60):
        make_project(supervisor=sups[i % 3])
    assert queries_for_list() == few


def test_project_page_shows_summary_timeline_supervisor_and_risk_signs(client, login, admin,
                                                                       county):
    login(county["liu"])
    page = text(client.get(f"/projects/{county['park'].id}"))
    assert "衡东县产业园" in page and "刘纪检" in page
    assert 'data-sign="overdue">1<' in page
    assert "推进阶段" in page          # the project's supervisor may move it on
    assert "指派纪检监察员" not in page and "更换纪检监察员" not in page


def test_admin_assigns_and_reassigns_on_the_page(client, db, login, admin, county):
    login(admin)
    road = county["road"]
    response = client.post(f"/projects/{road.id}/supervisor",
                           data={"user_id": county["chen"].id, "note": "新纳入"})
    assert response.status_code == 302
    response = client.post(f"/projects/{road.id}/supervisor", data={"user_id": county["liu"].id})
    page = text(client.get(f"/projects/{road.id}"))
    assert "刘纪检" in page and "陈纪检" in page and "新纳入" in page  # the history
    rows = db.session.scalars(sa.select(SupervisorAssignment)
                              .where(SupervisorAssignment.project_id == road.id)).all()
    assert sorted(r.ended_at is None for r in rows) == [False, True]
    assert client.post(f"/projects/{road.id}/supervisor", data={"user_id": ""}).status_code == 302
    client.post("/logout")
    login(county["liu"])
    assert client.post(f"/projects/{road.id}/supervisor",
                       data={"user_id": county["liu"].id}).status_code == 403


def test_stage_move_on_the_page(client, db, login, admin, county):
    park = county["park"]
    login(county["liu"])
    today = local_today().isoformat()
    refused = client.post(f"/projects/{park.id}/stage",
                          data={"stage": "acceptance", "changed_on": today, "note": "完工"})
    assert refused.status_code == 400 and "未销号" in text(refused)
    client.post("/logout")
    login(admin)
    no_reason = client.post(f"/projects/{park.id}/stage",
                            data={"stage": "acceptance", "changed_on": today})
    assert no_reason.status_code == 400 and "推进须说明理由" in text(no_reason)
    moved = client.post(f"/projects/{park.id}/stage",
                        data={"stage": "acceptance", "changed_on": today, "note": "主体完工",
                              "reason": "逾期问题转入验收阶段跟踪", "version": park.version})
    assert moved.status_code == 302
    page = text(client.get(f"/projects/{park.id}"))
    assert "主体完工" in page and "逾期问题转入验收阶段跟踪" in page
    assert db.session.get(Project, park.id).stage is Stage.acceptance
    back = client.post(f"/projects/{park.id}/stage",
                       data={"stage": "construction", "changed_on": today, "reason": "录入有误"})
    assert back.status_code == 302 and "回退更正" in text(client.get(f"/projects/{park.id}"))
    assert db.session.scalar(sa.select(sa.func.count(StageChange.id))) == 2


def test_admin_creates_and_edits_a_project(client, db, login, admin, county):
    login(admin)
    form = {"code": "HD100", "name": "衡东县物流园", "level": "municipal", "category": "产业项目",
            "investment_wan": "2500.5", "stage": "approval", "supervisor_id": str(county["liu"].id)}
    response = client.post("/projects/new", data=form)
    assert response.status_code == 302, text(response)
    project = db.session.scalar(sa.select(Project).where(Project.code == "HD100"))
    assert project.stage is Stage.approval and project.supervisor_id == county["liu"].id
    dup = client.post("/projects/new", data=form)
    assert dup.status_code == 200 and "项目编号已存在" in text(dup)
    negative = client.post("/projects/new", data={**form, "code": "HD101", "investment_wan": "-1"})
    assert db.session.scalar(sa.select(Project).where(Project.code == "HD101")) is None
    assert negative.status_code == 200

    edit = client.post(f"/projects/{project.id}/edit",
                       data={**form, "name": "衡东县现代物流园", "version": project.version})
    assert edit.status_code == 302
    stale = client.post(f"/projects/{project.id}/edit", data={**form, "version": 1})
    assert "已被他人更新" in text(stale)
    assert db.session.get(Project, project.id).name == "衡东县现代物流园"


def test_workload_lists_each_supervisor(client, login, admin, county):
    login(admin)
    page = text(client.get("/projects/workload"))
    assert "刘纪检" in page and "陈纪检" in page
    # each supervisor's projects are listed, the overdue one marked
    assert "衡东县产业园" in page and "逾期 1" in page and "衡东县第二中学" in page
    assert f"/projects/?supervisor={county['liu'].id}&amp;overdue=1" in page


def test_import_page_reports_errors_then_imports(client, db, login, admin, county):
    login(admin)
    assert client.get("/projects/import").status_code == 200
    bad = xlsx([HEADERS_CN, ["N1", "新项目", "县重点", "产业", "-5", "", "", "", "", "nobody"]])
    response = client.post("/projects/import", data={"file": (io.BytesIO(bad), "bad.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    page = text(response)
    assert "未导入任何项目" in page and "总投资不能为负数" in page and "nobody" in page
    good = xlsx([HEADERS_CN, ["HD001", "衡东县产业园（更新）", "省重点", "产业项目", "60,000", "", "", "",
                              "", ""],
                 ["N1", "新项目", "县重点", "产业", "5", "", "", "", "", "jjy_chen"]])
    response = client.post("/projects/import", data={"file": (io.BytesIO(good), "good.xlsx"),
                                                     "update": "y"},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    assert "新增 1 个项目，更新 1 个项目" in text(client.get(response.headers["Location"]))
    wrong = client.post("/projects/import", data={"file": (io.BytesIO(b"x"), "list.pdf")},
                        content_type="multipart/form-data")
    assert wrong.status_code == 400 and "只支持" in text(wrong)
    template = client.get("/projects/import/template.xlsx")
    assert template.status_code == 200 and template.data[:2] == b"PK"
    assert "attachment" in template.headers["Content-Disposition"]


def test_department_sees_only_name_and_code(client, db, login, make_user, make_project, make_problem,
                                            make_department, county):
    dept = make_department()
    liaison = make_user("department", department=dept)
    make_problem(county["school"], status="assigned", department=dept)
    login(liaison)
    page = client.get(f"/projects/{county['school'].id}")
    assert page.status_code == 200
    assert "衡东县第二中学" in text(page) and "阶段进程" not in text(page)
    assert client.get(f"/projects/{county['park'].id}").status_code == 404
