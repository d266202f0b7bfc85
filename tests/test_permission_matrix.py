"""The permission matrix, generated from the URL map: every route × method, every role (and an
anonymous visitor), own and other objects. Each answer must be the expected one: passed the gate
(whatever the empty or minimal input then gives: 200, 302, 400, 409 …), 403, or 404 for what the
user may not see. A route with no rule here fails the test, so a new page or endpoint cannot ship
without deciding who may use it."""
import io
import re
from dataclasses import dataclass

import pytest
from PIL import Image

from tracker import workflow
from tracker.models import (ChecklistItem, ChecklistTemplate, Notification, ProblemStatus,
                            Stage, Visit, VisitKind, utcnow)
from tracker.services import uploads
from tracker.services.accountability import record_accountability
from tracker.services.risks import create_risk

ROLES = ("admin", "viewer", "supervisor", "department")
OK, FORBID, HIDDEN, LOGIN = "ok", 403, 404, "login"

# How each kind of object is seen: role -> (own side, other side)
SEES = {
    "project": {"admin": (OK, OK), "viewer": (OK, OK), "supervisor": (OK, HIDDEN),
                "department": (OK, HIDDEN)},
    "visit": {"admin": (OK, OK), "viewer": (OK, OK), "supervisor": (OK, HIDDEN),
              "department": (HIDDEN, HIDDEN)},
}
SEES["problem"] = SEES["risk"] = SEES["project"]
# Department users see only the name and code of projects with problems handed to them.
SEES["project_detail"] = {**SEES["project"], "department": (HIDDEN, HIDDEN)}
SEES["attachment"] = SEES["visit"]


@dataclass(frozen=True)
class Rule:
    """Who passes: `roles` may use it; for an object route `kind` names the object whose
    visibility is checked first (unseen → 404), then the role (not allowed → 403)."""
    roles: tuple = ROLES
    kind: str | None = None
    public: bool = False
    roles_first: bool = False  # a role-only area (admin pages): 403 before any object lookup

    def expect(self, role: str | None, side: str):
        if self.public:
            return OK
        if role is not None and self.roles_first and role not in self.roles:
            return FORBID
        if role is None:
            return LOGIN
        if self.kind:
            seen = SEES[self.kind][role][0 if side == "own" else 1]
            if seen != OK:
                return seen
        return OK if role in self.roles else FORBID


ALL = Rule()
PUBLIC = Rule(public=True)
ADMIN = Rule(("admin",))


def obj(kind, *roles):
    return Rule(roles or ROLES, kind)


