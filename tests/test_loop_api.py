"""The closed loop through the API: record → assign (class 5) → accept → report → close refused
with a dissatisfied rating → reopen → report → close satisfied; the log holds exactly that."""
import sqlalchemy as sa

from tracker.calendar import load_calendar, local_today
from tracker.models import Problem, ProblemEvent


def test_whole_loop_through_the_api(client, db, admin, make_user, make_project, make_department,
                                    token_for):
    dept = make_department(name="住建局")
    supervisor, liaison = make_user("supervisor"), make_user("department", department=dept)
    project = make_project(supervisor=supervisor)
    sup, dep = token_for(supervisor), token_for(liaison)

    created = client.post("/api/v1/problems", headers=sup, json={
        "project_id": project.id, "title": "农民工工资未按月足额发放",
        "description": "走访发现3月工资拖欠", "source": "visit"})
    assert created.status_code == 201, created.get_json()
    problem = created.get_json()
    assert problem["status"] == "open" and problem["stage"] == project.stage.value
    assert problem["available_actions"] == ["assign", "comment"]
    pid = problem["id"]

    def act(headers, expect=200, **body):
        response = client.post(f"/api/v1/problems/{pid}/transitions", headers=headers, json=body)
        assert response.status_code == expect, response.get_json()
        return response.get_json()

    assigned = act(sup, action="assign", department_id=dept.id, handling_class=5,
                   version=problem["version"], comment="请5个工作日内整改")
    expected_due = load_calendar(db.session).add_working_days(local_today(), 5)
    assert assigned["status"] == "assigned" and assigned["department_id"] == dept.id
    assert assigned["due_on"] == expected_due.isoformat() == assigned["original_due_on"]
    # The liaison now sees it and may accept it; the supervisor may not.
    assert client.get(f"/api/v1/problems/{pid}", headers=dep).status_code == 200
    act(sup, expect=403, action="accept", version=assigned["version"])

    accepted = act(dep, action="accept", version=assigned["version"])
    reported = act(dep, action="report", version=accepted["version"],
                   comment="已补发3月工资，附银行流水")
    assert reported["status"] == "rectified"

    refused = client.post(f"/api/v1/problems/{pid}/transitions", headers=sup, json={
        "action": "close", "satisfaction": "dissatisfied", "version": reported["version"]})
    assert refused.status_code == 400
    assert "satisfaction" in refused.get_json()["error"]["fields"]
    still = client.get(f"/api/v1/problems/{pid}", headers=sup).get_json()
    assert still["status"] == "rectified" and still["version"] == reported["version"]

    reopened = act(sup, action="reopen", version=reported["version"],
                   comment="回访企业不满意：4月工资仍未发放", satisfaction="dissatisfied")
    assert reopened["status"] == "rectifying"
    # An older version is refused and changes nothing.
    stale = client.post(f"/api/v1/problems/{pid}/transitions", headers=dep, json={
        "action": "report", "comment": "x", "version": reported["version"]})
    assert stale.status_code == 409 and stale.get_json()["error"]["code"] == "stale_version"

    reported2 = act(dep, action="report", version=reopened["version"], comment="4月工资已发放")
    closed = act(sup, action="close", satisfaction="satisfied", version=reported2["version"])
    assert closed["status"] == "closed" and closed["closed_at"] and closed["satisfaction"] == "satisfied"

    events = client.get(f"/api/v1/problems/{pid}", headers=sup).get_json()["events"]
    assert [e["action"] for e in events] == [
        "record", "assign", "accept", "report", "reopen", "report", "close"]
    assert [(e["from"], e["to"]) for e in events] == [
        (None, "open"), ("open", "assigned"), ("assigned", "rectifying"),
        ("rectifying", "rectified"), ("rectified", "rectifying"), ("rectifying", "rectified"),
        ("rectified", "closed")]
    assert [e["actor_id"] for e in events] == [supervisor.id, supervisor.id, liaison.id,
                                               liaison.id, supervisor.id, liaison.id, supervisor.id]
    assert events[3]["comment"] == "已补发3月工资，附银行流水"
    assert all(e["at"].endswith("+00:00") for e in events)
    # The database agrees: seven events, nothing else written for the refused attempts.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProblemEvent)
                             .where(ProblemEvent.problem_id == pid)) == 7
    assert db.session.get(Problem, pid).closed_at is not None


