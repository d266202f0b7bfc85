"""The workflow under stress through the API: random action sequences by several actors with
their own bearer tokens (Hypothesis stateful). After every step: no server error and only the
contract's answers; a refused action changed nothing; an accepted one appended exactly one event
whose move DOMAIN.md allows; the log replays to the state; versions only grow.

`API_STRESS_SEQUENCES` sets the number of sequences (default 500 on SQLite, 100 on PostgreSQL)."""
import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from tracker import workflow
from tracker.models import Problem

from .test_loop_stateful import (MOVES, ROLES, WHO, assert_log_replays, fields_for, mostly,
                                 snapshot)

ANSWERS = {200, 400, 403, 404, 409}


def test_random_api_sequences_by_several_actors(app, db, database_url, admin, make_user,
                                                make_department, make_project, token_for):
    default = 500 if database_url.startswith("sqlite") else 100
    sequences = int(os.environ.get("API_STRESS_SEQUENCES", default))
    depts = [make_department() for _ in range(3)]
    lead, co, other = depts
    own, stranger = make_user("supervisor"), make_user("supervisor")
    actors = {"admin": admin, "viewer": make_user("viewer"), "own_supervisor": own,
              "other_supervisor": stranger, "lead": make_user("department", department=lead),
              "co": make_user("department", department=co),
              "other_dept": make_user("department", department=other)}
    headers = {role: token_for(user) for role, user in actors.items()}
    project = make_project(supervisor=own)
    client = app.test_client()
    counts = {"sequences": 0, "steps": 0, "taken": 0}

    class ApiLoop(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            counts["sequences"] += 1
            self.ids = [workflow.record(project, own, title=f"接口问题{i}").id for i in range(2)]
            db.session.commit()
            self.versions = {pid: db.session.get(Problem, pid).version for pid in self.ids}

        @rule(data=st.data(), which=st.integers(min_value=0, max_value=1),
              stale=st.sampled_from([False] * 9 + [True]))
        def act(self, data, which, stale):
            problem = db.session.get(Problem, self.ids[which])
            legal = [a for a, moves in MOVES.items() if problem.status in moves]
            action = mostly(data.draw, st.sampled_from(legal), st.sampled_from(list(MOVES)))
            role = mostly(data.draw, st.sampled_from(WHO[action]), st.sampled_from(ROLES))
            fields = {k: v for k, v in fields_for(action, data.draw, depts).items()
                      if v is not None}
            before = snapshot(problem)
            version = problem.version - 1 if stale else problem.version
            response = client.post(f"/api/v1/problems/{problem.id}/transitions",
                                   headers=headers[role],
                                   json={"action": action, "version": version, **fields})
            counts["steps"] += 1
            assert response.status_code in ANSWERS, (response.status_code, response.get_json())
            db.session.expire_all()
            after = snapshot(db.session.get(Problem, self.ids[which]))
            if response.status_code != 200:
                assert set(response.get_json()) == {"error"}
                assert after == before, f"refused {action} by {role} changed the problem"
                return
            counts["taken"] += 1
            assert not stale, "a stale version was accepted"
            expected = MOVES[action][before[0]] or before[0]
            assert response.get_json()["status"] == expected.value
            assert after[-1] == before[-1] + 1, "exactly one event per action"

        @invariant()
        def log_replays_to_state(self):
            assert_log_replays(self.ids, self.versions)

    run_state_machine_as_test(ApiLoop, settings=settings(
        max_examples=sequences, stateful_step_count=8, deadline=None, derandomize=True,
        suppress_health_check=list(HealthCheck)))
    assert counts["sequences"] >= sequences and counts["taken"] > 0
    print(f"API stress: {counts}")
