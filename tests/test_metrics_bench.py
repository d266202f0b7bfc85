"""`flask seed-bench` builds a synthetic history the figures can trust: checked here against a
replay of the event log in plain Python on a few past days."""
from collections import defaultdict
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from tracker.calendar import TZ, local_today
from tracker.models import Problem, ProblemEvent
from tracker.reports import metrics


def _replay(db, day: date) -> dict:
    """Headline figures as of `day` from the log alone, one event at a time (the reference)."""
    bound = metrics.bound_of(day)
    state, due = {}, {}
    events = db.session.execute(
        sa.select(ProblemEvent.problem_id, ProblemEvent.action, ProblemEvent.to_status,
                  ProblemEvent.at, ProblemEvent.data)
        .order_by(ProblemEvent.at, ProblemEvent.id)).all()
    closed_on = defaultdict(lambda: None)
    for pid, action, to, at, data in events:
        if at >= bound:
            continue
        state[pid] = to.value
        if data.get("due_on"):
            due[pid] = data["due_on"]
        if action.value == "close":
            closed_on[pid] = at.astimezone(TZ).date().isoformat()
    original = dict(db.session.execute(sa.select(Problem.id, Problem.original_due_on)).all())
    active = {"open", "assigned", "rectifying", "rectified"}
    closed = [p for p, s in state.items() if s == "closed"]
    return {
        "registered": len(state),
        "withdrawn": sum(s == "withdrawn" for s in state.values()),
        "closed": len(closed),
        "closed_on_time": sum(1 for p in closed
                              if original[p] and closed_on[p] <= original[p].isoformat()),
        "overdue": sum(1 for p, s in state.items()
                       if s in active and p in due and due[p] < day.isoformat()),
    }


@pytest.fixture
def bench(db, runner):
    result = runner.invoke(args=["seed-bench", "--projects", "6", "--problems", "300"])
    assert result.exit_code == 0, result.output
    assert "seeded 6 projects" in result.output
    return result.output


def test_seed_bench_fills_every_state_with_a_verifiable_log(bench, db, runner):
    states = dict(db.session.execute(
        sa.select(Problem.status, sa.func.count()).group_by(Problem.status)).all())
    assert sum(states.values()) == 300
    assert {s.value for s in states} >= {"closed", "withdrawn", "rectifying"}
    verify = runner.invoke(args=["verify-log"])
    assert verify.exit_code == 0, verify.output


def test_figures_agree_with_a_replay_of_the_log(bench, db):
    today = local_today()
    for day in (today - timedelta(days=700), today - timedelta(days=365),
                today - timedelta(days=30), today - timedelta(days=1), today):
        f = metrics.headline(None, day).figures
        got = {"registered": f.registered, "withdrawn": f.withdrawn, "closed": f.closed,
               "closed_on_time": f.closed_on_time, "overdue": f.overdue}
        assert got == _replay(db, day), day


def test_dashboard_in_one_pass_agrees_with_each_figure_on_two_years(bench, db):
    """Six projects, 20-odd departments and every state: the dashboard's single statement says
    what each figure function says alone, today and on past days."""
    from tracker.models import User

    admin = db.session.scalar(sa.select(User).where(User.username == "admin"))
    today = local_today()
    for day in (today - timedelta(days=365), today - timedelta(days=30), today):
        board = metrics.dashboard(admin, day, with_stale=False)
        assert board.headline == metrics.headline(admin, day)
        for group in ("stage", "department", "supervisor", "project"):
            assert board.by[group] == metrics.closure(admin, group, day), (day, group)
        assert board.ageing == metrics.ageing(admin, day)
        assert board.oldest_overdue == metrics.oldest_overdue(admin, day)
        assert board.durations == metrics.durations(admin, day)
        assert board.open_by_stage == metrics.open_by_stage(admin, day)
        assert board.satisfaction == metrics.satisfaction(admin, day)
        assert board.headline.figures.overdue == _replay(db, day)["overdue"]
    monday = metrics.last_full_week()
    sunday_board = metrics.board(admin, monday + timedelta(days=6))
    assert metrics.weekly_series(admin, monday, 12, totals=sunday_board.headline.figures) == \
        metrics.weekly_series(admin, monday, 12)


def test_seed_bench_refuses_a_database_that_is_not_empty(bench, runner):
    result = runner.invoke(args=["seed-bench", "--projects", "1", "--problems", "1"])
    assert result.exit_code != 0 and "not empty" in result.output
