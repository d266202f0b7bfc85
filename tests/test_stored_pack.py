"""A closed week's pack is produced once and then served as stored — until something written
later reaches back into the week (reports/stored.py). The history is test_metrics' W11
(9–15 March 2026), long over by the time the tests run. Producing a pack takes a second or two,
so what reaches back is checked on the marks alone (both databases), and the end-to-end
stories that produce several packs run on the SQLite file."""
from datetime import date, timedelta
from io import BytesIO

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from tracker import workflow
from tracker.calendar import local_today
from tracker.models import StoredPack
from tracker.reports import stored
from tracker.services import departments, settings, visits
from tests.test_metrics import history, sh  # noqa: F401  (the hand-built history fixture)
from tests.test_query_counts import statements

W11 = date(2026, 3, 9)


def stored_rows(db) -> list[StoredPack]:
    return db.session.scalars(sa.select(StoredPack).order_by(StoredPack.id)).all()


def ledger_of(data: bytes) -> dict[str, tuple]:
    """The ledger sheet of a pack's zip, by problem title."""
    book = load_workbook(BytesIO(stored.files_of("2026-W11", data)["2026-W11-ledger.xlsx"]))
    sheet = book["问题台账"]
    header = [c.value for c in sheet[1]]
    return {row[header.index("问题标题")]: dict(zip(header, row))
            for row in sheet.iter_rows(min_row=2, values_only=True)}


def test_a_closed_week_is_produced_once_then_served_as_stored(history, db):
    week, first = stored.weekly_zip(None, W11)
    assert week == "2026-W11"
    [row] = stored_rows(db)
    assert (row.week, row.scope, row.locale) == ("2026-W11", "all", "zh_Hans_CN")
    assert row.data == first and row.build_seconds > 0
    assert row.marks["events"] > 0 and row.marks["problems"] == history.p5.id
    built = row.built_at

    with statements(db) as seen:
        _, again = stored.weekly_zip(None, W11)
    assert again == first
    assert len(seen) == 2  # the stored pack, and whether anything since reaches back
    assert [r.built_at for r in stored_rows(db)] == [built]
    assert set(stored.files_of(week, again)) >= {"2026-W11-report.pdf", "2026-W11-ledger.xlsx",
                                                 "2026-W11-01-new-vs-closed.png"}


@pytest.mark.sqlite_only
def test_work_done_after_the_week_leaves_its_pack_standing(history, db):
    _, before = stored.weekly_zip(None, W11)
    [built] = [r.built_at for r in stored_rows(db)]
    # Today's work: an action on a problem of the week, a new problem, a visit dated today.
    workflow.apply(history.p4, "withdraw", history.admin, comment="今天撤销")
    workflow.record(history.site, history.admin, title="今天登记的问题")
    visits.log_visit(history.supervisor, history.site, visited_on=local_today(), kind="routine",
                     summary="今天走访")
    db.session.commit()

    _, after = stored.weekly_zip(None, W11)
    assert after == before
    assert [r.built_at for r in stored_rows(db)] == [built]
    # …and what the stored pack shows is still the week as it ended: P4 open, not withdrawn.
    assert ledger_of(after)["周日深夜登记"]["状态"] == "待交办"


def backdated_withdrawal(h):
    workflow.apply(h.p4, "withdraw", h.admin, at=sh(3, 13), comment="补录：周五已撤销")


def visit_entered_late(h):
    visits.log_visit(h.supervisor, h.site, visited_on=date(2026, 3, 12), kind="routine",
                     summary="补录上周四的走访")


def department_renamed(h):
    departments.rename(h.admin, h.fgj, "县发展改革局")


def yellow_card_line_moved(h):
    settings.set(h.admin, "yellow_card_threshold", 1)


@pytest.mark.parametrize("late", [backdated_withdrawal, visit_entered_late, department_renamed,
                                  yellow_card_line_moved])
def test_a_later_write_reaching_back_into_the_week_is_seen(history, db, late):
    marks = stored.high_water_marks()
    assert not stored.changed_since(marks, date(2026, 3, 15))
    late(history)
    db.session.commit()
    assert stored.changed_since(marks, date(2026, 3, 15))


