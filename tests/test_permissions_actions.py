"""Who may do what, through the API: every action × every role × own/other project or
department. The expectations are DOMAIN.md's table written out by hand (not read from the
workflow), so the workflow and the API are checked against the domain, not against themselves.

200 the action was taken · 403 the user sees the problem but may not take it · 404 the user may
not see the problem (as if it did not exist).
"""
import pytest
import sqlalchemy as sa

from tracker import workflow
from tracker.models import ProblemEvent, ProblemStatus as S

ROLES = ["admin", "viewer", "own_supervisor", "other_supervisor", "lead_department",
         "co_department", "other_department"]

# action -> (state it is tried in, fields, the roles allowed)
ALLOWED = {
    "assign": (S.open, {"department_id": "LEAD", "handling_class": 5}, {"admin", "own_supervisor"}),
    "accept": (S.assigned, {}, {"admin", "lead_department"}),
    "report": (S.rectifying, {"comment": "已整改完毕"}, {"admin", "lead_department"}),
    "close": (S.rectified, {"satisfaction": "satisfied"}, {"admin", "own_supervisor"}),
    "reopen": (S.rectified, {"comment": "回访未整改到位"}, {"admin", "own_supervisor"}),
    "reopen_closed": (S.closed, {"comment": "问题反弹"}, {"admin"}),
    "withdraw": (S.assigned, {"comment": "重复登记"}, {"admin"}),
    "escalate": (S.rectifying, {"level": 1}, {"admin"}),
    "request_extension": (S.rectifying, {"requested_due_on": "2099-12-31", "comment": "材料未到"},
                          {"admin", "lead_department"}),
    "decide_extension": (S.rectifying, {"approve": True}, {"admin"}),
    "set_due": (S.rectifying, {"due_on": "2099-06-30", "comment": "领导要求"}, {"admin"}),
    "transfer": (S.rectifying, {"department_id": "OTHER"}, {"admin"}),
    "instruct": (S.rectifying, {"comment": "请加快办理"}, {"admin", "viewer"}),
    "comment": (S.rectifying, {"comment": "已电话督促"},
                {"admin", "own_supervisor", "lead_department", "co_department"}),
}


def sees(role: str, state: S) -> bool:
    """CONTRACT.md visibility: departments see problems handed to them (lead or co)."""
    if role in ("admin", "viewer", "own_supervisor"):
        return True
    if role in ("lead_department", "co_department"):
        return state is not S.open
    return False


@pytest.fixture
def county(db, admin, make_user, make_department, make_project, token_for):
    lead, co, other = make_department(), make_department(), make_department()
    own_sup, other_sup = make_user("supervisor"), make_user("supervisor")
    users = {"admin": admin, "viewer": make_user("viewer"), "own_supervisor": own_sup,
             "other_supervisor": other_sup,
             "lead_department": make_user("department", department=lead),
             "co_department": make_user("department", department=co),
             "other_department": make_user("department", department=other)}
    project = make_project(supervisor=own_sup)
    make_project(supervisor=other_sup)
    return {"depts": {"LEAD": lead, "CO": co, "OTHER": other}, "project": project,
            "headers": {role: token_for(user) for role, user in users.items()}}


def test_every_action_for_every_role(client, db, admin, make_problem, county):
    # One test over the whole table (the app set-up is the slow part): failures name the cell.
    for name in ALLOWED:
        check_action(client, db, admin, make_problem, county, name)


def check_action(client, db, admin, make_problem, county, name):
    action = "reopen" if name == "reopen_closed" else name
    state, fields, allowed = ALLOWED[name]
    depts = county["depts"]
    body = {k: (depts[v].id if v in depts else v) for k, v in fields.items()}
    for role in ROLES:
        problem = make_problem(county["project"], state, department=depts["LEAD"])
        if state is not S.open:
            problem.co_departments = [depts["CO"]]
        if action == "decide_extension":
            workflow.apply(problem, "request_extension", admin, requested_due_on="2099-12-31",
                           comment="申请延期")
        db.session.commit()
        before = (problem.status, problem.version)
        events_before = _events(db, problem.id)

        response = client.post(f"/api/v1/problems/{problem.id}/transitions",
                               headers=county["headers"][role],
                               json={"action": action, "version": problem.version, **body})
        expected = 200 if role in allowed else 403 if sees(role, state) else 404
        assert response.status_code == expected, (name, role, response.get_json())
        db.session.refresh(problem)
        if expected == 200:
            assert _events(db, problem.id) == events_before + 1
            assert problem.version > before[1]
        else:
            assert response.get_json()["error"]["code"] in ("forbidden", "not_found")
            assert (problem.status, problem.version) == before
            assert _events(db, problem.id) == events_before


def test_recording_and_checklist_marking_by_role(client, db, make_problem, county):
    from tracker.models import ChecklistTemplate, Stage

    project = county["project"]
    make_problem(project, S.assigned, department=county["depts"]["LEAD"])  # liaison sees project
    db.session.add(ChecklistTemplate(stage=project.stage, text="安全生产是否落实"))
    db.session.commit()
    admin_headers = county["headers"]["admin"]
    item = client.get(f"/api/v1/projects/{project.id}/checklist",
                      headers=admin_headers).get_json()["items"][0]
    record_expected = {"admin": 201, "own_supervisor": 201, "viewer": 403, "lead_department": 403,
                       "co_department": 400, "other_department": 400, "other_supervisor": 400}
    mark_expected = {"admin": 200, "own_supervisor": 200, "viewer": 403, "lead_department": 404,
                     "co_department": 404, "other_department": 404, "other_supervisor": 404}
    for role in ROLES:
        headers = county["headers"][role]
        recorded = client.post("/api/v1/problems", headers=headers,
                               json={"project_id": project.id, "title": f"{role} 登记"})
        assert recorded.status_code == record_expected[role], (role, recorded.get_json())
        if recorded.status_code == 400:  # a project this user cannot see is no project at all
            assert "project_id" in recorded.get_json()["error"]["fields"]
        marked = client.patch(f"/api/v1/checklist-items/{item['id']}", headers=headers,
                              json={"result": "ok", "note": role})
        assert marked.status_code == mark_expected[role], (role, marked.get_json())
    assert project.stage is not Stage.completed


def _events(db, problem_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(ProblemEvent)
                             .where(ProblemEvent.problem_id == problem_id))
