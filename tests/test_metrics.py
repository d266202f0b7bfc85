"""Headquarters' figures from hand-built histories, each number worked out by hand.

The story (March 2026 has no public holiday; W10 = 2–8 March, W11 = 9–15, W12 = 16–22):

- P1 (住建局, construction): recorded Mon 2 Mar, class 5 → due Mon 9 Mar; accepted 3rd,
  reported 4th, closed Thu 5 Mar (满意, on time). Reopened by admin Mon 16 Mar.
- P2 (construction): recorded 2 Mar, withdrawn Wed 4 Mar.
- P3 (发改局, approval): recorded 2 Mar, class 1 → due Tue 3 Mar; accepted 3rd, asked for an
  extension to Fri 13 Mar, approved Thu 5 Mar; reported 11th, closed Thu 12 Mar (非常满意): within
  the extended due date but after the original one, so not on time.
- P4 (construction): recorded Sun 8 Mar 23:30 Shanghai (15:30 UTC): week W10.
- P5 (construction): recorded Mon 9 Mar 00:10 Shanghai (Sun 16:10 UTC): week W11.
"""
from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from tracker import workflow
from tracker.models import Stage, SupervisorAssignment
from tracker.reports import metrics

SH = ZoneInfo("Asia/Shanghai")


def sh(month, day, hour=10, minute=0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SH)


@pytest.fixture
def history(db, admin, make_user, make_department, make_project):
    zjj = make_department(code="ZJJ", name="县住房和城乡建设局")
    fgj = make_department(code="FGJ", name="县发展和改革局")
    idle = make_department(code="SJJ", name="县审计局")  # never handed anything
    supervisor = make_user("supervisor", name="刘志强")
    site = make_project(supervisor=supervisor, stage=Stage.construction, name="印章产业园",
                        created_at=datetime(2026, 1, 5, tzinfo=timezone.utc))
    db.session.execute(sa.update(SupervisorAssignment).values(
        started_at=datetime(2026, 1, 5, tzinfo=timezone.utc)))
    db.session.commit()

    def act(problem, action, at, **fields):
        workflow.apply(problem, action, admin, at=at, **fields)

    p1 = workflow.record(site, admin, title="工资拖欠", at=sh(3, 2, 9))
    act(p1, "assign", sh(3, 2, 10), department_id=zjj.id, handling_class=5)
    act(p1, "accept", sh(3, 3))
    act(p1, "report", sh(3, 4), comment="已整改")
    act(p1, "close", sh(3, 5), satisfaction="satisfied")
    act(p1, "reopen", sh(3, 16), comment="问题反弹")

    p2 = workflow.record(site, admin, title="重复登记", at=sh(3, 2, 11))
    act(p2, "withdraw", sh(3, 4), comment="重复")

    p3 = workflow.record(site, admin, title="审批超时", stage=Stage.approval, at=sh(3, 2, 12))
    act(p3, "assign", sh(3, 2, 13), department_id=fgj.id, handling_class=1)
    act(p3, "accept", sh(3, 3))
    act(p3, "request_extension", sh(3, 3, 15), comment="需要协调", requested_due_on="2026-03-13")
    act(p3, "decide_extension", sh(3, 5), approve=True)
    act(p3, "report", sh(3, 11), comment="已办结")
    act(p3, "close", sh(3, 12), satisfaction="very_satisfied")

    p4 = workflow.record(site, admin, title="周日深夜登记", at=sh(3, 8, 23, 30))
    p5 = workflow.record(site, admin, title="周一凌晨登记", at=sh(3, 9, 0, 10))
    db.session.commit()
    assert p4.created_at == datetime(2026, 3, 8, 15, 30, tzinfo=timezone.utc)
    assert p5.created_at == datetime(2026, 3, 8, 16, 10, tzinfo=timezone.utc)
    return SimpleNamespace(zjj=zjj, fgj=fgj, idle=idle, supervisor=supervisor, site=site,
                           p1=p1, p2=p2, p3=p3, p4=p4, p5=p5, admin=admin)


def totals(user, day):
    return metrics.headline(user, day).figures


def test_before_any_event_there_is_nothing_and_no_rate(history):
    f = totals(None, date(2026, 3, 1))
    assert (f.registered, f.total, f.closed, f.open, f.overdue) == (0, 0, 0, 0, 0)
    assert f.closure_rate is None and f.on_time_rate is None