def test_list_filters_and_pagination(client, db, admin, make_user, make_project, make_department,
                                     make_problem, token_for):
    dept = make_department()
    project, other = make_project(), make_project(stage="approval")
    make_problem(project, "assigned", department=dept)
    make_problem(project, "open")
    make_problem(other, "closed", department=dept)
    headers = token_for(admin)

    def ids(**params):
        body = client.get("/api/v1/problems", headers=headers, query_string=params).get_json()
        return body

    everything = ids()
    assert everything["total"] == 3 and everything["page"] == 1 and everything["per_page"] == 50
    assert ids(project_id=project.id)["total"] == 2
    assert ids(status="closed")["total"] == 1
    assert ids(stage="approval")["total"] == 1
    assert ids(department_id=dept.id)["total"] == 2
    assert ids(overdue="true")["total"] == 0
    page2 = ids(per_page=2, page=2)
    assert len(page2["items"]) == 1 and page2["total"] == 3
    bad = client.get("/api/v1/problems", headers=headers,
                     query_string={"status": "nope", "per_page": 500, "overdue": "maybe"})
    assert bad.status_code == 400
    assert {"status", "per_page", "overdue"} <= set(bad.get_json()["error"]["fields"])


def test_overdue_filter_through_the_api(client, db, admin, make_department, make_project,
                                        make_problem, token_for):
    from datetime import timedelta

    problem = make_problem(make_project(), "rectifying", department=make_department())
    problem.due_on = local_today() - timedelta(days=10)
    db.session.commit()
    body = client.get("/api/v1/problems", headers=token_for(admin),
                      query_string={"overdue": "true"}).get_json()
    assert [p["id"] for p in body["items"]] == [problem.id]


def test_create_names_each_bad_field_and_hides_other_projects(client, db, make_user, make_project,
                                                              token_for):
    supervisor = make_user("supervisor")
    mine, theirs = make_project(supervisor=supervisor), make_project(supervisor=make_user())
    headers = token_for(supervisor)
    bad = client.post("/api/v1/problems", headers=headers, json={
        "project_id": mine.id, "title": "", "source": "rumour", "handling_class": 7, "x": 1})
    assert bad.status_code == 400
    assert {"title", "source", "handling_class", "x"} <= set(bad.get_json()["error"]["fields"])
    hidden = client.post("/api/v1/problems", headers=headers,
                         json={"project_id": theirs.id, "title": "越权登记"})
    assert hidden.status_code == 400 and "project_id" in hidden.get_json()["error"]["fields"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Problem)) == 0
    assert client.get("/api/v1/problems/999999", headers=headers).status_code == 404


def test_problem_endpoints_are_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    paths = spec["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/problems"])
    assert "get" in paths["/api/v1/problems/{problem_id}"]
    assert "post" in paths["/api/v1/problems/{problem_id}/transitions"]
    assert "get" in paths["/api/v1/projects/{project_id}/checklist"]
    assert "patch" in paths["/api/v1/checklist-items/{item_id}"]



def test_ids_beyond_the_database_range_are_bad_fields_not_errors(client, db, admin, make_project,
                                                                make_problem, token_for):
    huge = 2**63
    problem = make_problem(make_project(), "open")
    headers = token_for(admin)
    for query in (f"project_id={huge}", f"department_id={huge}"):
        assert client.get(f"/api/v1/problems?{query}", headers=headers).status_code == 400
    assert client.post("/api/v1/problems", headers=headers,
                       json={"project_id": huge, "title": "x"}).status_code == 400
    moved = client.post(f"/api/v1/problems/{problem.id}/transitions", headers=headers, json={
        "action": "assign", "department_id": huge, "handling_class": 5})
    assert moved.status_code == 400 and "department_id" in moved.get_json()["error"]["fields"]
