"""The problem lifecycle of DOMAIN.md: every (state, action) pair, the actors, the due dates."""
from datetime import date

import pytest
import sqlalchemy as sa

from tracker import workflow
from tracker.calendar import WorkCalendar
from tracker.models import Problem, ProblemEvent, ProblemStatus as S
from tracker.workflow import IllegalMove, InvalidFields, NotAllowed, StaleVersion

from .conftest import utc

# What DOMAIN.md allows, written out by hand: action -> {from state: to state (None = unchanged)}.
ACTIVE = [S.open, S.assigned, S.rectifying, S.rectified]
EXPECTED = {
    "assign": {S.open: S.assigned},
    "accept": {S.assigned: S.rectifying},
    "report": {S.rectifying: S.rectified},
    "close": {S.rectified: S.closed},
    "reopen": {S.rectified: S.rectifying, S.closed: S.rectifying},
    "withdraw": {s: S.withdrawn for s in ACTIVE},
    "escalate": {s: None for s in ACTIVE},
    "request_extension": {S.assigned: None, S.rectifying: None},
    "decide_extension": {S.assigned: None, S.rectifying: None},
    "set_due": {S.assigned: None, S.rectifying: None, S.rectified: None},
    "transfer": {S.assigned: None, S.rectifying: None, S.rectified: None, S.closed: None},
    "instruct": {s: None for s in S},
    "comment": {s: None for s in S},
}


def fields_for(action, dept, other_dept):
    return {
        "assign": {"department_id": dept.id, "handling_class": 5},
        "accept": {},
        "report": {"comment": "已完成整改"},
        "close": {"satisfaction": "very_satisfied"},
        "reopen": {"comment": "回访发现未整改到位"},
        "withdraw": {"comment": "重复登记"},
        "escalate": {"level": 2},
        "request_extension": {"requested_due_on": "2099-12-31", "comment": "设备到货延迟"},
        "decide_extension": {"approve": True},
        "set_due": {"due_on": "2099-06-30", "comment": "领导要求提前"},
        "transfer": {"department_id": other_dept.id, "comment": "单位合并"},
        "instruct": {"comment": "请加快办理"},
        "comment": {"comment": "已电话督促"},
    }[action]


def snapshot(db, problem):
    db.session.refresh(problem)
    events = db.session.scalar(sa.select(sa.func.count()).select_from(ProblemEvent)
                               .where(ProblemEvent.problem_id == problem.id))
    return (problem.status, problem.version, problem.due_on, problem.escalation,
            problem.department_id, problem.closed_at, events)


@pytest.mark.parametrize("state", list(S))
@pytest.mark.parametrize("action", list(EXPECTED))
def test_every_state_action_pair(db, admin, make_user, make_project, make_problem,
                                 make_department, state, action):
    dept, other = make_department(), make_department()
    project = make_project(supervisor=make_user("supervisor"))
    problem = make_problem(project, state, department=dept)
    if action == "decide_extension" and state in EXPECTED[action]:
        workflow.apply(problem, "request_extension", admin, requested_due_on="2099-12-31",
                       comment="申请延期")
        db.session.commit()
    before = snapshot(db, problem)

    if state in EXPECTED[action]:
        event = workflow.apply(problem, action, admin, version=problem.version,
                               **fields_for(action, dept, other))
        db.session.commit()
        expected = EXPECTED[action][state] or state
        assert problem.status is expected
        assert event.from_status is state and event.to_status is expected
        assert event.action.value == action and event.actor_id == admin.id
        after = snapshot(db, problem)
        assert after[1] == before[1] + 1, "every action bumps the version"
        assert after[-1] == before[-1] + 1, "every action appends exactly one event"
        assert (problem.closed_at is not None) == (problem.status is S.closed)
    else:
        with pytest.raises(IllegalMove):
            workflow.apply(problem, action, admin, **fields_for(action, dept, other))
        db.session.rollback()
        assert snapshot(db, problem) == before


