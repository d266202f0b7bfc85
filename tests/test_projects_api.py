"""The project, supervisor and stage endpoints: same rules and visibility as the pages."""
import sqlalchemy as sa

from tracker.calendar import local_today
from tracker.models import Project, Stage, StageChange

from .test_api_base import assert_envelope

NEW = {"code": "HD2027100", "name": "衡东县智能制造产业园", "level": "provincial",
       "category": "产业项目", "investment_wan": "120000.50", "responsible_unit": "县发改局",
       "owner": "衡东县产业投资公司", "location": "衡东县城关镇", "stage": "signing"}


def test_admin_registers_edits_and_lists_projects(client, db, admin, make_user, token_for):
    sup = make_user("supervisor")
    headers = token_for(admin)
    created = client.post("/api/v1/projects", json={**NEW, "supervisor_id": sup.id}, headers=headers)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["investment_wan"] == "120000.50" and body["supervisor_id"] == sup.id
    assert body["stage"] == "signing" and body["version"] == 1

    assert_envelope(client.post("/api/v1/projects", json=NEW, headers=headers), 409)
    bad = assert_envelope(client.post("/api/v1/projects", json={
        **NEW, "code": "X", "level": "national", "investment_wan": "-3", "name": ""}, headers=headers), 400)
    assert {"level", "name"} <= set(bad["fields"])
    bad = assert_envelope(client.post("/api/v1/projects", json={**NEW, "code": "Y",
                                                                "investment_wan": "abc"},
                                      headers=headers), 400)
    assert "investment_wan" in bad["fields"]

    pid = body["id"]
    patched = client.patch(f"/api/v1/projects/{pid}", json={"name": "新名称", "version": 1},
                           headers=headers)
    assert patched.status_code == 200 and patched.get_json()["version"] == 2
    assert_envelope(client.patch(f"/api/v1/projects/{pid}", json={"name": "再改", "version": 1},
                                 headers=headers), 409, "stale_version")
    assert_envelope(client.patch(f"/api/v1/projects/{pid}", json={"stage": "approval"},
                                 headers=headers), 400)

    listed = client.get("/api/v1/projects?q=新名&stage=signing", headers=headers).get_json()
    assert listed["total"] == 1 and listed["items"][0]["name"] == "新名称"
    assert client.get(f"/api/v1/projects?supervisor_id={sup.id}", headers=headers).get_json()["total"] == 1
    assert_envelope(client.get("/api/v1/projects?per_page=500", headers=headers), 400)


def test_visibility_of_projects(client, db, make_user, make_project, make_problem, make_department,
                                token_for):
    sup, other = make_user("supervisor"), make_user("supervisor")
    dept = make_department()
    liaison = make_user("department", department=dept)
    mine = make_project(supervisor=sup, name="我的项目")
    hidden = make_project(supervisor=other)
    make_problem(mine, status="assigned", department=dept)

    listed = client.get("/api/v1/projects", headers=token_for(sup)).get_json()
    assert [p["id"] for p in listed["items"]] == [mine.id]
    assert_envelope(client.get(f"/api/v1/projects/{hidden.id}", headers=token_for(sup)), 404)

    seen = client.get("/api/v1/projects", headers=token_for(liaison)).get_json()
    assert seen["items"] == [{"id": mine.id, "code": mine.code, "name": "我的项目"}]
    assert_envelope(client.get(f"/api/v1/projects/{mine.id}/supervisor",
                               headers=token_for(liaison)), 404)
    assert_envelope(client.patch(f"/api/v1/projects/{mine.id}", json={"name": "x"},
                                 headers=token_for(sup)), 403)


def test_supervisor_put_and_history(client, db, admin, make_user, make_project, make_problem,
                                    token_for):
    old, new = make_user("supervisor"), make_user("supervisor")
    project = make_project(supervisor=old)
    problem = make_problem(project)
    old_headers, new_headers = token_for(old), token_for(new)
    assert client.get(f"/api/v1/problems/{problem.id}", headers=new_headers).status_code == 404

    assert_envelope(client.put(f"/api/v1/projects/{project.id}/supervisor",
                               json={"user_id": new.id}, headers=old_headers), 403)
    answer = client.put(f"/api/v1/projects/{project.id}/supervisor",
                        json={"user_id": new.id, "note": "工作调整"}, headers=token_for(admin))
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["supervisor_id"] == new.id
    assert [(h["user_id"], h["ended_at"] is None) for h in body["history"]] == \
        [(new.id, True), (old.id, False)]
    assert client.get(f"/api/v1/projects/{project.id}/supervisor",
                      headers=new_headers).get_json() == body
    # the new supervisor sees the project's past; the old one no longer sees it
    assert client.get(f"/api/v1/problems/{problem.id}", headers=new_headers).status_code == 200
    assert_envelope(client.get(f"/api/v1/projects/{project.id}", headers=old_headers), 404)

    viewer = make_user("viewer")
    bad = assert_envelope(client.put(f"/api/v1/projects/{project.id}/supervisor",
                                     json={"user_id": viewer.id}, headers=token_for(admin)), 400)
    assert "user_id" in bad["fields"]


def test_stage_moves_through_the_api(client, db, admin, make_user, make_project, make_problem,
                                     token_for):
    sup = make_user("supervisor")
    project = make_project(supervisor=sup, stage=Stage.approval)
    make_problem(project)
    today = local_today().isoformat()
    url = f"/api/v1/projects/{project.id}/stage"

    refused = assert_envelope(client.post(url, json={"stage": "construction", "changed_on": today},
                                          headers=token_for(sup)), 403)
    assert "未销号" in refused["message"]
    no_reason = assert_envelope(client.post(url, json={"stage": "construction"},
                                            headers=token_for(admin)), 400)
    assert "reason" in no_reason["fields"]
    assert_envelope(client.post(url, json={"stage": "construction", "version": 99, "reason": "x"},
                                headers=token_for(admin)), 409, "stale_version")
    assert_envelope(client.post(url, json={"stage": "later", "changed_on": "tomorrow"},
                                headers=token_for(admin)), 400)
    assert_envelope(client.post(url, json={"stage": "construction"},
                                headers=token_for(make_user("viewer"))), 403)

    moved = client.post(url, json={"stage": "construction", "changed_on": today, "note": "开工",
                                   "reason": "遗留问题随建设阶段跟踪", "version": project.version},
                        headers=token_for(admin))
    assert moved.status_code == 201, moved.get_json()
    assert moved.get_json()["reason"] == "遗留问题随建设阶段跟踪"
    assert moved.get_json()["project_version"] == 2
    history = client.get(url, headers=token_for(sup)).get_json()
    assert history["stage"] == "construction"
    assert [h["to_stage"] for h in history["history"]] == ["construction"]
    assert db.session.scalar(sa.select(sa.func.count(StageChange.id))) == 1
    assert db.session.get(Project, project.id).stage is Stage.construction


def test_openapi_documents_the_project_endpoints(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/projects"])
    assert {"get", "patch"} <= set(paths["/api/v1/projects/{project_id}"])
    assert {"get", "put"} <= set(paths["/api/v1/projects/{project_id}/supervisor"])
    assert {"get", "post"} <= set(paths["/api/v1/projects/{project_id}/stage"])