def test_first_day_counts_registrations_and_nothing_overdue(history):
    f = totals(None, date(2026, 3, 2))
    assert (f.registered, f.withdrawn, f.total, f.closed, f.open, f.overdue) == (3, 0, 3, 0, 3, 0)
    assert f.closure_rate == 0


def test_withdrawn_problems_leave_both_sides_of_the_rate(history):
    assert totals(None, date(2026, 3, 3)).withdrawn == 0
    f = totals(None, date(2026, 3, 4))
    # P1 rectifying, P2 withdrawn, P3 rectifying and overdue (due 3 Mar, extension not yet approved)
    assert (f.registered, f.withdrawn, f.total, f.closed, f.overdue) == (3, 1, 2, 0, 1)


def test_approved_extension_moves_the_due_date_in_force_from_that_day(history):
    assert totals(None, date(2026, 3, 4)).overdue == 1
    assert totals(None, date(2026, 3, 5)).overdue == 0  # due 13 Mar from the 5th on


def test_on_time_rate_keeps_the_original_due_date_after_an_extension(history):
    f = totals(None, date(2026, 3, 12))
    # P1 closed 5 Mar ≤ due 9 Mar: on time. P3 closed 12 Mar ≤ extended 13 Mar but > original 3 Mar.
    assert (f.registered, f.withdrawn, f.total, f.closed, f.closed_on_time) == (5, 1, 4, 2, 1)
    assert f.closure_rate == 0.5
    assert f.on_time_rate == 0.5


def test_reopen_after_close_does_not_rewrite_the_past(history):
    before = totals(None, date(2026, 3, 15))
    assert (before.closed, before.open, before.overdue) == (2, 2, 0)
    after = totals(None, date(2026, 3, 16))
    # P1 back to rectifying on the 16th; its due date (9 Mar) has passed, so it is overdue.
    assert (after.closed, after.open, after.overdue) == (1, 3, 1)
    assert after.closure_rate == 0.25
    # Asked again later, the 15th still reads the same.
    assert totals(None, date(2026, 3, 15)) == before


def test_as_of_today_agrees_with_the_current_state(history):
    f = totals(None, None)
    assert (f.registered, f.withdrawn, f.closed, f.open) == (5, 1, 1, 3)


def test_by_stage_lists_empty_stages_with_no_rate(history):
    rows = {r.key: r for r in metrics.closure(None, "stage", date(2026, 3, 12))}
    assert list(rows) == [s.value for s in Stage]
    construction, approval, signing = rows["construction"], rows["approval"], rows["signing"]
    assert (construction.total, construction.closed, construction.withdrawn) == (3, 1, 1)
    assert construction.closure_rate == pytest.approx(1 / 3)
    assert (approval.total, approval.closed, approval.on_time_rate) == (1, 1, 0)
    assert signing.total == 0 and signing.closure_rate is None and signing.label == "招商签约"


def test_by_department_uses_the_department_in_force_and_lists_idle_ones(history):
    rows = {r.key: r for r in metrics.closure(None, "department", date(2026, 3, 16))}
    zjj, fgj, idle = rows[history.zjj.id], rows[history.fgj.id], rows[history.idle.id]
    assert (zjj.total, zjj.closed, zjj.overdue, zjj.label) == (1, 0, 1, "县住房和城乡建设局")
    assert (fgj.total, fgj.closed, fgj.closure_rate, fgj.on_time_rate) == (1, 1, 1.0, 0.0)
    assert idle.total == 0 and idle.closure_rate is None
    # Not handed over: P4 and P5 registered, P2 withdrawn before any hand-over.
    unassigned = rows[None]
    assert (unassigned.registered, unassigned.withdrawn, unassigned.total) == (3, 1, 2)


def test_by_supervisor_and_by_project(history):
    by_supervisor = metrics.closure(None, "supervisor", date(2026, 3, 12))
    assert [(r.key, r.label, r.total, r.closed) for r in by_supervisor] == [
        (history.supervisor.id, "刘志强", 4, 2)]
    by_project = metrics.closure(None, "project", date(2026, 3, 12))
    assert [(r.key, r.label, r.total) for r in by_project] == [(history.site.id, "印章产业园", 4)]