def test_assign_sets_due_date_five_working_days_across_spring_festival(
        db, admin, make_user, make_project, make_department):
    # 2026 Spring Festival: 15–23 February off; Saturday 14 and 28 February are make-up workdays.
    dept = make_department()
    project = make_project(supervisor=make_user("supervisor"))
    problem = workflow.record(project, admin, title="审批超时", at=utc(2026, 2, 12, 2, 0))
    workflow.apply(problem, "assign", admin, department_id=dept.id, handling_class=5,
                   at=utc(2026, 2, 12, 2, 0))
    # Thu 12 Feb → 13 (Fri), 14 (make-up Sat), 24, 25, 26 → due Thu 26 Feb.
    assert problem.due_on == date(2026, 2, 26)
    assert problem.original_due_on == date(2026, 2, 26)


def test_calendar_make_up_saturday_counts_and_holidays_do_not():
    cal = WorkCalendar()
    assert cal.is_workday(date(2026, 2, 28))       # make-up Saturday
    assert not cal.is_workday(date(2026, 2, 17))   # Spring Festival
    assert cal.add_working_days(date(2026, 2, 27), 1) == date(2026, 2, 28)
    assert cal.add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert cal.add_working_days(date(2026, 2, 14), 1) == date(2026, 2, 24)


def test_calendar_falls_back_to_weekdays_and_entries_take_precedence():
    cal = WorkCalendar()
    # 2027 is unknown to the package: Monday to Friday.
    assert cal.add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 1)
    entered = WorkCalendar({date(2027, 1, 1): False, date(2027, 1, 2): False,
                            date(2027, 1, 3): False, date(2027, 1, 4): True})
    assert entered.add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 4)
    assert entered.working_days_between(date(2026, 12, 31), date(2027, 1, 5)) == 2


def test_class_one_is_due_next_working_day(db, admin, make_user, make_project, make_department):
    project = make_project(supervisor=make_user("supervisor"))
    problem = workflow.record(project, admin, title="当天办结", at=utc(2026, 5, 8, 1))
    # Friday 8 May 2026 → Saturday 9 May is a make-up working day.
    workflow.apply(problem, "assign", admin, department_id=make_department().id,
                   handling_class=1, at=utc(2026, 5, 8, 1))
    assert problem.due_on == date(2026, 5, 9)


def test_class_ten_accept_needs_plan_and_takes_its_date(db, admin, make_user, make_project,
                                                        make_department):
    dept = make_department()
    liaison = make_user("department", department=dept)
    project = make_project(supervisor=make_user("supervisor"))
    problem = workflow.record(project, admin, title="疑难问题")
    workflow.apply(problem, "assign", admin, department_id=dept.id, handling_class=10)
    db.session.commit()
    with pytest.raises(InvalidFields) as refused:
        workflow.apply(problem, "accept", liaison)
    assert set(refused.value.fields) == {"plan", "planned_on"}
    db.session.rollback()
    workflow.apply(problem, "accept", liaison, plan="分三步整改", planned_on="2099-03-01")
    assert problem.due_on == date(2099, 3, 1) and problem.status is S.rectifying


def test_close_with_dissatisfied_rating_is_refused(db, admin, make_user, make_project,
                                                   make_problem, make_department):
    supervisor = make_user("supervisor")
    problem = make_problem(make_project(supervisor=supervisor), S.rectified,
                           department=make_department())
    with pytest.raises(InvalidFields) as refused:
        workflow.apply(problem, "close", supervisor, satisfaction="dissatisfied")
    assert "satisfaction" in refused.value.fields
    db.session.rollback()
    db.session.refresh(problem)
    assert problem.status is S.rectified
    with pytest.raises(InvalidFields):
        workflow.apply(problem, "reopen", supervisor, comment="")
    db.session.rollback()
    workflow.apply(problem, "reopen", supervisor, comment="企业不满意，未整改到位",
                   satisfaction="dissatisfied")
    assert problem.status is S.rectifying


