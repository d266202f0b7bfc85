"""API: users and departments as CONTRACT.md describes them."""
import sqlalchemy as sa

from tracker.models import AuditEntry, User


def test_admin_creates_a_department_and_everyone_lists_them(client, admin, make_user, token_for):
    headers = token_for(admin)
    response = client.post("/api/v1/departments", json={"code": "SWJ", "name": "水务局"},
                           headers=headers)
    assert response.status_code == 201
    body = response.get_json()
    assert body["code"] == "SWJ" and body["name"] == "水务局" and body["active"] is True
    again = client.post("/api/v1/departments", json={"code": "SWJ", "name": "水利局"}, headers=headers)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "conflict"
    listing = client.get("/api/v1/departments", headers=token_for(make_user("supervisor")))
    assert listing.status_code == 200
    assert [d["code"] for d in listing.get_json()["items"]] == ["SWJ"]
    assert listing.get_json()["total"] == 1


def test_only_admin_creates(client, make_user, token_for):
    headers = token_for(make_user("viewer"))
    assert client.post("/api/v1/departments", json={"code": "A", "name": "甲"},
                       headers=headers).status_code == 403
    assert client.post("/api/v1/users", json={"username": "x", "name": "x", "role": "viewer",
                                              "password": "abc12345"},
                       headers=headers).status_code == 403
    assert client.get("/api/v1/users", headers=token_for(make_user("supervisor"))).status_code == 403


def test_bad_fields_are_each_named(client, admin, token_for):
    response = client.post("/api/v1/users", json={"username": "", "role": "boss", "password": 1},
                           headers=token_for(admin))
    assert response.status_code == 400
    fields = response.get_json()["error"]["fields"]
    assert {"username", "role", "password", "name"} <= set(fields)
    weak = client.post("/api/v1/users", json={"username": "u1", "name": "甲", "role": "viewer",
                                              "password": "12345678"}, headers=token_for(admin))
    assert weak.status_code == 400 and "password" in weak.get_json()["error"]["fields"]
    homeless = client.post("/api/v1/users", json={"username": "u1", "name": "甲",
                                                  "role": "department", "password": "abcd1234"},
                           headers=token_for(admin))
    assert homeless.status_code == 400
    assert set(homeless.get_json()["error"]["fields"]) == {"department_id"}


def test_create_patch_and_deactivate_a_user(client, db, admin, make_department, make_user,
                                            token_for):
    headers = token_for(admin)
    dept = make_department()
    response = client.post("/api/v1/users", json={
        "username": "zhang", "name": "张三", "role": "department", "department_id": dept.id,
        "password": "start-pass-1"}, headers=headers)
    assert response.status_code == 201
    body = response.get_json()
    assert "password" not in body and "password_hash" not in body
    assert body["role"] == "department" and body["department_id"] == dept.id and body["active"]
    duplicate = client.post("/api/v1/users", json={"username": "zhang", "name": "张三",
                                                   "role": "viewer", "password": "start-pass-1"},
                            headers=headers)
    assert duplicate.status_code == 409

    user_headers = token_for(db.session.get(User, body["id"]), "start-pass-1")
    assert client.get("/api/v1/me", headers=user_headers).status_code == 200

    patched = client.patch(f"/api/v1/users/{body['id']}", json={"role": "viewer",
                                                               "version": body["version"]},
                           headers=headers)
    assert patched.status_code == 200
    assert patched.get_json()["role"] == "viewer" and patched.get_json()["department_id"] is None
    stale = client.patch(f"/api/v1/users/{body['id']}", json={"name": "李四",
                                                             "version": body["version"]},
                         headers=headers)
    assert stale.status_code == 409

    off = client.patch(f"/api/v1/users/{body['id']}", json={"active": False}, headers=headers)
    assert off.status_code == 200 and off.get_json()["active"] is False
    assert client.get("/api/v1/me", headers=user_headers).status_code == 401  # at once
    actions = db.session.scalars(sa.select(AuditEntry.action).where(
        AuditEntry.object_id == body["id"], AuditEntry.object_type == "user")
        .order_by(AuditEntry.id)).all()
    assert actions[0] == "user.create" and "user.update" in actions and actions[-1] == "user.deactivate"

    listing = client.get("/api/v1/users?active=false", headers=headers).get_json()
    assert [u["username"] for u in listing["items"]] == ["zhang"]
    assert all("password" not in u and "password_hash" not in u for u in listing["items"])


def test_deactivating_a_supervisor_with_projects_needs_reassign_to(client, db, admin, make_user,
                                                                   make_project, token_for):
    headers = token_for(admin)
    leaving, taking_over = make_user("supervisor"), make_user("supervisor")
    project = make_project(supervisor=leaving)
    refused = client.patch(f"/api/v1/users/{leaving.id}", json={"active": False}, headers=headers)
    assert refused.status_code == 409
    assert "改派" in refused.get_json()["error"]["message"]
    done = client.patch(f"/api/v1/users/{leaving.id}",
                        json={"active": False, "reassign_to": taking_over.id}, headers=headers)
    assert done.status_code == 200
    db.session.refresh(project)
    assert project.supervisor_id == taking_over.id


def test_unknown_user_is_404(client, admin, token_for):
    headers = token_for(admin)
    assert client.patch("/api/v1/users/999999", json={"name": "x"}, headers=headers).status_code == 404
    assert client.get("/api/v1/users/999999", headers=headers).status_code == 404