A, V, S, D = "admin", "viewer", "supervisor", "department"
RULES = {
    ("GET", "main.index"): ALL,
    ("GET", "main.notifications"): ALL,
    ("POST", "main.mark_read"): ALL,
    ("POST", "main.mark_all_read"): ALL,
    ("POST", "main.add_accountability"): Rule((A,), "problem", roles_first=True),
    ("POST", "main.decide_accountability"): Rule((A,), "problem", roles_first=True),
    ("GET", "auth.login"): PUBLIC, ("POST", "auth.login"): PUBLIC,
    ("POST", "auth.logout"): PUBLIC,
    ("GET", "projects.import_template"): ALL,  # an empty template workbook
    ("POST", "auth.set_language"): PUBLIC,
    ("GET", "auth.change_password"): ALL, ("POST", "auth.change_password"): ALL,
    ("GET", "static"): PUBLIC,
    ("GET", "api-docs.openapi_json"): PUBLIC,
    # administration
    **{(m, e): ADMIN for m, e in [
        ("GET", "admin.audit"), ("GET", "admin.audit_export"), ("GET", "admin.calendar"),
        ("POST", "admin.calendar"), ("POST", "admin.calendar_delete"), ("GET", "admin.due_dates"),
        ("POST", "admin.calendar_import"), ("GET", "admin.calendar_template"),
        ("GET", "admin.departments"), ("POST", "admin.departments"), ("GET", "admin.department"),
        ("POST", "admin.department"), ("POST", "admin.restore_department"),
        ("POST", "admin.retire_department"), ("GET", "admin.settings_page"),
        ("POST", "admin.settings_page"), ("GET", "admin.users"), ("GET", "admin.user"),
        ("POST", "admin.user"), ("POST", "admin.deactivate"), ("POST", "admin.reset_password"),
        ("POST", "admin.reactivate"), ("GET", "admin.new_user"), ("POST", "admin.new_user"),
        ("GET", "checklists.templates"), ("POST", "checklists.add_template"),
        ("POST", "checklists.retire_template"), ("POST", "checklists.reword_template"),
        ("GET", "projects.import_projects"), ("POST", "projects.import_projects"),
        ("GET", "projects.create"),
        ("POST", "projects.create"),
        ("POST", "api.create_department"), ("POST", "api.create_user"),
        ("PATCH", "api.patch_user"), ("POST", "api.create_project"),
    ]},
    ("GET", "api.list_users"): Rule((A, V)), ("GET", "api.get_user"): Rule((A, V)),
    ("POST", "admin.adjust_due"): Rule((A,), "problem", roles_first=True),
    # projects
    ("GET", "projects.index"): ALL,  # a department sees the projects of its problems
    ("GET", "projects.workload"): Rule((A, V)),
    ("GET", "projects.show"): obj("project"),
    ("GET", "projects.edit"): Rule((A,), "project", roles_first=True),
    ("POST", "projects.edit"): Rule((A,), "project", roles_first=True),
    ("POST", "projects.move_stage"): obj("project", A, S),
    ("POST", "projects.assign"): Rule((A,), "project", roles_first=True),
    ("GET", "checklists.project_checklist"): obj("project_detail"),
    ("POST", "checklists.mark"): obj("project_detail", A, S),
    # problems
    ("GET", "problems.index"): ALL,
    ("GET", "problems.show"): obj("problem"),
    ("POST", "problems.act"): obj("problem", A, S, D),   # action "comment"
    ("GET", "problems.new"): Rule((A, S)), ("POST", "problems.new"): Rule((A, S)),
    # visits
    ("GET", "visits.index"): Rule((A, V, S)),
    ("GET", "visits.activity"): Rule((A, V)),
    ("GET", "visits.new"): Rule((A, S)), ("POST", "visits.new"): Rule((A, S)),
    ("GET", "visits.show"): Rule((A, V, S), "visit", roles_first=True),
    ("POST", "visits.attach"): Rule((A, S), "visit", roles_first=True),
    ("GET", "visits.file"): obj("attachment"),
    ("GET", "visits.thumbnail"): obj("attachment"),
    # figures, ledger
    ("GET", "dashboard.index"): ALL,
    ("GET", "dashboard.chart"): ALL,
    ("GET", "dashboard.weekly"): ALL,  # the pack holds what the reader may see
    ("GET", "ledger.index"): Rule((A, V, D)),
    ("GET", "ledger.download"): Rule((A, V, D)),
    # risks
    ("GET", "risks.index"): ALL,  # figures over the risks the reader may see
    ("GET", "risks.register"): Rule((A, V, S, D)),
    ("GET", "risks.chart"): ALL,
    ("GET", "risks.new"): Rule((A, S)), ("POST", "risks.new"): Rule((A, S)),
    ("GET", "risks.show"): obj("risk"),
    ("POST", "risks.edit"): obj("risk", A, S),
    ("POST", "risks.rate"): obj("risk", A, S),
    ("POST", "risks.materialise"): obj("risk", A, S),
    # API
    ("POST", "api.create_token"): PUBLIC,
    ("DELETE", "api.revoke_current_token"): ALL,
    ("GET", "api.me"): ALL,
    ("GET", "api.list_departments"): ALL,
    ("GET", "api.my_work_items"): ALL,
    ("GET", "api.closure_metrics"): ALL,
    ("GET", "api.weekly_report"): ALL,
    ("GET", "api.Problems"): ALL, ("POST", "api.Problems"): Rule((A, S)),
    ("GET", "api.ProblemDetail"): obj("problem"),
    ("POST", "api.problem_transition"): obj("problem", A, S, D),  # action "comment"
    ("GET", "api.list_projects"): ALL,
    ("GET", "api.get_project"): obj("project"),
    ("PATCH", "api.patch_project"): obj("project", A),
    ("GET", "api.project_checklist"): obj("project_detail"),
    ("PATCH", "api.mark_checklist_item"): obj("project_detail", A, S),
    ("GET", "api.get_stage"): obj("project_detail"),
    ("POST", "api.post_stage"): obj("project_detail", A, S),
    ("GET", "api.get_supervisor"): obj("project_detail"),
    ("PUT", "api.put_supervisor"): obj("project", A),
    ("GET", "api.ProjectRisks"): obj("project"),
    ("POST", "api.ProjectRisks"): obj("project", A, S),
    ("GET", "api.Risks"): ALL,
    ("GET", "api.RiskDetail"): obj("risk"), ("PATCH", "api.RiskDetail"): obj("risk", A, S),
    ("GET", "api.Visits"): ALL,  # a list shows only what the reader may see
    ("POST", "api.Visits"): Rule((A, S)), ("POST", "api.Visits"): Rule((A, S)),
    ("GET", "api.get_visit"): obj("visit"),
    ("POST", "api.add_visit_attachments"): obj("visit", A, S),
    ("GET", "api.attachment_file"): obj("attachment"),
}


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def world(app, db, admin, make_user, make_project, make_problem, make_department):
    dept_a, dept_b, spare_dept = make_department(), make_department(), make_department()
    sup_a, sup_b = make_user("supervisor"), make_user("supervisor")
    users = {"admin": admin, "viewer": make_user("viewer"), "supervisor": sup_a,
             "department": make_user("department", department=dept_a)}
    spare_user = make_user("supervisor")
    side = {}
    for name, supervisor, dept in (("own", sup_a, dept_a), ("other", sup_b, dept_b)):
        project = make_project(supervisor=supervisor, stage=Stage.construction)
        problem = make_problem(project, ProblemStatus.rectifying, department=dept)
        visit = Visit(project_id=project.id, supervisor_id=supervisor.id,
                      visited_on=utcnow().date(), kind=VisitKind.routine, stage=project.stage)
        db.session.add(visit)
        db.session.flush()
        prepared = uploads.prepare(_png(), "photo.png", 10 * 1024 * 1024)
        uploads.write(app.config["UPLOAD_DIR"], [prepared])
        attachment = uploads.add_attachment(supervisor, prepared, visit=visit)
        risk = create_risk(admin, project, title="资金缺口", category="funding", level="high",
                           department_id=dept.id)
        template = db.session.scalar(db.select(ChecklistTemplate).limit(1)) or ChecklistTemplate(
            stage=Stage.construction, text="无违法分包")
        db.session.add(template)
        db.session.flush()
        item = ChecklistItem(project_id=project.id, template_id=template.id,
                             stage=Stage.construction, text=template.text)
        db.session.add(item)
        db.session.flush()
        problem.title = f"矩阵问题-{name}"
        project.name = f"矩阵项目-{name}"
        risk.title = f"矩阵风险-{name}"
        visit.summary = f"矩阵走访-{name}"
        workflow.apply(problem, "escalate", admin, level=3, comment="问责")
        record = record_accountability(admin, problem, subject="项目责任单位")
        side[name] = {"project_id": project.id, "problem_id": problem.id, "visit_id": visit.id,
                      "attachment_id": attachment.id, "risk_id": risk.id, "item_id": item.id,
                      "template_id": template.id, "record_id": record.id,
                      "supervisor_id": supervisor.id}
    note = Notification(user_id=sup_a.id, problem_id=side["own"]["problem_id"], kind="overdue",
                        message="提醒", sent_on=utcnow().date())
    db.session.add(note)
    db.session.commit()
    fixed = {"dept_id": spare_dept.id, "user_id": spare_user.id, "notification_id": note.id, "action": "comment", "change": "retire", "name": "open-by-stage",
             "day": "2027-01-01", "code": "zh_CN", "filename": "css/app.css"}
    return users, side, fixed


