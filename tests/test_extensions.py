"""Extension requests (延期申请): a department asks, admin approves or refuses; an approved request
moves due_on but never original_due_on, and the on-time rate is measured against the original."""
from datetime import timedelta

import pytest

from tracker import workflow
from tracker.calendar import local_today
from tracker.models import ProblemStatus as S, utcnow
from tracker.services.ledger import department_ledger


@pytest.fixture
def handed_over(db, admin, make_user, make_department, make_project):
    """A class-5 problem handed to a department three weeks ago, now being rectified (overdue)."""
    dept = make_department(name="县住房和城乡建设局")
    liaison = make_user("department", department=dept)
    sup = make_user("supervisor")
    project = make_project(supervisor=sup, name="衡东县城区老旧小区改造")
    at = utcnow() - timedelta(days=21)
    problem = workflow.record(project, admin, title="小区雨污分流改造滞后", at=at)
    workflow.apply(problem, "assign", admin, department_id=dept.id, handling_class=5, at=at)
    workflow.apply(problem, "accept", liaison, at=at)
    db.session.commit()
    return dict(problem=problem, dept=dept, liaison=liaison, sup=sup, admin=admin)


def transition(client, headers, problem, **body):
    return client.post(f"/api/v1/problems/{problem.id}/transitions", headers=headers, json=body)


def test_approved_extension_moves_due_on_but_not_the_original(client, db, handed_over, token_for):
    h = handed_over
    problem, original = h["problem"], h["problem"].due_on
    assert problem.original_due_on == original < local_today()
    requested = local_today() + timedelta(days=20)

    asked = transition(client, token_for(h["liaison"]), problem, action="request_extension",
                       requested_due_on=requested.isoformat(), comment="管材供应商延迟交货",
                       version=problem.version)
    assert asked.status_code == 200, asked.get_json()
    body = asked.get_json()
    assert body["extension_requested_on"] == requested.isoformat()
    assert body["due_on"] == original.isoformat()  # nothing moves until admin decides
    assert body["status"] == "rectifying"

    # the request waits in admin's my-work
    admin_headers = token_for(h["admin"])
    items = client.get("/api/v1/my-work", headers=admin_headers).get_json()["items"]
    assert ("extension_request", problem.id) in {(i["kind"], i.get("problem_id")) for i in items}

    decided = transition(client, admin_headers, problem, action="decide_extension", approve=True,
                         comment="同意延期", version=body["version"])
    assert decided.status_code == 200, decided.get_json()
    body = decided.get_json()
    assert body["due_on"] == requested.isoformat()
    assert body["original_due_on"] == original.isoformat()
    assert body["extension_requested_on"] is None
    assert [e["action"] for e in body["events"]][-2:] == ["request_extension", "decide_extension"]
    db.session.refresh(problem)
    assert (problem.due_on, problem.original_due_on) == (requested, original)
    items = client.get("/api/v1/my-work", headers=admin_headers).get_json()["items"]
    assert problem.id not in {i.get("problem_id") for i in items}  # no longer overdue either


def test_on_time_rate_is_measured_against_the_original_due_date(client, db, handed_over,
                                                                token_for, make_department):
    h = handed_over
    problem = h["problem"]
    workflow.apply(problem, "request_extension", h["liaison"],
                   requested_due_on=(local_today() + timedelta(days=20)).isoformat(),
                   comment="申请延期")
    workflow.apply(problem, "decide_extension", h["admin"], approve=True)
    db.session.commit()
    # rectified and closed today: within the extended date, after the original one
    assert transition(client, token_for(h["liaison"]), problem, action="report",
                      comment="已完成改造").status_code == 200
    assert transition(client, token_for(h["sup"]), problem, action="close",
                      satisfaction="satisfied").status_code == 200
    db.session.refresh(problem)
    assert problem.status is S.closed and problem.due_on >= local_today() > problem.original_due_on

    row = next(r for r in department_ledger(h["admin"]).rows if r.department_id == h["dept"].id)
    assert (row.closed, row.closed_on_time, row.on_time_rate) == (1, 0, 0.0)


def test_refused_extension_keeps_the_due_date(client, db, handed_over, token_for):
    h = handed_over
    problem, original = h["problem"], h["problem"].due_on
    transition(client, token_for(h["liaison"]), problem, action="request_extension",
               requested_due_on=(local_today() + timedelta(days=9)).isoformat(),
               comment="人手不足")
    refused = transition(client, token_for(h["admin"]), problem, action="decide_extension",
                         approve=False, comment="理由不充分，按期整改")
    assert refused.status_code == 200
    body = refused.get_json()
    assert body["due_on"] == body["original_due_on"] == original.isoformat()
    assert body["extension_requested_on"] is None
    assert body["events"][-1]["data"]["approve"] is False


def test_extension_rules(client, db, handed_over, token_for, make_user):
    h = handed_over
    problem = h["problem"]
    dept_headers = token_for(h["liaison"])
    # the new date must be later than the current one, and a reason is required
    early = transition(client, dept_headers, problem, action="request_extension",
                       requested_due_on=problem.due_on.isoformat(), comment="x")
    assert early.status_code == 400 and "requested_due_on" in early.get_json()["error"]["fields"]
    silent = transition(client, dept_headers, problem, action="request_extension",
                        requested_due_on="2099-01-01")
    assert silent.status_code == 400 and "comment" in silent.get_json()["error"]["fields"]
    # nothing to decide yet
    assert transition(client, token_for(h["admin"]), problem, action="decide_extension",
                      approve=True).status_code == 409
    # a department may not decide, the supervisor may not ask
    transition(client, dept_headers, problem, action="request_extension",
               requested_due_on="2099-01-01", comment="设备延期")
    assert transition(client, dept_headers, problem, action="decide_extension",
                      approve=True).status_code == 403
    assert transition(client, dept_headers, problem, action="request_extension",
                      requested_due_on="2099-02-01", comment="再次申请").status_code == 409
    assert transition(client, token_for(h["sup"]), problem, action="decide_extension",
                      approve=True).status_code == 403
    # approve must be a boolean
    bad = transition(client, token_for(h["admin"]), problem, action="decide_extension",
                     approve="maybe")
    assert bad.status_code == 400 and "approve" in bad.get_json()["error"]["fields"]
    db.session.refresh(problem)
    assert problem.due_on == problem.original_due_on


def test_extension_through_the_pages(client, db, handed_over, login):
    h = handed_over
    problem = h["problem"]
    requested = local_today() + timedelta(days=15)
    login(h["liaison"])
    response = client.post(f"/problems/{problem.id}/actions/request_extension",
                           data={"requested_due_on": requested.isoformat(),
                                 "comment": "雨季施工受限"})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    client.post("/logout")
    login(h["admin"])
    html = client.get("/").get_data(as_text=True)
    assert "延期申请待审批" in html and problem.title in html
    assert f"申请延期至 {requested.year}年{requested.month}月{requested.day}日" in html
    response = client.post(f"/problems/{problem.id}/actions/decide_extension",
                           data={"approve": "true", "comment": "同意"})
    assert response.status_code == 302
    db.session.refresh(problem)
    assert problem.due_on == requested and problem.original_due_on < local_today()


def test_extensions_are_documented_in_openapi(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    text = str(spec)
    for word in ("request_extension", "requested_due_on", "decide_extension", "approve",
                 "instruct", "co_department_ids", "escalate"):
        assert word in text, word
    assert "/api/v1/my-work" in spec["paths"]
