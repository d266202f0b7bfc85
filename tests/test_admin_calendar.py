"""The holiday calendar admin enters: entries take precedence over chinese-calendar, due dates
already set are not moved, and a page lists those that would differ for a deliberate adjustment."""
import io
from datetime import date, datetime

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from tracker.calendar import TZ, load_calendar, package_knows
from tracker.models import Action, AuditEntry, CalendarDay

# A 2027 New Year schedule the installed chinese-calendar does not know yet: four days off
# (Friday to Monday) and a make-up working Saturday.
SCHEDULE = {"days_off": "2027-01-01~2027-01-04 元旦", "days_worked": "2027-01-09 元旦调休上班"}
ON_28_DEC = datetime(2026, 12, 28, 9, 30, tzinfo=TZ)


def test_the_package_does_not_know_2027(db):
    assert package_knows(2026) and not package_knows(2027)


def test_class_10_due_date_uses_the_entered_2027_schedule(client, db, admin, login,
                                                          make_department, make_project,
                                                          make_problem):
    dept, project = make_department(), make_project()
    # Without an entry 2027 falls back to Monday–Friday: Dec 29, 30, 31, Jan 1, 4–8, 11.
    before = make_problem(project, "assigned", department=dept, handling_class=10, at=ON_28_DEC)
    assert before.due_on == date(2027, 1, 11)

    login(admin)
    response = client.post("/admin/calendar?year=2027", data=SCHEDULE)
    assert response.status_code == 302
    calendar = load_calendar(db.session)
    assert not calendar.is_workday(date(2027, 1, 4)) and calendar.is_workday(date(2027, 1, 9))

    # Dec 29, 30, 31, (Jan 1–4 off), Jan 5–8, Sat Jan 9 worked, Jan 11, 12.
    after = make_problem(project, "assigned", department=dept, handling_class=10, at=ON_28_DEC)
    assert after.due_on == date(2027, 1, 12)
    db.session.refresh(before)
    assert before.due_on == date(2027, 1, 11)  # not silently moved


def test_due_dates_that_would_differ_are_listed_and_adjusted_through_the_workflow(
        client, db, admin, login, make_department, make_project, make_problem):
    dept, project = make_department(), make_project()
    problem = make_problem(project, "rectifying", department=dept, handling_class=5, at=ON_28_DEC)
    assert problem.due_on == date(2027, 1, 4)
    login(admin)
    client.post("/admin/calendar?year=2027", data=SCHEDULE)
    page = client.get("/admin/calendar/due-dates").get_data(as_text=True)
    assert f"#{problem.id}" in page and "2027年1月6日" in page

    client.post(f"/admin/calendar/due-dates/{problem.id}", data={
        f"p{problem.id}-due_on": "2027-01-06", f"p{problem.id}-comment": "元旦放假顺延"})
    db.session.refresh(problem)
    assert problem.due_on == date(2027, 1, 6)
    event = problem.events[-1]
    assert event.action is Action.set_due and event.comment == "元旦放假顺延"
    assert event.data["previous_due_on"] == "2027-01-04"
    listed = client.get("/admin/calendar/due-dates").get_data(as_text=True)
    assert f'href="/problems/{problem.id}"' not in listed and "没有期限会因节假日安排而不同" in listed


def test_saving_a_year_replaces_its_entries_and_is_audited(client, db, admin, login):
    login(admin)
    client.post("/admin/calendar?year=2027", data=SCHEDULE)
    client.post("/admin/calendar?year=2027", data={"days_off": "2027-01-01 元旦", "days_worked": ""})
    days = db.session.scalars(sa.select(CalendarDay.day)).all()
    assert days == [date(2027, 1, 1)]
    entries = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "calendar.year")
                                 .order_by(AuditEntry.id)).all()
    assert entries[-1].detail["before"]["worked"] == ["2027-01-09"]
    assert entries[-1].detail["after"] == {"off": ["2027-01-01"], "worked": []}
    page = client.get("/admin/calendar?year=2027").get_data(as_text=True)
    assert "未收录" in page and "2027-01-01 元旦" in page


@pytest.mark.parametrize("data,message", [
    ({"days_off": "2027-02-30", "days_worked": ""}, "日期不存在"),
    ({"days_off": "2028-01-01", "days_worked": ""}, "不在 2027 年内"),
    ({"days_off": "下周一", "days_worked": ""}, "无法识别日期"),
    ({"days_off": "2027-01-09", "days_worked": "2027-01-09"}, "既填为放假又填为上班"),
])
def test_bad_schedules_are_refused_with_a_reason_and_change_nothing(client, db, admin, login,
                                                                    data, message):
    login(admin)
    page = client.post("/admin/calendar?year=2027", data=data)
    assert page.status_code == 200 and message in page.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarDay)) == 0


def _xlsx(rows) -> bytes:
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_import_from_a_spreadsheet(client, db, admin, login):
    login(admin)
    data = _xlsx([("2027年节假日安排",), ("日期", "类型", "备注"),
                  (datetime(2027, 2, 6), "上班", "春节调休"), ("2027-02-10", "放假", "春节"),
                  (None, None, None), ("2027/2/11", "休", "春节")])
    response = client.post("/admin/calendar/import", data={"import-file": (io.BytesIO(data), "2027.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    rows = {r.day: r.is_workday for r in db.session.scalars(sa.select(CalendarDay))}
    assert rows == {date(2027, 2, 6): True, date(2027, 2, 10): False, date(2027, 2, 11): False}


def test_import_is_all_or_nothing_with_line_numbers(client, db, admin, login):
    login(admin)
    csv_bytes = "日期,类型,备注\n2027-10-01,放假,国庆\n2027-13-01,放假,坏\n2027-10-09,加班,?\n".encode("gbk")
    page = client.post("/admin/calendar/import", data={"import-file": (io.BytesIO(csv_bytes), "x.csv")},
                       content_type="multipart/form-data", follow_redirects=True)
    text = page.get_data(as_text=True)
    assert "第 3 行：日期无效" in text and "第 4 行：类型应为" in text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarDay)) == 0