def bodies(endpoint: str, values: dict, role: str | None) -> dict | None:
    """A body that passes the endpoint's schema, so the answer shows the permission gate."""
    today = utcnow().date().isoformat()
    tag = f"{role or 'anon'}{values['project_id']}"
    return {
        "api.problem_transition": {"action": "comment", "comment": "权限矩阵"},
        "api.create_token": {"username": "nobody", "password": "x"},
        "api.mark_checklist_item": {"result": "ok", "note": "", "version": 1},
        "api.create_department": {"code": f"PM{tag}", "name": f"矩阵局{tag}"},
        "api.Problems": {"project_id": values["project_id"], "title": "矩阵问题"},
        "api.create_project": {"code": f"PMX{tag}", "name": "矩阵项目", "level": "county",
                               "category": "产业项目", "investment_wan": "100", "stage": "signing"},
        "api.ProjectRisks": {"title": "矩阵风险", "category": "land", "level": "low"},
        # the current stage and the current supervisor: passes the gate, changes nothing
        "api.post_stage": {"stage": "construction", "changed_on": today, "note": "矩阵"},
        "projects.move_stage": {"stage": "construction", "changed_on": today, "note": "矩阵"},
        "api.put_supervisor": {"user_id": values["supervisor_id"]},
        "projects.assign": {"user_id": values["supervisor_id"]},
        "api.RiskDetail": {"description": "矩阵", "version": 1},
        "api.create_user": {"username": f"mx{tag}", "name": "矩阵", "role": "viewer",
                            "password": "good-pass-1"},
        "api.Visits": {"project_id": values["project_id"], "visited_on": today,
                       "kind": "routine", "summary": "矩阵走访"},
        "api.patch_project": {"name": "矩阵项目改名", "version": 1},
        "api.patch_user": {"name": "矩阵改名"},
    }.get(endpoint)


