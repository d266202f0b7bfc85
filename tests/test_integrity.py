"""The problem log no one can quietly rewrite: database guards and the hash chain."""
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from tracker import workflow
from tracker.models import ProblemEvent, ProblemStatus
from tracker.models.guards import remove_event_guards


@pytest.fixture
def history(db, admin, make_user, make_project, make_problem, make_department):
    project = make_project(supervisor=make_user("supervisor"))
    dept = make_department()
    problems = [make_problem(project, ProblemStatus.closed, department=dept),
                make_problem(project, ProblemStatus.rectifying, department=dept)]
    workflow.apply(problems[1], "comment", admin, comment="督促加快")
    db.session.commit()
    return problems


@pytest.mark.parametrize("statement", [
    "UPDATE problem_events SET comment = 'rewritten'",
    "DELETE FROM problem_events",
])
def test_database_refuses_changes_to_the_log(db, history, statement):
    with pytest.raises(DBAPIError) as refused:
        db.session.execute(sa.text(statement))
        db.session.flush()
    assert "append-only" in str(refused.value)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(ProblemEvent.id))) == 9


def test_events_are_chained_per_problem(db, history):
    events = db.session.scalars(sa.select(ProblemEvent).where(
        ProblemEvent.problem_id == history[0].id).order_by(ProblemEvent.id)).all()
    assert events[0].prev_hash is None
    for earlier, later in zip(events, events[1:]):
        assert later.prev_hash == earlier.hash
    assert all(e.hash == e.compute_hash() for e in events)


def test_verify_log_names_the_first_broken_link(db, runner, history):
    result = runner.invoke(args=["verify-log"])
    assert result.exit_code == 0 and "9 events of 2 problems" in result.output
    target = db.session.scalars(sa.select(ProblemEvent).where(
        ProblemEvent.problem_id == history[1].id).order_by(ProblemEvent.id)).all()[2]
    # Someone with direct database access lifts the guard and edits one comment.
    connection = db.session.connection()
    remove_event_guards(connection)
    connection.execute(sa.text("UPDATE problem_events SET comment = 'quietly changed' "
                               "WHERE id = :id"), {"id": target.id})
    db.session.commit()
    db.session.expire_all()
    result = runner.invoke(args=["verify-log"])
    assert result.exit_code != 0
    assert f"broken link at problem event {target.id}" in result.output