def test_stale_version_is_refused(db, admin, make_user, make_project, make_problem,
                                  make_department):
    problem = make_problem(make_project(supervisor=make_user("supervisor")), S.open)
    old = problem.version
    workflow.apply(problem, "comment", admin, version=old, comment="第一条")
    db.session.commit()
    with pytest.raises(StaleVersion):
        workflow.apply(problem, "comment", admin, version=old, comment="第二条")


ROLE_CASES = [
    # (action, state, role, relation, allowed)
    ("assign", S.open, "supervisor", "own", True),
    ("assign", S.open, "supervisor", "other", False),
    ("assign", S.open, "department", "own", False),
    ("assign", S.open, "viewer", None, False),
    ("accept", S.assigned, "department", "own", True),
    ("accept", S.assigned, "department", "other", False),
    ("accept", S.assigned, "supervisor", "own", False),
    ("report", S.rectifying, "department", "own", True),
    ("report", S.rectifying, "supervisor", "own", False),
    ("close", S.rectified, "supervisor", "own", True),
    ("close", S.rectified, "supervisor", "other", False),
    ("close", S.rectified, "department", "own", False),
    ("reopen", S.rectified, "supervisor", "own", True),
    ("reopen", S.closed, "supervisor", "own", False),
    ("withdraw", S.open, "supervisor", "own", False),
    ("escalate", S.assigned, "supervisor", "own", False),
    ("instruct", S.assigned, "viewer", None, True),
    ("instruct", S.assigned, "supervisor", "own", False),
    ("request_extension", S.rectifying, "department", "own", True),
    ("decide_extension", S.rectifying, "department", "own", False),
]


@pytest.mark.parametrize("action,state,role,relation,allowed", ROLE_CASES)
def test_who_may_act(db, admin, make_user, make_project, make_problem, make_department,
                     action, state, role, relation, allowed):
    dept, other_dept = make_department(), make_department()
    supervisor, other_supervisor = make_user("supervisor"), make_user("supervisor")
    problem = make_problem(make_project(supervisor=supervisor), state, department=dept)
    actor = {
        ("supervisor", "own"): supervisor, ("supervisor", "other"): other_supervisor,
        ("department", "own"): make_user("department", department=dept),
        ("department", "other"): make_user("department", department=other_dept),
        ("viewer", None): make_user("viewer"),
    }[(role, relation)]
    if action == "decide_extension":
        workflow.apply(problem, "request_extension", admin, requested_due_on="2099-12-31",
                       comment="申请")
        db.session.commit()
    before = snapshot(db, problem)
    fields = fields_for(action, dept, other_dept)
    if allowed:
        workflow.apply(problem, action, actor, **fields)
        db.session.commit()
        assert snapshot(db, problem)[-1] == before[-1] + 1
    else:
        with pytest.raises(NotAllowed):
            workflow.apply(problem, action, actor, **fields)
        db.session.rollback()
        assert snapshot(db, problem) == before


def test_unknown_action_is_invalid(db, admin, make_user, make_project, make_problem):
    problem = make_problem(make_project(supervisor=make_user("supervisor")))
    with pytest.raises(InvalidFields):
        workflow.apply(problem, "explode", admin)


def test_available_actions_match_the_table(db, admin, make_user, make_project, make_problem,
                                           make_department):
    dept = make_department()
    supervisor = make_user("supervisor")
    liaison = make_user("department", department=dept)
    problem = make_problem(make_project(supervisor=supervisor), S.rectified, department=dept)
    assert [a.value for a in workflow.available_actions(problem, supervisor)] == \
        ["close", "reopen", "comment"]
    assert [a.value for a in workflow.available_actions(problem, liaison)] == ["comment"]
    assert "withdraw" in [a.value for a in workflow.available_actions(problem, admin)]


def test_a_co_department_named_twice_counts_once(db, admin, make_user, make_project,
                                                  make_department):
    lead, helper = make_department(), make_department()
    problem = workflow.record(make_project(supervisor=make_user("supervisor")), admin, title="协办")
    workflow.apply(problem, "assign", admin, department_id=lead.id, handling_class=5,
                   co_department_ids=[helper.id, helper.id, lead.id])
    db.session.commit()
    assert [d.id for d in problem.co_departments] == [helper.id]
