"""Eight threads acting on the same problems at once through the API: no lost update, no
duplicate or missing event, no 500; stale requests get 409."""
import threading
from collections import Counter

import sqlalchemy as sa
from flask.testing import FlaskClient

from tracker.models import Problem, ProblemEvent, ProblemStatus
from tracker.services.integrity import verify_chain

THREADS = 8
ROUNDS = 6


def test_eight_threads_on_the_same_problems(app, db, admin, make_user, make_project,
                                            make_problem, make_department, token_for):
    dept = make_department()
    project = make_project(supervisor=make_user("supervisor"))
    problems = [make_problem(project, ProblemStatus.rectifying, department=dept) for _ in range(3)]
    ids = [p.id for p in problems]
    before = {p.id: (p.version, len(p.events)) for p in problems}
    headers = token_for(admin)
    statuses: Counter = Counter()
    successes: Counter = Counter()
    reported: Counter = Counter()
    codes: Counter = Counter()
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def worker(n: int):
        client = FlaskClient(app)  # no outer app context in this thread: each request its own
        start.wait()
        for round_ in range(ROUNDS):
            problem_id = ids[(n + round_) % len(ids)]
            seen = client.get(f"/api/v1/problems/{problem_id}", headers=headers).get_json()
            action = {"action": "comment", "comment": f"线程{n}第{round_}次"}
            if round_ == ROUNDS - 1:
                action = {"action": "report", "comment": f"线程{n}反馈整改"}
            response = client.post(f"/api/v1/problems/{problem_id}/transitions", headers=headers,
                                   json={**action, "version": seen["version"]})
            with lock:
                statuses[response.status_code] += 1
                if response.status_code == 200:
                    successes[problem_id] += 1
                    if action["action"] == "report":
                        reported[problem_id] += 1
                else:
                    codes[response.get_json()["error"]["code"]] += 1

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert set(statuses) <= {200, 409}, statuses
    assert statuses[200] + statuses[409] == THREADS * ROUNDS
    assert statuses[200] >= len(ids)
    assert set(codes) <= {"stale_version", "illegal_move"}, codes
    db.session.expire_all()
    for problem_id in ids:
        problem = db.session.get(Problem, problem_id)
        version0, events0 = before[problem_id]
        events = db.session.scalar(sa.select(sa.func.count(ProblemEvent.id))
                                   .where(ProblemEvent.problem_id == problem_id))
        assert events == events0 + successes[problem_id], "one event per accepted action"
        assert problem.version == version0 + successes[problem_id], "no lost update"
        assert reported[problem_id] <= 1, "a problem can be reported rectified only once"
        assert (problem.status is ProblemStatus.rectified) == (reported[problem_id] == 1)
    assert verify_chain().ok
