"""Escalation and accountability (问责): admin raises the level 1 提醒 → 2 督办 → 3 问责; at level 3
the problem carries the accountability record, shown on the problem page with admin's form.
Leader instructions (领导批示) show at the top of the problem page, newest first."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tracker import workflow
from tracker.calendar import local_today
from tracker.models import AccountabilityRecord, AuditEntry, Outcome, ProblemStatus as S


@pytest.fixture
def case(db, admin, make_user, make_department, make_project, make_problem):
    dept = make_department(name="县自然资源局")
    sup = make_user("supervisor")
    project = make_project(supervisor=sup, name="衡东县印章产业园")
    problem = make_problem(project, S.rectifying, department=dept, title="征地拆迁补偿不到位")
    return dict(problem=problem, dept=dept, sup=sup,
                liaison=make_user("department", department=dept),
                viewer=make_user("viewer", name="县长"))


def escalate(client, headers, problem, level):
    return client.post(f"/api/v1/problems/{problem.id}/transitions", headers=headers,
                       json={"action": "escalate", "level": level})


def test_escalation_rises_step_by_step_through_the_api(client, db, admin, case, token_for):
    problem, headers = case["problem"], token_for(admin)
    assert escalate(client, headers, problem, 1).get_json()["escalation"] == 1
    assert escalate(client, headers, problem, 2).get_json()["escalation"] == 2
    lower = escalate(client, headers, problem, 1)
    assert lower.status_code == 400 and "level" in lower.get_json()["error"]["fields"]
    assert escalate(client, headers, problem, 4).status_code == 400
    assert escalate(client, token_for(case["sup"]), problem, 3).status_code == 403
    top = escalate(client, headers, problem, 3).get_json()
    assert top["escalation"] == 3 and top["status"] == "rectifying"  # state unchanged
    assert [e["data"].get("level") for e in top["events"] if e["action"] == "escalate"] == [1, 2, 3]
    assert escalate(client, headers, problem, 3).status_code == 409  # already the highest
    items = client.get("/api/v1/my-work", headers=headers).get_json()["items"]
    assert ("escalated", problem.id) in {(i["kind"], i.get("problem_id")) for i in items}


def test_accountability_section_appears_at_level_three_only(client, db, admin, case, login):
    problem = case["problem"]
    login(admin)
    url = f"/problems/{problem.id}"
    workflow.apply(problem, "escalate", admin, level=2)
    db.session.commit()
    assert 'id="accountability"' not in client.get(url).get_data(as_text=True)
    workflow.apply(problem, "escalate", admin, level=3)
    db.session.commit()
    html = client.get(url).get_data(as_text=True)
    assert 'id="accountability"' in html and 'id="accountability-form"' in html
    for label in ("谈话提醒", "批评教育", "政务警告", "政务记过", "党内严重警告", "其他"):
        assert label in html


def test_admin_records_the_person_and_the_decision(client, db, admin, case, login):
    problem = case["problem"]
    workflow.apply(problem, "escalate", admin, level=3)
    db.session.commit()
    login(admin)
    decided_on = local_today() - timedelta(days=2)
    response = client.post(f"/problems/{problem.id}/accountability",
                           data={"subject": "县自然资源局征收科 张某", "outcome": "talk",
                                 "decided_on": decided_on.isoformat(), "note": "约谈整改"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/problems/{problem.id}#accountability")
    record = db.session.scalar(sa.select(AccountabilityRecord))
    assert (record.subject, record.outcome, record.decided_on, record.note) == (
        "县自然资源局征收科 张某", Outcome.talk, decided_on, "约谈整改")
    entry = db.session.scalar(sa.select(AuditEntry).where(
        AuditEntry.action == "accountability.record"))
    assert entry.object_id == problem.id and entry.actor_id == admin.id
    html = client.get(f"/problems/{problem.id}").get_data(as_text=True)
    assert "县自然资源局征收科 张某" in html and "谈话提醒" in html


def test_a_pending_record_gets_its_decision_later(client, db, admin, case, login):
    problem = case["problem"]
    workflow.apply(problem, "escalate", admin, level=3)
    db.session.commit()
    login(admin)
    client.post(f"/problems/{problem.id}/accountability", data={"subject": "县自然资源局"})
    record = db.session.scalar(sa.select(AccountabilityRecord))
    assert record.outcome is None and record.decided_on is None
    assert "处理结果待定" in client.get(f"/problems/{problem.id}").get_data(as_text=True)
    url = f"/problems/{problem.id}/accountability/{record.id}"
    client.post(url, data={"outcome": "warning"})  # no date: refused
    db.session.refresh(record)
    assert record.outcome is None
    client.post(url, data={"outcome": "warning", "decided_on": local_today().isoformat()})
    db.session.refresh(record)
    assert record.outcome is Outcome.warning and record.decided_on == local_today()
    # a decided record stays as it is
    client.post(url, data={"outcome": "demerit", "decided_on": local_today().isoformat()})
    db.session.refresh(record)
    assert record.outcome is Outcome.warning


@pytest.mark.parametrize("data, field_message", [
    ({"subject": ""}, "问责对象"),
    ({"subject": "张某", "outcome": "talk"}, "请填写决定日期"),
    ({"subject": "张某", "decided_on": "2026-01-05"}, "请选择处理结果"),
    ({"subject": "张某", "outcome": "talk", "decided_on": "2999-01-01"}, "不能晚于今天"),
    ({"subject": "张某", "outcome": "exile", "decided_on": "2026-01-05"}, "处理结果"),
])
def test_bad_input_is_refused_with_a_message_and_nothing_written(client, db, admin, case, login,
                                                                 data, field_message):
    problem = case["problem"]
    workflow.apply(problem, "escalate", admin, level=3)
    db.session.commit()
    login(admin)
    response = client.post(f"/problems/{problem.id}/accountability", data=data,
                           follow_redirects=True)
    assert response.status_code == 200
    assert field_message in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(AccountabilityRecord.id))) == 0


def test_only_admin_records_and_only_at_level_three(client, db, admin, case, login):
    problem = case["problem"]
    login(admin)
    client.post(f"/problems/{problem.id}/accountability", data={"subject": "张某"},
                follow_redirects=True)
    assert db.session.scalar(sa.select(sa.func.count(AccountabilityRecord.id))) == 0
    workflow.apply(problem, "escalate", admin, level=3)
    db.session.commit()
    client.post("/logout")
    login(case["viewer"])
    assert client.post(f"/problems/{problem.id}/accountability",
                       data={"subject": "张某"}).status_code == 403
    assert db.session.scalar(sa.select(sa.func.count(AccountabilityRecord.id))) == 0


def test_who_reads_the_record(client, db, admin, case, login):
    problem = case["problem"]
    workflow.apply(problem, "escalate", admin, level=3)
    db.session.commit()
    login(admin)
    client.post(f"/problems/{problem.id}/accountability",
                data={"subject": "征收科 李某", "outcome": "criticism",
                      "decided_on": local_today().isoformat()})
    client.post("/logout")
    login(case["viewer"])
    html = client.get(f"/problems/{problem.id}").get_data(as_text=True)
    assert "征收科 李某" in html and "批评教育" in html and 'id="accountability-form"' not in html
    client.post("/logout")
    login(case["liaison"])
    html = client.get(f"/problems/{problem.id}").get_data(as_text=True)
    assert 'id="accountability"' in html and "征收科 李某" not in html


def test_leader_instructions_show_at_the_top_newest_first(client, db, admin, case, login,
                                                          token_for):
    problem, viewer = case["problem"], case["viewer"]
    headers = token_for(viewer)
    for text in ("请县自然资源局一周内拿出方案", "务必月底前补偿到位"):
        response = client.post(f"/api/v1/problems/{problem.id}/transitions", headers=headers,
                               json={"action": "instruct", "comment": text})
        assert response.status_code == 200
    login(case["liaison"])
    html = client.get(f"/problems/{problem.id}").get_data(as_text=True)
    section = html.index('id="leader-instructions"')
    first, second = html.index("务必月底前补偿到位"), html.index("请县自然资源局一周内拿出方案")
    assert section < first < second < html.index("<h1")
    assert "县长" in html[section:second]
    db.session.refresh(problem)
    assert problem.status is S.rectifying
