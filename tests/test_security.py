"""Headers, limits, production settings and sign-in throttling."""
import pytest

from config import ProductionConfig, TestingConfig
from tracker import create_app

from .conftest import PASSWORD, IsolatedClient


def test_security_headers_on_pages_and_api(client):
    for path in ("/login", "/api/v1/openapi.json"):
        response = client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert "frame-ancestors 'none'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert response.headers["X-Frame-Options"] == "DENY"


def test_no_inline_scripts_in_the_shell(client):
    page = client.get("/login").get_data(as_text=True)
    for chunk in page.split("<script")[1:]:
        assert chunk.lstrip().startswith("src="), "inline <script> found"


def test_production_refuses_to_start_without_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(ProductionConfig, SECRET_KEY=None)


@pytest.mark.sqlite_only
def test_production_sends_hsts_and_secure_cookies(database_url):
    app = create_app(ProductionConfig, SECRET_KEY="x" * 32, SQLALCHEMY_DATABASE_URI=database_url,
                     TRUSTED_HOSTS=["tracker.example"])
    assert app.config["SESSION_COOKIE_SECURE"] and not app.debug
    client = app.test_client()
    response = client.get("/login", base_url="https://tracker.example")
    assert "max-age" in response.headers["Strict-Transport-Security"]
    assert client.get("/login", base_url="https://evil.example").status_code == 400
    # Plain http is sent to https.
    assert client.get("/login", base_url="http://tracker.example").status_code == 302


def test_oversized_request_is_413_envelope(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = client.post("/api/v1/tokens", data="x" * 5000, content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"


def test_failed_signins_are_throttled_per_account(app, database_url, make_user):
    victim, bystander = make_user("supervisor"), make_user("supervisor")
    limited = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url,
                         RATELIMIT_ENABLED=True, SIGNIN_LIMIT_PER_ACCOUNT="3 per 15 minutes")
    limited.test_client_class = IsolatedClient
    client = limited.test_client()
    for _ in range(3):
        assert client.post("/login", data={"username": victim.username,
                                           "password": "guess"}).status_code == 200
    blocked = client.post("/login", data={"username": victim.username, "password": PASSWORD})
    assert blocked.status_code == 429
    assert "登录失败次数过多" in blocked.get_data(as_text=True)
    api = client.post("/api/v1/tokens", json={"username": victim.username, "password": PASSWORD})
    assert api.status_code == 429 and api.get_json()["error"]["code"] == "too_many_requests"
    # Another account from the same address is not locked out by this one.
    assert client.post("/login", data={"username": bystander.username,
                                       "password": PASSWORD}).status_code == 302


def test_refusals_are_audited(client, db, make_user, login):
    import sqlalchemy as sa
    from tracker.models import AuditEntry

    user = make_user("department")
    login(user)
    assert client.get("/admin/users").status_code == 403
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "refused"))
    assert entry.actor_id == user.id and entry.detail["status"] == 403
    assert entry.detail["path"] == "/admin/users"
