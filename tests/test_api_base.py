"""The API base: tokens, the error envelope, validation naming fields, the OpenAPI document."""
import sqlalchemy as sa

from tracker.models import ApiToken


def assert_envelope(response, status, code=None):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"}
    assert {"code", "message", "fields"} <= set(body["error"])
    if code:
        assert body["error"]["code"] == code
    return body["error"]


def test_token_me_and_revoke(client, db, make_user, token_for):
    user = make_user("department")
    headers = token_for(user)
    me = client.get("/api/v1/me", headers=headers)
    assert me.status_code == 200
    assert me.get_json() == {"id": user.id, "username": user.username, "name": user.name,
                             "role": "department", "department_id": user.department_id}
    stored = db.session.scalar(sa.select(ApiToken.token_hash))
    assert headers["Authorization"].split()[1] not in stored  # only the hash is kept
    assert client.delete("/api/v1/tokens/current", headers=headers).status_code == 204
    assert_envelope(client.get("/api/v1/me", headers=headers), 401, "unauthorized")


def test_deactivated_user_token_stops_at_once(client, db, make_user, token_for):
    user = make_user("supervisor")
    headers = token_for(user)
    user.active = False
    db.session.commit()
    assert_envelope(client.get("/api/v1/me", headers=headers), 401)


def test_bad_credentials_and_missing_token(client, make_user):
    user = make_user("viewer")
    assert_envelope(client.post("/api/v1/tokens", json={"username": user.username,
                                                        "password": "nope"}), 401)
    assert_envelope(client.get("/api/v1/me"), 401)
    assert_envelope(client.get("/api/v1/me", headers={"Authorization": "Bearer junk"}), 401)
    assert_envelope(client.get("/api/v1/me", headers={"Authorization": "Basic abc"}), 401)


def test_validation_names_each_bad_field(client):
    error = assert_envelope(client.post("/api/v1/tokens", json={"username": 5, "extra": 1}), 400)
    assert {"username", "password", "extra"} <= set(error["fields"])


def test_malformed_json_is_400(client):
    assert_envelope(client.post("/api/v1/tokens", data="{not json",
                                content_type="application/json"), 400)


def test_no_cookie_session_on_the_api(client, make_user, login):
    login(make_user("admin"))
    assert_envelope(client.get("/api/v1/me"), 401)


def test_unknown_api_path_and_method(client, make_user, token_for):
    headers = token_for(make_user("viewer"))
    assert_envelope(client.get("/api/v1/nothing-here", headers=headers), 404)
    assert_envelope(client.put("/api/v1/me", headers=headers), 405)


def test_openapi_document_is_generated(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert {"/api/v1/tokens", "/api/v1/tokens/current", "/api/v1/me"} <= set(spec["paths"])
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert spec["paths"]["/api/v1/tokens"]["post"]["security"] == []


def test_list_total_counts_everything_for_readers_of_all(client, make_user, make_department,
                                                         token_for):
    for _ in range(3):
        make_department()
    headers = token_for(make_user("viewer"))
    body = client.get("/api/v1/departments?per_page=2", headers=headers).get_json()
    assert body["total"] == 3 and len(body["items"]) == 2


def test_numbers_too_large_for_the_database_are_400(client, make_user, token_for):
    headers = token_for(make_user("admin"))
    for url in ("/api/v1/visits?project_id=9223372036854775808",
                "/api/v1/problems?project_id=99999999999999999999",
                "/api/v1/projects/9223372036854775808/risks"):
        response = client.get(url, headers=headers)
        assert response.status_code in (400, 404), (url, response.status_code)
        assert set(response.get_json()) == {"error"}