QUERY = {"problems.new": "?project_id={project_id}", "risks.new": "?project_id={project_id}"}


def _url(rule, values) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: str(values[m.group(1)]), rule.rule)


def _outcome(response, api: bool, public: bool):
    code = response.status_code
    if public and code not in (403, 404):
        return OK  # e.g. a refused sign-in (401) or logout's redirect to the sign-in page
    if code in (403, 404):
        return code
    if code == 401 or (code == 302 and "/login" in response.headers.get("Location", "")):
        return LOGIN
    return OK


def test_every_route_has_a_rule_and_answers_as_it_says(app, world):
    users, side, fixed = world
    routes = {(m, r.endpoint): r for r in app.url_map.iter_rules()
              for m in r.methods - {"HEAD", "OPTIONS"}}
    assert set(routes) == set(RULES), {
        "routes without a rule": sorted(set(routes) - set(RULES)),
        "rules without a route": sorted(set(RULES) - set(routes))}

    tokens = {}
    for role, user in users.items():
        client = app.test_client()
        body = client.post("/api/v1/tokens", json={"username": user.username,
                                                   "password": "secret-pass-1"}).get_json()
        tokens[role] = {"Authorization": f"Bearer {body['token']}"}

    failures, checked = [], 0
    for (method, endpoint), rule in sorted(routes.items(), key=lambda x: x[1].rule):
        api = rule.rule.startswith("/api/")
        for role in (*ROLES, None):
            for which in ("own", "other"):
                values = {**fixed, **side[which]}
                url = _url(rule, values)
                client = app.test_client()
                headers = {}
                if role is not None:
                    if api:
                        headers = dict(tokens[role])
                        if endpoint == "api.revoke_current_token":
                            body = client.post("/api/v1/tokens", json={
                                "username": users[role].username,
                                "password": "secret-pass-1"}).get_json()
                            headers = {"Authorization": f"Bearer {body['token']}"}
                    else:
                        client.post("/login", data={"username": users[role].username,
                                                    "password": "secret-pass-1"})
                spec = RULES[(method, endpoint)]
                kwargs = {"headers": headers}
                url += QUERY.get(endpoint, "").format(**values)
                if endpoint == "api.add_visit_attachments":
                    kwargs["data"] = {"file": [(io.BytesIO(_png()), "m.png")]}
                    kwargs["content_type"] = "multipart/form-data"
                elif method in ("POST", "PUT", "PATCH"):
                    body = bodies(endpoint, values, role)
                    kwargs["json" if api else "data"] = body if body is not None else {}
                response = client.open(url, method=method, **kwargs)
                assert response.status_code < 500, (method, url, role, response.status_code)
                got = _outcome(response, api, spec.public)
                want = spec.expect(role, which)
                checked += 1
                if got != want:
                    failures.append(f"{method} {url} as {role or 'anonymous'} ({which}): "
                                    f"expected {want}, got {got} [{response.status_code}]")
                if "<int:" not in rule.rule:
                    break  # the same URL on both sides
    assert not failures, f"{len(failures)} of {checked} checks differ:\n" + "\n".join(failures)


LISTS = ["/problems/", "/projects/", "/visits/", "/risks/list", "/api/v1/problems",
         "/api/v1/projects", "/api/v1/visits", "/api/v1/risks"]


@pytest.mark.parametrize("role", ["supervisor", "department"])
def test_lists_never_show_what_the_object_check_denies(app, world, role):
    users, side, fixed = world
    client = app.test_client()
    client.post("/login", data={"username": users[role].username, "password": "secret-pass-1"})
    token = client.post("/api/v1/tokens", json={"username": users[role].username,
                                                "password": "secret-pass-1"}).get_json()["token"]
    shown_own = False
    for url in LISTS:
        headers = {"Authorization": f"Bearer {token}"} if url.startswith("/api/") else {}
        response = client.get(url, headers=headers)
        text = response.get_data(as_text=True)
        if response.status_code == 403:
            continue
        assert response.status_code == 200, (url, response.status_code)
        assert "-other" not in text, f"{url} shows the other side to {role}"
        shown_own = shown_own or "-own" in text
    assert shown_own
