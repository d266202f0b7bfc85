"""People administration: create, change role/department (kept in history), reset a password,
deactivate (sessions and tokens stop at once) and reactivate; a supervisor's projects are
reassigned before deactivation."""
import sqlalchemy as sa

from tracker.models import ApiToken, AuditEntry, Role, SupervisorAssignment, User
from tracker.services import people


def _entries(db, action):
    return db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action)
                              .order_by(AuditEntry.id)).all()


def test_admin_creates_a_user_who_must_choose_a_password(client, db, admin, login, make_department):
    dept = make_department(name="发改局")
    login(admin)
    response = client.post("/admin/users/new", data={
        "username": "liaison1", "name": "王联络", "role": "department", "department_id": dept.id,
        "password": "start-pass-1"})
    assert response.status_code == 302
    user = db.session.scalar(sa.select(User).where(User.username == "liaison1"))
    assert user.department_id == dept.id and user.must_change_password
    assert _entries(db, "user.create")[-1].actor_id == admin.id

    client.post("/logout")
    response = client.post("/login", data={"username": "liaison1", "password": "start-pass-1"})
    assert response.headers["Location"].endswith("/password")


def test_bad_user_form_names_the_fields_and_writes_nothing(client, db, admin, login):
    login(admin)
    before = db.session.scalar(sa.select(sa.func.count()).select_from(User))
    page = client.post("/admin/users/new", data={"username": "admin", "name": "重复",
                                                 "role": "department", "password": "short"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "用户名已存在" in text and "责任单位用户须选择单位" in text and "密码至少 8 位" in text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == before


def test_role_and_department_changes_are_kept_in_history(client, db, admin, login, make_user,
                                                         make_department):
    first, second = make_department(name="住建局"), make_department(name="财政局")
    liaison = make_user("department", department=first)
    login(admin)
    client.post(f"/admin/users/{liaison.id}", data={"name": liaison.name, "role": "department",
                                                   "department_id": second.id})
    client.post(f"/admin/users/{liaison.id}", data={"name": liaison.name, "role": "viewer",
                                                   "department_id": "None"})
    db.session.refresh(liaison)
    assert liaison.role is Role.viewer and liaison.department_id is None
    changes = _entries(db, "user.update")
    assert [c.detail["after"]["department_id"] for c in changes] == [second.id, None]
    assert changes[0].detail["before"]["department_id"] == first.id
    assert changes[1].detail["before"]["role"] == "department"
    page = client.get(f"/admin/users/{liaison.id}").get_data(as_text=True)
    assert "单位：住建局 → 财政局" in page and "角色：责任单位 → 县领导" in page


def test_password_reset_forces_a_change_and_ends_sessions_and_tokens(app, client, db, admin,
                                                                     login, make_user, token_for):
    user = make_user("supervisor")
    headers = token_for(user)
    other = app.test_client()
    other.post("/login", data={"username": user.username, "password": "secret-pass-1"})
    assert other.get("/problems/").status_code == 200
    login(admin)
    client.post(f"/admin/users/{user.id}/password", data={"reset-password": "temp-pass-22"})
    assert other.get("/problems/").status_code == 302  # signed out
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    response = other.post("/login", data={"username": user.username, "password": "temp-pass-22"})
    assert response.headers["Location"].endswith("/password")
    assert _entries(db, "user.password_reset")[-1].detail["tokens_revoked"] == 1


def test_deactivation_stops_an_active_session_and_a_token_at_once(app, client, db, admin, login,
                                                                  make_user, token_for):
    user = make_user("viewer")
    headers = token_for(user)
    session = app.test_client()
    session.post("/login", data={"username": user.username, "password": "secret-pass-1"})
    assert session.get("/problems/").status_code == 200
    assert client.get("/api/v1/me", headers=headers).status_code == 200

    login(admin)
    assert client.post(f"/admin/users/{user.id}/deactivate", data={"off-note": "调离"}).status_code == 302

    assert session.get("/problems/").status_code == 302          # the open session has ended
    assert client.get("/api/v1/me", headers=headers).status_code == 401   # so has the token
    assert session.post("/login", data={"username": user.username,
                                        "password": "secret-pass-1"}).status_code == 200  # refused
    entry = _entries(db, "user.deactivate")[-1]
    assert entry.actor_id == admin.id and entry.detail["after"] == {"active": False}
    db.session.refresh(user)
    assert db.session.get(User, user.id) is not None  # records stay

    # Reactivated, the user signs in again, but the old token stays revoked.
    client.post(f"/admin/users/{user.id}/reactivate")
    assert session.post("/login", data={"username": user.username,
                                        "password": "secret-pass-1"}).status_code == 302
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_a_supervisor_holding_projects_needs_a_confirmed_reassignment(client, db, admin, login,
                                                                      make_user, make_project):
    leaving, taking_over = make_user("supervisor"), make_user("supervisor")
    projects = [make_project(supervisor=leaving), make_project(supervisor=leaving)]
    login(admin)
    page = client.get(f"/admin/users/{leaving.id}").get_data(as_text=True)
    assert "仍负责 2 个项目" in page and projects[0].code in page

    response = client.post(f"/admin/users/{leaving.id}/deactivate", data={"off-note": ""},
                           follow_redirects=True)
    assert "停用前须确认改派" in response.get_data(as_text=True)
    db.session.refresh(leaving)
    assert leaving.active

    client.post(f"/admin/users/{leaving.id}/deactivate",
                data={"off-reassign_to": taking_over.id, "off-note": "工作调整"})
    db.session.refresh(leaving)
    assert not leaving.active
    for project in projects:
        rows = db.session.scalars(sa.select(SupervisorAssignment).where(
            SupervisorAssignment.project_id == project.id).order_by(SupervisorAssignment.id)).all()
        assert [(r.user_id, r.ended_at is None) for r in rows] == [(leaving.id, False),
                                                                  (taking_over.id, True)]
        assert rows[1].note == "工作调整"


def test_admin_cannot_lock_themselves_out(db, admin):
    import pytest
    from tracker.workflow import IllegalMove

    with pytest.raises(IllegalMove):
        people.deactivate(admin, admin)
    with pytest.raises(IllegalMove):
        people.update(admin, admin, role="viewer")


def test_admin_pages_are_for_admin_only(client, make_user, login):
    login(make_user("viewer"))
    for url in ("/admin/users", "/admin/departments", "/admin/calendar", "/admin/settings",
                "/admin/audit", "/admin/audit/export.xlsx"):
        assert client.get(url).status_code == 403, url
    client.post("/logout")
    assert client.get("/admin/users").status_code == 302


def test_tokens_are_revoked_in_the_database_on_deactivation(db, admin, make_user, token_for):
    user = make_user("supervisor")
    token_for(user)
    people.deactivate(admin, user)
    db.session.commit()
    assert db.session.scalar(sa.select(ApiToken.revoked_at).where(ApiToken.user_id == user.id))


def test_the_user_list_filters_by_role_and_status(client, db, admin, login, make_user):
    active, gone = make_user("supervisor", name="在岗监察"), make_user("supervisor", name="离岗监察")
    make_user("viewer", name="县领导甲")
    people.deactivate(admin, gone)
    db.session.commit()
    login(admin)
    page = client.get("/admin/users?role=supervisor&status=active").get_data(as_text=True)
    assert "在岗监察" in page and "离岗监察" not in page and "县领导甲" not in page
    assert '<option value="supervisor" selected>' in page
    assert "离岗监察" in client.get("/admin/users?q=离岗").get_data(as_text=True)