def test_supervisor_is_the_one_assigned_at_the_time(history, db):
    # The assignment starts 1 Apr: in March the project had no supervisor.
    db.session.execute(sa.update(SupervisorAssignment).values(
        started_at=datetime(2026, 4, 1, tzinfo=timezone.utc)))
    db.session.commit()
    rows = metrics.closure(None, "supervisor", date(2026, 3, 12))
    assert [(r.key, r.label, r.total) for r in rows] == [(None, "未配备纪检监察员", 4)]


def test_weeks_follow_asia_shanghai_at_the_sunday_midnight_boundary(history):
    rows = {r.key: r for r in metrics.closure(None, "week", date(2026, 3, 15))}
    # W10: P1, P2, P3 (2 Mar) and P4 (Sun 23:30 Shanghai, 15:30 UTC); W11: P5 (Mon 00:10).
    assert rows["2026-W10"].registered == 4 and rows["2026-W11"].registered == 1
    assert (rows["2026-W10"].total, rows["2026-W10"].closed) == (3, 2)
    # As of Sunday 8 Mar the Sunday-night problem counts, the Monday-morning one does not.
    assert totals(None, date(2026, 3, 8)).registered == 4


def test_weekly_series_new_closed_and_cumulative_rate(history):
    points = metrics.weekly_series(None, date(2026, 3, 16), weeks=3)
    assert [(p.week, p.new, p.closed) for p in points] == [
        ("2026-W10", 4, 1), ("2026-W11", 1, 1), ("2026-W12", 0, 0)]
    # End of W10: 4 registered − 1 withdrawn = 3, closed P1 → 1/3. End of W11: 2/4.
    # End of W12: P1 reopened → 1/4.
    assert [p.cumulative_closure_rate for p in points] == [pytest.approx(1 / 3), 0.5, 0.25]


def test_durations_in_working_days(history):
    spans = metrics.durations(None, date(2026, 3, 12))
    # P1: 2 Mar → 5 Mar = 3 working days; P3: 2 Mar → 12 Mar = 8. Mean 5.5; p90 (rank 2 of 2) 8.
    assert (spans.count, spans.average, spans.p90) == (2, 5.5, 8)
    assert metrics.durations(None, date(2026, 3, 1)).average is None


def test_satisfaction_follows_the_latest_close(history):
    def counts(day):
        return {c.key: c.count for c in metrics.satisfaction(None, day)}
    assert counts(date(2026, 3, 12)) == {"very_satisfied": 1, "satisfied": 1, "basic": 0,
                                         "dissatisfied": 0, "very_dissatisfied": 0}
    assert counts(date(2026, 3, 16))["satisfied"] == 0  # P1 reopened


def test_ageing_and_oldest_overdue_in_working_days(history):
    buckets = {b.label: b.count for b in metrics.ageing(None, date(2026, 3, 16))}
    assert buckets == {"1–5": 1, "6–10": 0, "11–20": 0, "20+": 0}
    buckets = {b.label: b.count for b in metrics.ageing(None, date(2026, 3, 31))}
    assert buckets["11–20"] == 1  # 10 Mar → 31 Mar: 16 working days
    [oldest] = metrics.oldest_overdue(None, date(2026, 3, 16))
    assert (oldest.id, oldest.due_on, oldest.working_days_overdue) == (
        history.p1.id, date(2026, 3, 9), 5)


def test_open_by_stage_counts_states(history):
    data = metrics.open_by_stage(None, date(2026, 3, 4))
    # P1 reported on the 4th (awaiting revisit); P2 withdrawn that day; P3 rectifying.
    assert data["construction"] == {"open": 0, "assigned": 0, "rectifying": 0, "rectified": 1}
    assert data["approval"]["rectifying"] == 1


def test_department_ledger(history):
    ledger = {d.department_id: d for d in metrics.department_ledger(None, date(2026, 3, 12))}
    zjj, fgj = ledger[history.zjj.id], ledger[history.fgj.id]
    assert (zjj.handed_over, zjj.closed, zjj.closed_on_time, zjj.average_days_to_close) == (1, 1, 1, 3)
    assert (fgj.handed_over, fgj.closed, fgj.closed_on_time, fgj.accepted_late) == (1, 1, 0, 0)
    assert history.idle.id not in ledger


