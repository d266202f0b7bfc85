"""Sign-in, the shell per role, and the session rules."""
import pytest

from tracker.auth.routes import safe_next
from tracker.models import AuditEntry
import sqlalchemy as sa


def test_sign_in_page_is_chinese(client):
    page = client.get("/login").get_data(as_text=True)
    assert "县纪委监委重点项目监督系统" in page and "用户名" in page and "密码" in page


def test_pages_require_sign_in(client):
    response = client.get("/problems/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("role,sees,hidden", [
    ("admin", ["重点项目", "问题清单", "统计分析", "系统管理"], []),
    ("supervisor", ["重点项目", "问题清单", "走访记录", "统计分析"], ["系统管理"]),
    ("department", ["问题清单", "统计分析"], ["重点项目", "走访记录", "系统管理"]),
    ("viewer", ["重点项目", "问题清单", "统计分析"], ["系统管理"]),
])
def test_each_role_sees_its_navigation(client, make_user, login, role, sees, hidden):
    login(make_user(role))
    page = client.get("/").get_data(as_text=True)
    nav = page.split('<nav')[1].split("</nav>")[0]
    for label in sees:
        assert f">{label}<" in nav
    for label in hidden:
        assert f">{label}<" not in nav


def test_wrong_password_is_a_clear_message_and_audited(client, db, make_user):
    user = make_user("supervisor")
    response = client.post("/login", data={"username": user.username, "password": "wrong"})
    assert response.status_code == 200
    assert "用户名或密码错误" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(AuditEntry.action).where(AuditEntry.actor_id == user.id)) \
        == "signin.failed"


def test_empty_and_huge_input_never_500(client):
    assert client.post("/login", data={}).status_code == 200
    assert client.post("/login", data={"username": "x" * 10000, "password": "y" * 10000}
                       ).status_code == 200


def test_next_is_checked(client, make_user):
    user = make_user("viewer")
    response = client.post("/login?next=//evil.example/x",
                           data={"username": user.username, "password": "secret-pass-1"})
    assert response.headers["Location"] == "/"
    assert safe_next("/problems/?status=open") == "/problems/?status=open"
    for bad in ("https://evil.example/", "//evil.example", "/\\evil.example", "javascript:x"):
        assert safe_next(bad) is None


def test_role_pages_forbidden(client, make_user, login):
    login(make_user("department"))
    assert client.get("/visits/").status_code == 403
    assert client.get("/admin/users").status_code == 403
    assert "无权访问" in client.get("/admin/users").get_data(as_text=True)


def test_deactivated_user_session_ends_at_once(client, db, make_user, login):
    user = make_user("supervisor")
    login(user)
    assert client.get("/").status_code == 200
    user.active = False
    db.session.commit()
    assert client.get("/").status_code == 302


def test_change_password_ends_other_sessions(app, client, db, make_user, login):
    user = make_user("supervisor")
    login(user)
    other = app.test_client()
    other.post("/login", data={"username": user.username, "password": "secret-pass-1"})
    assert other.get("/").status_code == 200
    weak = client.post("/password", data={"current": "secret-pass-1", "new": "short",
                                          "confirm": "short"})
    assert "至少 8 位" in weak.get_data(as_text=True)
    done = client.post("/password", data={"current": "secret-pass-1", "new": "new-pass-22",
                                          "confirm": "new-pass-22"})
    assert done.status_code == 302
    assert client.get("/").status_code == 200
    assert other.get("/").status_code == 302


def test_cookie_flags(client, make_user):
    user = make_user("viewer")
    response = client.post("/login", data={"username": user.username, "password": "secret-pass-1"})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_unknown_page_is_friendly_404(client, make_user, login):
    login(make_user("viewer"))
    response = client.get("/problems/999999")
    assert response.status_code == 404 and "页面不存在" in response.get_data(as_text=True)


def test_english_switch(client, make_user, login):
    login(make_user("viewer"))
    client.post("/lang/en", data={"next": "/"})
    assert client.get("/").status_code == 200
