"""The department ledger (责任单位台账): handed over, accepted late, closed, closed on time (by the
original due date, in Asia/Shanghai), open, overdue, average working days to close, yellow card;
as a page and as an Excel download."""
from datetime import datetime, timezone
from io import BytesIO

import pytest
from openpyxl import load_workbook

from tracker import workflow
from tracker.models import ProblemStatus as S
from tracker.services.ledger import HEADERS, department_ledger


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def local(day: int, hour: int = 10, minute: int = 0) -> datetime:
    """November 2026, Asia/Shanghai wall time (UTC+8), as UTC."""
    return utc(2026, 11, day, hour - 8, minute) if hour >= 8 else utc(2026, 11, day - 1,
                                                                       hour + 16, minute)


def story(project, admin, dept, *, handling_class, assigned, accepted=None, reported=None,
          closed=None, withdrawn=None, title="问题"):
    """A problem driven through the workflow at the given moments (None: stop before)."""
    p = workflow.record(project, admin, title=title, at=assigned)
    workflow.apply(p, "assign", admin, department_id=dept.id, handling_class=handling_class,
                   at=assigned)
    if withdrawn:
        workflow.apply(p, "withdraw", admin, comment="重复登记", at=withdrawn)
        return p
    if accepted:
        workflow.apply(p, "accept", admin, at=accepted)
    if reported:
        workflow.apply(p, "report", admin, comment="已整改", at=reported)
    if closed:
        workflow.apply(p, "close", admin, satisfaction="satisfied", at=closed)
    return p


@pytest.fixture
def county(db, admin, make_user, make_department, make_project):
    zjj = make_department(code="ZJJ", name="县住房和城乡建设局")
    rsj = make_department(code="RSJ", name="县人力资源和社会保障局")
    quiet = make_department(code="SJJ", name="县审计局")  # nothing handed over: not listed
    project = make_project(supervisor=make_user("supervisor"), name="衡东县城区老旧小区改造")
    # Monday 2 November 2026, class 5 → due Monday 9 November; class 1 → due Tuesday 3 November
    on_time = story(project, admin, zjj, handling_class=5, assigned=local(2), accepted=local(3),
                    reported=local(5), closed=local(6), title="按期办结")          # 4 working days
    late_accept = story(project, admin, zjj, handling_class=1, assigned=local(2),
                        accepted=local(4), reported=local(11), closed=local(12),
                        title="逾期签收")                                              # 8 working days
    last_minute = story(project, admin, zjj, handling_class=5, assigned=local(2),
                        accepted=local(3), reported=local(9, 9), closed=local(9, 23, 30),
                        title="期限当天深夜销号")                                      # 5, on time
    after_midnight = story(project, admin, zjj, handling_class=5, assigned=local(2),
                           accepted=local(3), reported=local(9, 9), closed=local(10, 0, 30),
                           title="次日凌晨销号")                                       # 6, late
    still_assigned = story(project, admin, zjj, handling_class=1, assigned=local(2),
                           title="逾期未签收")
    fresh = story(project, admin, zjj, handling_class=5, assigned=local(2),
                  accepted=local(3), title="已批准延期仍在整改")
    workflow.apply(fresh, "request_extension", admin, requested_due_on="2099-12-31",
                   comment="延期", at=local(4))
    workflow.apply(fresh, "decide_extension", admin, approve=True, at=local(4))
    story(project, admin, zjj, handling_class=5, assigned=local(2), withdrawn=local(3),
          title="已撤销")
    for n in range(3):
        story(project, admin, rsj, handling_class=1, assigned=local(2), accepted=local(3),
              title=f"欠薪问题{n}")
    db.session.commit()
    return dict(zjj=zjj, rsj=rsj, quiet=quiet, project=project, on_time=on_time,
                late_accept=late_accept, last_minute=last_minute,
                after_midnight=after_midnight, still_assigned=still_assigned, fresh=fresh)


def rows_by_code(ledger):
    return {r.code: r for r in ledger.rows}


