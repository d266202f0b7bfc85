"""API v1 risk points: a supervisor keeps a project's register from the field app; headquarters
reads across projects; everyone sees only what the project rules let them."""
from datetime import date

import pytest

from tracker.models import Visit, VisitKind
from tracker.services import risks as service

from .conftest import utc


@pytest.fixture
def supervisor(make_user):
    return make_user("supervisor", name="王监察")


@pytest.fixture
def project(make_project, supervisor):
    return make_project(supervisor=supervisor, name="高新区标准厂房")


@pytest.fixture
def dept(make_department):
    return make_department(name="人社局")


def test_a_supervisor_registers_and_rerates_a_risk(client, token_for, supervisor, project, dept):
    auth = token_for(supervisor)
    created = client.post(f"/api/v1/projects/{project.id}/risks", headers=auth, json={
        "title": "总包资金紧张，可能拖欠农民工工资", "category": "wages", "level": "medium",
        "department_id": dept.id})
    assert created.status_code == 201, created.get_json()
    risk = created.get_json()
    assert {k: risk[k] for k in ("project_id", "stage", "category", "level", "status",
                                 "department_id", "version")} == {
        "project_id": project.id, "stage": "construction", "category": "wages",
        "level": "medium", "status": "watching", "department_id": dept.id, "version": 1}
    assert [h["kind"] for h in risk["history"]] == ["new"]

    # A level change without a reason is refused, naming the field, and changes nothing.
    refused = client.patch(f"/api/v1/risks/{risk['id']}", headers=auth,
                           json={"version": 1, "level": "high"})
    assert refused.status_code == 400
    assert "reason" in refused.get_json()["error"]["fields"]
    assert client.get(f"/api/v1/risks/{risk['id']}", headers=auth).get_json()["level"] == "medium"

    raised = client.patch(f"/api/v1/risks/{risk['id']}", headers=auth,
                          json={"version": 1, "level": "high", "reason": "已拖欠两个月"})
    assert raised.status_code == 200
    body = raised.get_json()
    assert (body["level"], body["version"]) == ("high", 2)
    assert [(h["from_level"], h["to_level"], h["reason"], h["actor_id"]) for h in body["history"]][1] \
        == ("medium", "high", "已拖欠两个月", supervisor.id)

    stale = client.patch(f"/api/v1/risks/{risk['id']}", headers=auth,
                         json={"version": 1, "status": "closed", "reason": "已清欠"})
    assert stale.status_code == 409
    assert stale.get_json()["error"]["code"] == "stale_version"

    edited = client.patch(f"/api/v1/risks/{risk['id']}", headers=auth,
                          json={"version": 2, "title": "总包拖欠农民工工资", "department_id": None})
    assert edited.status_code == 200
    assert (edited.get_json()["department_id"], edited.get_json()["version"]) == (None, 3)
    assert len(edited.get_json()["history"]) == 2


def test_bad_input_names_each_field(client, token_for, supervisor, project):
    auth = token_for(supervisor)
    response = client.post(f"/api/v1/projects/{project.id}/risks", headers=auth,
                           json={"title": "", "category": "weather", "level": "severe"})
    assert response.status_code == 400
    assert {"title", "category", "level"} <= set(response.get_json()["error"]["fields"])
    response = client.get("/api/v1/risks?changed_since=yesterday", headers=auth)
    assert response.status_code == 400 and "changed_since" in response.get_json()["error"]["fields"]
    response = client.patch("/api/v1/risks/1", headers=auth, json={"level": "high"})
    assert response.status_code in (400, 404)


