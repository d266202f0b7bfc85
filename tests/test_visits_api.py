"""The visits API of CONTRACT.md: list (filter project_id), log, read, attach; in the OpenAPI."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tracker.calendar import local_today
from tracker.models import Problem, ProblemStatus, Visit

S = ProblemStatus


@pytest.fixture
def site(make_user, make_project, make_department, make_problem):
    supervisor = make_user("supervisor")
    dept = make_department()
    project = make_project(supervisor=supervisor, lat=27.08, lon=112.95)
    return dict(supervisor=supervisor, project=project,
                fixed=make_problem(project, S.rectified, department=dept, title="围挡缺失"),
                not_fixed=make_problem(project, S.rectified, department=dept, title="工资拖欠"))


def body(site, **overrides):
    data = {"project_id": site["project"].id, "visited_on": local_today().isoformat(),
            "kind": "revisit", "summary": "回访两项整改", "people_met": "项目经理",
            "lat": 27.0805, "lon": 112.9501,
            "new_problems": [{"title": "消防通道堵塞", "handling_class": 1}],
            "revisits": [
                {"problem_id": site["fixed"].id, "outcome": "close", "satisfaction": "very_satisfied"},
                {"problem_id": site["not_fixed"].id, "outcome": "reopen", "comment": "仍有拖欠"}]}
    data.update(overrides)
    return data


def test_log_a_visit_and_read_it_back(db, client, token_for, site):
    headers = token_for(site["supervisor"])
    response = client.post("/api/v1/visits", json=body(site), headers=headers)
    assert response.status_code == 201, response.get_json()
    visit = response.get_json()
    for key in ("id", "project_id", "supervisor_id", "visited_on", "kind", "summary",
                "raised_problem_ids", "revisited_problem_ids", "lat", "lon"):
        assert key in visit
    assert visit["supervisor_id"] == site["supervisor"].id and visit["far_from_site"] is False
    assert sorted(visit["revisited_problem_ids"]) == sorted([site["fixed"].id, site["not_fixed"].id])
    [new_id] = visit["raised_problem_ids"]
    assert db.session.get(Problem, new_id).title == "消防通道堵塞"
    assert db.session.get(Problem, site["fixed"].id).status is S.closed
    assert db.session.get(Problem, site["not_fixed"].id).status is S.rectifying

    assert client.get(f"/api/v1/visits/{visit['id']}", headers=headers).get_json() == visit
    listed = client.get(f"/api/v1/visits?project_id={site['project'].id}", headers=headers).get_json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == visit["id"]
    assert client.get("/api/v1/visits?project_id=999999", headers=headers).get_json()["total"] == 0


def test_bad_submission_names_each_field_and_writes_nothing(db, client, token_for, site):
    headers = token_for(site["supervisor"])
    data = body(site, revisits=[
        {"problem_id": site["fixed"].id, "outcome": "close", "satisfaction": "dissatisfied"},
        {"problem_id": site["not_fixed"].id, "outcome": "reopen"}])
    response = client.post("/api/v1/visits", json=data, headers=headers)
    assert response.status_code == 400
    fields = response.get_json()["error"]["fields"]
    assert "不能销号" in fields["revisits.0.satisfaction"]
    assert fields["revisits.1.comment"] == "重新整改须说明原因"
    assert db.session.scalar(sa.select(sa.func.count(Visit.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(Problem.id))) == 2

    response = client.post("/api/v1/visits", json=body(site, kind="picnic", lat=200), headers=headers)
    assert response.status_code == 400
    assert {"kind", "lat"} <= set(response.get_json()["error"]["fields"])
    response = client.post("/api/v1/visits", data="{not json", headers={
        **headers, "Content-Type": "application/json"})
    assert response.status_code == 400
    future = (local_today() + timedelta(days=3)).isoformat()
    response = client.post("/api/v1/visits", json=body(site, visited_on=future), headers=headers)
    assert response.status_code == 400 and "visited_on" in response.get_json()["error"]["fields"]


def test_who_may_log_and_read_visits(db, client, token_for, site, make_user, make_project):
    stranger = make_user("supervisor")
    viewer = make_user("viewer")
    created = client.post("/api/v1/visits", json=body(site), headers=token_for(site["supervisor"]))
    visit_id = created.get_json()["id"]

    stranger_headers = token_for(stranger)
    assert client.get(f"/api/v1/visits/{visit_id}", headers=stranger_headers).status_code == 404
    assert client.get("/api/v1/visits", headers=stranger_headers).get_json()["total"] == 0
    response = client.post("/api/v1/visits", json=body(site, revisits=[], new_problems=[]),
                           headers=stranger_headers)
    assert response.status_code == 404 and "project_id" in response.get_json()["error"]["fields"]

    viewer_headers = token_for(viewer)
    assert client.get(f"/api/v1/visits/{visit_id}", headers=viewer_headers).status_code == 200
    second = client.post("/api/v1/visits", json=body(site, revisits=[], new_problems=[]),
                         headers=token_for(site["supervisor"]))
    assert second.status_code == 201
    listed = client.get("/api/v1/visits?per_page=1&page=2", headers=viewer_headers).get_json()
    assert listed["total"] == 2 and [v["id"] for v in listed["items"]] == [visit_id]
    assert client.get("/api/v1/visits?project_id=999", headers=viewer_headers).get_json()["total"] == 0
    assert client.post("/api/v1/visits", json=body(site), headers=viewer_headers).status_code == 403
    assert client.get("/api/v1/visits").status_code == 401


def test_quiet_day_and_far_from_site_on_the_api(db, client, token_for, site):
    project = site["project"]
    project.quiet_days_apply = True
    db.session.commit()
    today = local_today()
    day = today.replace(day=12) if today.day >= 12 else \
        (today.replace(day=1) - timedelta(days=1)).replace(day=12)
    headers = token_for(site["supervisor"])
    data = body(site, visited_on=day.isoformat(), revisits=[], new_problems=[], lat=27.2, lon=112.95)
    response = client.post("/api/v1/visits", json=data, headers=headers)
    assert response.status_code == 400
    assert "quiet_day_exemption" in response.get_json()["error"]["fields"]
    response = client.post("/api/v1/visits", json={**data, "quiet_day_exemption": "safety"},
                           headers=headers)
    assert response.status_code == 201
    assert response.get_json()["quiet_day_exemption"] == "safety"
    assert response.get_json()["far_from_site"] is True


@pytest.mark.sqlite_only
def test_openapi_describes_the_visit_endpoints(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    paths = spec["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/visits"])
    assert "get" in paths["/api/v1/visits/{visit_id}"]
    upload = paths["/api/v1/visits/{visit_id}/attachments"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert {"201", "413", "415"} <= set(upload["responses"])
    params = {p["name"] for p in paths["/api/v1/visits"]["get"]["parameters"]}
    assert "project_id" in params


def test_a_visit_can_re_rate_risk_points(db, client, token_for, site):
    from tracker.models import Risk
    from tracker.services import risks
    risk = risks.create_risk(site["supervisor"], site["project"], title="资金缺口", category="funding",
                             level="high")
    db.session.commit()
    headers = token_for(site["supervisor"])
    data = body(site, revisits=[], new_problems=[],
                risk_changes=[{"risk_id": risk.id, "level": "medium", "status": "mitigated"}])
    response = client.post("/api/v1/visits", json=data, headers=headers)
    assert response.status_code == 400
    assert f"risks.{risk.id}.reason" in response.get_json()["error"]["fields"]
    assert db.session.scalar(sa.select(sa.func.count(Visit.id))) == 0
    data["risk_changes"][0]["reason"] = "财政资金已到位"
    assert client.post("/api/v1/visits", json=data, headers=headers).status_code == 201
    assert db.session.get(Risk, risk.id).status.value == "mitigated"
