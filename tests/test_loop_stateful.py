"""Random action sequences by random actors over several problems (Hypothesis stateful).

After every step: replaying each problem's event log gives its current state; `closed_at` is set
exactly when it is closed; a refused action changed nothing; versions only grow; a taken action
appended exactly one event whose move is one DOMAIN.md allows.

`make test` runs a modest number of examples; HYPOTHESIS_PROFILE=thorough runs many more.
"""
import os
from collections import Counter
from datetime import date, timedelta

import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import event as note
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from tracker import workflow
from tracker.extensions import db as _db
from tracker.models import Problem, ProblemEvent, ProblemStatus as S
from tracker.services import problems as service
from tracker.workflow import WorkflowError

settings.register_profile("default", max_examples=15, stateful_step_count=25, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=300, stateful_step_count=40, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
PROFILE = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

TAKEN: Counter = Counter()  # what the runs did, printed with LOOP_STATS=1 (and -s)
ACTIVE = [S.open, S.assigned, S.rectifying, S.rectified]
# DOMAIN.md's moves, by hand: action -> {from: to}; None = the state does not change.
MOVES = {
    "assign": {S.open: S.assigned},
    "accept": {S.assigned: S.rectifying},
    "report": {S.rectifying: S.rectified},
    "close": {S.rectified: S.closed},
    "reopen": {S.rectified: S.rectifying, S.closed: S.rectifying},
    "escalate": {s: None for s in ACTIVE},
    "request_extension": {S.assigned: None, S.rectifying: None},
    "decide_extension": {S.assigned: None, S.rectifying: None},
    "set_due": {S.assigned: None, S.rectifying: None, S.rectified: None},
    "transfer": {S.assigned: None, S.rectifying: None, S.rectified: None, S.closed: None},
    "instruct": {s: None for s in S},
    "comment": {s: None for s in S},
    "withdraw": {s: S.withdrawn for s in ACTIVE},  # last: drawn less often, it ends a problem
}
# Who DOMAIN.md lets take each action (lead: the department the problem is handed to).
WHO = {"assign": ["own_supervisor", "admin"], "accept": ["lead", "admin"],
       "report": ["lead", "admin"], "close": ["own_supervisor", "admin"],
       "reopen": ["own_supervisor", "admin"], "withdraw": ["admin"], "escalate": ["admin"],
       "request_extension": ["lead", "admin"], "decide_extension": ["admin"],
       "set_due": ["admin"], "transfer": ["admin"], "instruct": ["viewer", "admin"],
       "comment": ["own_supervisor", "lead", "co", "admin"]}
ROLES = ["admin", "viewer", "own_supervisor", "other_supervisor", "lead", "co", "other_dept"]
TEXTS = st.sampled_from(["已整改", "回访发现仍未整改到位", "", "   ", "x" * 5001])
FUTURE = st.integers(min_value=-3, max_value=60).map(lambda d: date.today() + timedelta(days=d))


def mostly(draw, usual, other):
    """Draw from `usual` four times in five, else from `other`."""
    return draw(usual) if draw(st.sampled_from([True] * 4 + [False])) else draw(other)


def fields_for(action: str, draw, depts) -> dict:
    """Plausible and implausible fields for `action` (missing, wrong, out of range)."""
    def maybe(strategy):  # now and then a field is left out
        return None if draw(st.sampled_from([False] * 5 + [True])) else draw(strategy)

    fields = {"comment": maybe(TEXTS)}
    if action in ("assign", "transfer"):
        fields["department_id"] = maybe(st.sampled_from([d.id for d in depts] + [999999]))
    if action == "assign":
        fields["handling_class"] = maybe(st.sampled_from([1, 5, 10, 7]))
        fields["co_department_ids"] = maybe(st.lists(st.sampled_from([d.id for d in depts]),
                                                     max_size=2))
    if action == "accept":
        fields["plan"] = maybe(st.sampled_from(["分三步整改", ""]))
        fields["planned_on"] = maybe(FUTURE.map(date.isoformat))
    if action in ("close", "reopen"):
        fields["satisfaction"] = maybe(st.sampled_from(
            ["very_satisfied", "satisfied", "basic", "dissatisfied", "very_dissatisfied", "meh"]))
    if action == "escalate":
        fields["level"] = maybe(st.integers(min_value=0, max_value=4))
    if action == "request_extension":
        fields["requested_due_on"] = maybe(FUTURE.map(date.isoformat))
    if action == "decide_extension":
        fields["approve"] = maybe(st.booleans())
    if action == "set_due":
        fields["due_on"] = maybe(FUTURE.map(date.isoformat))
    return fields


def test_random_sequences_keep_the_log_and_the_state_in_step(
        db, admin, make_user, make_department, make_project):
    depts = [make_department() for _ in range(3)]
    lead, co, other = depts
    own, stranger = make_user("supervisor"), make_user("supervisor")
    actors = {"admin": admin, "viewer": make_user("viewer"), "own_supervisor": own,
              "other_supervisor": stranger, "lead": make_user("department", department=lead),
              "co": make_user("department", department=co),
              "other_dept": make_user("department", department=other)}
    project = make_project(supervisor=own)
    make_project(supervisor=stranger)

    class Loop(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.ids = [workflow.record(project, own, title=f"问题{i}").id for i in range(3)]
            db.session.commit()
            self.versions = {pid: db.session.get(Problem, pid).version for pid in self.ids}

        @rule(data=st.data(), which=st.integers(min_value=0, max_value=2),
              stale=st.sampled_from([False] * 9 + [True]))
        def act(self, data, which, stale):
            problem = db.session.get(Problem, self.ids[which])
            # Mostly an action the state allows (so problems travel the loop), sometimes any.
            legal = [a for a, moves in MOVES.items() if problem.status in moves]
            action = mostly(data.draw, st.sampled_from(legal), st.sampled_from(list(MOVES)))
            # Mostly someone the domain lets take it, sometimes anyone at all.
            role = mostly(data.draw, st.sampled_from(WHO[action]), st.sampled_from(ROLES))
            fields = {k: v for k, v in fields_for(action, data.draw, depts).items()
                      if v is not None}
            before = snapshot(problem)
            version = problem.version - 1 if stale else problem.version
            try:
                taken = service.take_action(actors[role], problem, action, version=version,
                                            **fields)
                db.session.commit()
            except Exception as error:
                db.session.rollback()  # keep the session usable while Hypothesis shrinks
                if not isinstance(error, WorkflowError):
                    raise
                db.session.rollback()
                TAKEN[f"refused ({type(error).__name__})"] += 1
                assert snapshot(db.session.get(Problem, self.ids[which])) == before, \
                    f"refused {action} by {role} changed the problem"
                note("refused")
                return
            assert not stale, "a stale version was accepted"
            assert before[0] in MOVES[action], f"{action} taken from {before[0]}"
            expected = MOVES[action][before[0]] or before[0]
            assert (taken.from_status, taken.to_status) == (before[0], expected)
            note(f"took {action} → {expected.value}")
            TAKEN[f"{action}→{expected.value}"] += 1
            after = snapshot(db.session.get(Problem, self.ids[which]))
            assert after[-1] == before[-1] + 1, "exactly one event per action"

        @invariant()
        def log_replays_to_state(self):
            db.session.expire_all()
            assert_log_replays(self.ids, self.versions)

    run_state_machine_as_test(Loop, settings=PROFILE)
    if os.environ.get("LOOP_STATS"):
        print(sorted(TAKEN.items(), key=lambda kv: -kv[1]))


def assert_log_replays(ids: list[int], versions: dict[int, int]) -> None:
    """Each problem's log replays to its state, closed_at matches, versions only grew."""
    for pid in ids:
        problem = _db.session.get(Problem, pid)
        state = None
        for event in _db.session.scalars(sa.select(ProblemEvent).where(
                ProblemEvent.problem_id == pid).order_by(ProblemEvent.id)):
            assert event.from_status == state, "the log's chain is broken"
            state = event.to_status
        assert state == problem.status
        assert (problem.closed_at is not None) == (problem.status is S.closed)
        assert problem.version >= versions[pid], "a version went down"
        versions[pid] = problem.version


def snapshot(problem: Problem) -> tuple:
    events = _db.session.scalar(sa.select(sa.func.count()).select_from(ProblemEvent)
                               .where(ProblemEvent.problem_id == problem.id))
    return (problem.status, problem.version, problem.due_on, problem.original_due_on,
            problem.department_id, tuple(sorted(d.id for d in problem.co_departments)),
            problem.escalation, problem.closed_at, problem.satisfaction,
            problem.extension_requested_on, problem.plan, events)