def test_ledger_figures_per_department(db, admin, county):
    ledger = department_ledger(admin)
    rows = rows_by_code(ledger)
    assert set(rows) == {"ZJJ", "RSJ"}
    zjj = rows["ZJJ"]
    assert (zjj.handed_over, zjj.accepted_late, zjj.closed, zjj.closed_on_time, zjj.open,
            zjj.overdue) == (6, 1, 4, 2, 2, 1)
    assert zjj.avg_days_to_close == pytest.approx((4 + 8 + 5 + 6) / 4, abs=0.05)
    assert zjj.on_time_rate == 0.5
    assert not zjj.yellow_card  # one overdue; the extended one is not overdue
    rsj = rows["RSJ"]
    assert (rsj.handed_over, rsj.closed, rsj.open, rsj.overdue) == (3, 0, 3, 3)
    assert rsj.avg_days_to_close is None and rsj.on_time_rate is None
    assert rsj.yellow_card  # three overdue reaches the default threshold of 3
    assert ledger.threshold == 3
    assert ledger.rows[0].code == "RSJ"  # yellow cards first


def test_yellow_card_threshold_is_a_setting(db, admin, county):
    settings = pytest.importorskip("tracker.services.settings")
    settings.set(admin, "yellow_card_threshold", 4)
    db.session.commit()
    ledger = department_ledger(admin)
    assert ledger.threshold == 4 and not any(r.yellow_card for r in ledger.rows)
    settings.set(admin, "yellow_card_threshold", 1)
    db.session.commit()
    assert all(r.yellow_card for r in department_ledger(admin).rows)


def test_ledger_page_for_headquarters(client, county, login, admin):
    login(admin)
    html = client.get("/ledger/").get_data(as_text=True)
    assert "责任单位台账" in html
    assert 'id="yellow-cards"' in html and "县人力资源和社会保障局（逾期 3 件）" in html
    assert 'data-department="ZJJ"' in html and 'data-department="RSJ"' in html
    assert "50.0%" in html  # ZJJ on-time rate
    assert "县审计局" not in html


def test_department_sees_only_its_own_row_and_supervisor_none(client, county, make_user, login):
    login(make_user("department", department=county["zjj"]))
    html = client.get("/ledger/").get_data(as_text=True)
    assert 'data-department="ZJJ"' in html and 'data-department="RSJ"' not in html
    client.post("/logout")
    login(make_user("supervisor"))
    assert client.get("/ledger/").status_code == 403
    assert client.get("/ledger/ledger.xlsx").status_code == 403


def test_viewer_downloads_the_ledger_as_excel(client, county, make_user, login):
    login(make_user("viewer"))
    response = client.get("/ledger/ledger.xlsx")
    assert response.status_code == 200
    assert response.mimetype == \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in response.headers["Content-Disposition"]
    sheet = load_workbook(BytesIO(response.data)).active
    assert sheet.title == "责任单位台账"
    assert [c.value for c in sheet[1]] == HEADERS
    assert sheet.freeze_panes == "A2"
    rows = {r[0]: r for r in sheet.iter_rows(min_row=2, max_row=3, values_only=True)}
    assert rows["RSJ"][1] == "县人力资源和社会保障局" and rows["RSJ"][-1] == "黄牌警告"
    assert rows["ZJJ"][2:9] == (6, 1, 4, 2, 0.5, 2, 1) and rows["ZJJ"][-1] is None


def test_ledger_needs_sign_in(client):
    assert client.get("/ledger/").status_code == 302
    assert client.get("/ledger/ledger.xlsx").status_code == 302


@pytest.mark.sqlite_only
def test_empty_ledger(client, admin, login):
    login(admin)
    html = client.get("/ledger/").get_data(as_text=True)
    assert "尚无交办给责任单位的问题" in html
    sheet = load_workbook(BytesIO(client.get("/ledger/ledger.xlsx").data)).active
    assert [c.value for c in sheet[1]] == HEADERS


def test_a_name_with_a_control_character_still_downloads(client, county, db, admin, login):
    """Excel cannot hold C0 control characters; the workbook drops them (tracker/xlsx.py)."""
    county["zjj"].name = "县住房和城乡建设局\x0b"
    db.session.commit()
    login(admin)
    response = client.get("/ledger/ledger.xlsx")
    assert response.status_code == 200
    names = {r[1] for r in load_workbook(BytesIO(response.data)).active.iter_rows(
        min_row=2, max_row=3, values_only=True)}
    assert "县住房和城乡建设局" in names