def test_entries_dated_after_the_week_do_not_reach_back(history, db, client, login):
    marks = stored.high_water_marks()
    workflow.apply(history.p4, "withdraw", history.admin, at=sh(3, 16), comment="W12 撤销")
    visits.log_visit(history.supervisor, history.site, visited_on=date(2026, 3, 16),
                     kind="routine", summary="W12 走访")
    db.session.commit()
    login(history.admin)  # a sign-in is audited, and changes no pack
    assert not stored.changed_since(marks, date(2026, 3, 15))
    # …but they do reach into the week after, had that one been stored.
    assert stored.changed_since(marks, date(2026, 3, 22))


@pytest.mark.sqlite_only
def test_a_pack_reached_by_late_entries_is_produced_again_showing_them(history, db):
    _, before = stored.weekly_zip(None, W11)
    [old] = stored_rows(db)
    old_marks, old_built = dict(old.marks), old.built_at
    backdated_withdrawal(history)
    department_renamed(history)
    db.session.commit()

    _, after = stored.weekly_zip(None, W11)
    [new] = stored_rows(db)
    assert new.built_at > old_built and new.marks != old_marks and new.data == after
    assert not stored.changed_since(new.marks, date(2026, 3, 15))
    # P4 was open at the week's end as first produced; now it was withdrawn on the Friday.
    assert ledger_of(before)["周日深夜登记"]["状态"] == "待交办"
    assert "周日深夜登记" not in ledger_of(after)
    assert ledger_of(before)["审批超时"]["责任单位"] == "县发展和改革局"
    assert ledger_of(after)["审批超时"]["责任单位"] == "县发展改革局"


@pytest.mark.sqlite_only
def test_each_scope_and_language_has_its_own_pack(history, db, client, token_for, make_user):
    leader = make_user("viewer")
    _, chinese = stored.weekly_zip(None, W11)
    for everything in (history.admin, leader):  # headquarters and leadership: the same pack
        assert stored.weekly_zip(everything, W11)[1] == chinese
    stored.weekly_zip(history.supervisor, W11)
    english = client.get("/api/v1/reports/weekly?week=2026-W11",
                         headers={**token_for(history.admin), "Accept-Language": "en"}).data
    assert [(r.scope, r.locale) for r in stored_rows(db)] == [
        ("all", "zh_Hans_CN"), (f"user:{history.supervisor.id}", "zh_Hans_CN"), ("all", "en")]
    chart = "2026-W11-01-new-vs-closed.png"  # its title and axes are in the reader's language
    assert stored.files_of("2026-W11", english)[chart] != stored.files_of("2026-W11", chinese)[chart]


@pytest.mark.sqlite_only
def test_a_pack_drawn_by_other_code_is_produced_again(history, db):
    stored.weekly_zip(None, W11)
    db.session.execute(sa.update(StoredPack).values(code="an older release"))
    db.session.commit()
    stored.weekly_zip(None, W11)
    [row] = stored_rows(db)
    assert row.code == stored.code_version()


@pytest.mark.sqlite_only
def test_the_week_in_progress_is_never_stored(history, db):
    this_monday = local_today() - timedelta(days=local_today().weekday())
    week, data = stored.weekly_zip(None, this_monday)
    assert data.startswith(b"PK") and stored_rows(db) == []


@pytest.mark.sqlite_only
def test_downloads_and_the_command_line_serve_the_stored_pack(history, db, client, login,
                                                               token_for, runner, tmp_path):
    api = client.get("/api/v1/reports/weekly?week=2026-W11", headers=token_for(history.admin))
    assert api.status_code == 200 and api.mimetype == "application/zip"
    [row] = stored_rows(db)
    assert api.data == row.data
    built = row.built_at
    login(history.admin)
    page = client.get("/dashboard/weekly.zip?week=2026-W11")
    assert page.status_code == 200 and page.data == row.data
    out = tmp_path / "pack"
    result = runner.invoke(args=["export-weekly", "--week", "2026-W11", "--out", str(out)])
    assert result.exit_code == 0, result.output
    files = stored.files_of("2026-W11", row.data)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == files
    assert [r.built_at for r in stored_rows(db)] == [built]