def test_visibility_by_role(db, client, token_for, make_user, make_project, supervisor, project,
                            admin, dept):
    other_sup = make_user("supervisor")
    other = make_project(supervisor=other_sup, name="别的项目")
    mine = service.create_risk(admin, project, title="征地", category="land", level="high",
                               department_id=dept.id)
    theirs = service.create_risk(admin, other, title="招标", category="tender", level="low")
    db.session.commit()
    liaison = make_user("department", department=dept)
    viewer = make_user("viewer")

    def ids(user, url="/api/v1/risks"):
        response = client.get(url, headers=token_for(user))
        assert response.status_code == 200, response.get_json()
        return {r["id"] for r in response.get_json()["items"]}

    assert ids(admin) == ids(viewer) == {mine.id, theirs.id}
    assert ids(supervisor) == {mine.id} and ids(other_sup) == {theirs.id}
    assert ids(liaison) == {mine.id}          # its department's risks only
    assert ids(liaison, f"/api/v1/projects/{project.id}/risks") == {mine.id}

    assert client.get(f"/api/v1/risks/{theirs.id}", headers=token_for(supervisor)).status_code == 404
    assert client.get(f"/api/v1/projects/{other.id}/risks",
                      headers=token_for(liaison)).status_code == 404
    # Readers may not change: a viewer gets 403, someone who cannot see it 404.
    body = {"version": 1, "level": "low", "reason": "想改"}
    assert client.patch(f"/api/v1/risks/{mine.id}", headers=token_for(viewer), json=body).status_code == 403
    assert client.patch(f"/api/v1/risks/{mine.id}", headers=token_for(liaison), json=body).status_code == 403
    assert client.patch(f"/api/v1/risks/{mine.id}", headers=token_for(other_sup), json=body).status_code == 404
    assert client.post(f"/api/v1/projects/{project.id}/risks", headers=token_for(viewer),
                       json={"title": "x", "category": "other", "level": "low"}).status_code == 403


def test_list_filters_and_pagination(db, client, token_for, admin, project, make_project):
    other = make_project(stage="approval")
    old = service.create_risk(admin, project, title="旧", category="land", level="high",
                              at=utc(2026, 10, 1))
    service.create_risk(admin, project, title="新", category="funding", level="medium")
    service.create_risk(admin, other, title="审批", category="integrity", level="high")
    service.change_risk(admin, old, status="closed", reason="已化解", at=utc(2026, 10, 5))
    db.session.commit()
    auth = token_for(admin)

    def titles(query):
        response = client.get(f"/api/v1/risks?{query}", headers=auth)
        assert response.status_code == 200, response.get_json()
        return [r["title"] for r in response.get_json()["items"]]

    assert titles("level=high") == ["旧", "审批"]
    assert titles("stage=approval") == ["审批"]
    assert titles("category=funding") == ["新"]
    assert titles("open=true&level=high") == ["审批"]
    assert titles("changed_since=2026-11-01") == ["新", "审批"]
    assert titles("changed_since=2026-10-04T00:00:00%2B08:00") == ["旧", "新", "审批"]
    page = client.get("/api/v1/risks?per_page=2&page=2", headers=auth).get_json()
    assert (page["total"], page["page"], page["per_page"], len(page["items"])) == (3, 2, 2, 1)


def test_a_visit_can_be_named_on_a_rerating(db, client, token_for, supervisor, project, admin):
    risk = service.create_risk(admin, project, title="安全", category="safety", level="low")
    visit = Visit(project_id=project.id, supervisor_id=supervisor.id, visited_on=date(2026, 11, 20),
                  kind=VisitKind.routine, stage=project.stage)
    db.session.add(visit)
    db.session.commit()
    response = client.patch(f"/api/v1/risks/{risk.id}", headers=token_for(supervisor), json={
        "version": risk.version, "level": "high", "reason": "深基坑无支护", "visit_id": visit.id})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["history"][-1]["visit_id"] == visit.id


@pytest.mark.sqlite_only
def test_the_openapi_document_describes_the_risk_endpoints(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert {"get", "post"} <= set(spec["paths"]["/api/v1/projects/{project_id}/risks"])
    assert {"get", "patch"} <= set(spec["paths"]["/api/v1/risks/{risk_id}"])
    params = {p["name"] for p in spec["paths"]["/api/v1/risks"]["get"]["parameters"]}
    assert {"level", "stage", "category", "changed_since", "page", "per_page"} <= params
    detail = spec["components"]["schemas"]["RiskDetail"]["properties"]
    assert "history" in detail and "version" in detail
    assert "reason" in spec["components"]["schemas"]["RiskPatch"]["properties"]