def test_visibility_scopes_the_figures(history, make_user, make_project):
    dept_user = make_user("department", department=history.fgj)
    f = totals(dept_user, date(2026, 3, 12))
    assert (f.total, f.closed) == (1, 1)  # only P3
    rows = metrics.closure(dept_user, "department", date(2026, 3, 12))
    assert [(r.key, r.total) for r in rows] == [(history.fgj.id, 1)]
    stranger = make_user("supervisor")
    make_project(supervisor=stranger)
    assert totals(stranger, date(2026, 3, 12)).registered == 0
    assert totals(history.supervisor, date(2026, 3, 12)).registered == 5


def test_visits_and_stale_projects(history, db, make_project, make_user, make_department):
    from tracker.models import Visit, VisitKind

    idle = make_user("supervisor", name="王不走")  # made no visit: shown, with 0
    make_user("supervisor", name="停用者").active = False  # no longer supervising: not shown
    other = make_project(supervisor=history.supervisor, name="无人走访项目",
                         created_at=datetime(2026, 1, 5, tzinfo=timezone.utc))
    for day in (date(2026, 3, 2), date(2026, 3, 10)):
        db.session.add(Visit(project_id=history.site.id, supervisor_id=history.supervisor.id,
                             visited_on=day, kind=VisitKind.routine, stage=Stage.construction))
    db.session.commit()
    counts = metrics.visits_per_supervisor(None, date(2026, 3, 9), date(2026, 3, 15))
    assert [(c.label, c.count) for c in counts] == [("刘志强", 1), ("王不走", 0)]
    # A supervisor sees their own count (0 too); a department user sees no visits at all.
    assert [(c.label, c.count) for c in metrics.visits_per_supervisor(
        idle, date(2026, 3, 9), date(2026, 3, 15))] == [("王不走", 0)]
    liaison = make_user("department", department=make_department())
    assert metrics.visits_per_supervisor(liaison, date(2026, 3, 9), date(2026, 3, 15)) == []
    stale = {p.id: p for p in metrics.stale_projects(None, date(2026, 3, 20), days=30)}
    assert list(stale) == [other.id] and stale[other.id].last_visit is None
    stale = {p.id: p for p in metrics.stale_projects(None, date(2026, 4, 20), days=30)}
    assert stale[history.site.id].days_since == 41


def test_iso_week_parsing():
    assert metrics.parse_iso_week("2026-W47") == date(2026, 11, 16)
    assert metrics.parse_iso_week("2026-w01") == date(2025, 12, 29)
    for bad in ("2026W47", "2026-W54", "", "W47", "2026-W4x"):
        with pytest.raises(ValueError):
            metrics.parse_iso_week(bad)
    assert metrics.last_full_week(date(2026, 11, 24)) == date(2026, 11, 16)
    assert metrics.last_full_week(date(2026, 11, 22)) == date(2026, 11, 9)  # a Sunday


@pytest.mark.parametrize("day", [date(2026, 3, 1), date(2026, 3, 4), date(2026, 3, 8),
                                 date(2026, 3, 9), date(2026, 3, 12), date(2026, 3, 15),
                                 date(2026, 3, 16), date(2026, 3, 22), date(2026, 3, 31)])
def test_dashboard_agrees_with_each_figure_asked_alone(history, make_user, day):
    """The dashboard reads every problem figure from one statement; for each reader and day it
    says what the closure, ageing, duration and overdue functions say one by one."""
    readers = [history.admin, history.supervisor,
               make_user("department", department=history.fgj), make_user("viewer")]
    for user in readers:
        board = metrics.dashboard(user, day, with_stale=False)
        assert board.headline == metrics.headline(user, day), user.role
        for group in ("stage", "department", "supervisor", "project"):
            assert board.by[group] == metrics.closure(user, group, day), (user.role, group)
        assert board.ageing == metrics.ageing(user, day)
        assert board.oldest_overdue == metrics.oldest_overdue(user, day)
        assert board.durations == metrics.durations(user, day)
        assert board.open_by_stage == metrics.open_by_stage(user, day)
        assert board.satisfaction == metrics.satisfaction(user, day)
        monday = day - timedelta(days=day.weekday())
        if day.weekday() == 6:  # a Sunday ends the last week: the series walks back from it
            assert metrics.weekly_series(user, monday, 3, totals=board.headline.figures) == \
                metrics.weekly_series(user, monday, 3)
    assert metrics.dashboard(history.admin, date(2026, 3, 16)).headline.figures.overdue == 1
