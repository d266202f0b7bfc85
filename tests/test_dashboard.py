"""The dashboard page: headquarters' figures as of a day, per role, in a fixed number of queries."""
import zipfile
from io import BytesIO

import pytest
from PIL import Image

from tests.test_metrics import history  # noqa: F401  (the hand-built history fixture)
from tests.test_metrics_api import counting_queries


def test_admin_reads_the_figures_as_of_a_day_with_drill_down(history, login):
    client = login(history.admin)
    page = client.get("/dashboard/?as_of=2026-03-16").get_data(as_text=True)
    assert "数据截至 2026年3月16日 24:00" in page
    assert "25.0%" in page            # closure rate: 1 closed of 4
    assert "印章产业园" in page and "县住房和城乡建设局" in page and "县审计局" in page
    # Drill-down to the filtered problem list.
    assert "/problems/?stage=construction" in page
    assert f"/problems/?department_id={history.zjj.id}&amp;overdue=1" in page
    assert f"/problems/?project_id={history.site.id}" in page
    # Ageing and the longest overdue problem: P1, 5 working days past 9 March.
    assert "逾期 5 个工作日" in page and "工资拖欠" in page
    for name in ("new-vs-closed", "closure-trend", "open-by-stage", "overdue-by-department",
                 "visits-per-supervisor", "satisfaction"):
        assert f"/dashboard/charts/{name}.png?as_of=2026-03-16" in page
    assert 'src="/static/js/dashboard.js' in page and "<script>" not in page


def test_as_of_before_the_reopen_shows_the_past_unchanged(history, login):
    page = login(history.admin).get("/dashboard/?as_of=2026-03-15").get_data(as_text=True)
    assert "50.0%" in page  # 2 closed of 4, P1 not yet reopened


def test_bad_or_future_day_falls_back_to_today_with_a_message(history, login):
    client = login(history.admin)
    response = client.get("/dashboard/?as_of=15/03/2026")
    assert response.status_code == 200 and "日期格式应为" in response.get_data(as_text=True)
    response = client.get("/dashboard/?as_of=2999-01-01")
    assert response.status_code == 200 and "不能查看未来的数据" in response.get_data(as_text=True)


def test_department_user_sees_their_department_only(history, login, make_user):
    user = make_user("department", department=history.fgj)
    page = login(user).get("/dashboard/?as_of=2026-03-16").get_data(as_text=True)
    assert "本单位承办的问题" in page and "县发展和改革局" in page
    assert "县住房和城乡建设局" not in page and "工资拖欠" not in page
    assert "visits-per-supervisor" not in page and "长期未走访项目" not in page
    client = login(user)
    assert client.get("/dashboard/charts/visits-per-supervisor.png").status_code == 404


def test_supervisor_and_viewer_open_the_dashboard(history, login, make_user):
    assert login(history.supervisor).get("/dashboard/").status_code == 200
    viewer = make_user("viewer")
    page = login(viewer).get("/dashboard/?as_of=2026-03-20").get_data(as_text=True)
    assert "长期未走访项目" in page


def test_signed_out_users_are_sent_to_sign_in(client):
    assert client.get("/dashboard/").status_code == 302
    assert client.get("/dashboard/charts/satisfaction.png").status_code == 302


@pytest.mark.sqlite_only  # the charts' SQL runs on both databases in test_metrics.py
def test_charts_are_served_as_png(history, login):
    client = login(history.admin)
    for name in ("new-vs-closed", "closure-trend", "open-by-stage", "overdue-by-department",
                 "visits-per-supervisor", "satisfaction"):
        response = client.get(f"/dashboard/charts/{name}.png?as_of=2026-03-16")
        assert response.status_code == 200 and response.mimetype == "image/png", name
        assert Image.open(BytesIO(response.data)).width == 1000
    assert client.get("/dashboard/charts/pie.png").status_code == 404


@pytest.mark.sqlite_only  # the API's weekly test runs the pack on both databases
def test_weekly_download(history, login):
    client = login(history.admin)
    response = client.get("/dashboard/weekly.zip?week=2026-W11")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert "weekly-2026-W11.zip" in response.headers["Content-Disposition"]
    names = zipfile.ZipFile(BytesIO(response.data)).namelist()
    assert "2026-W11/2026-W11-report.pdf" in names
    assert client.get("/dashboard/weekly.zip?week=W11").status_code == 400


def test_dashboard_issues_a_fixed_number_of_queries(history, db, login, make_problem,
                                                   make_project, make_department):
    client = login(history.admin)

    def count() -> int:
        with counting_queries(db) as n:
            assert client.get("/dashboard/?as_of=2026-12-31").status_code == 200
        return n[0]

    before = count()
    for _ in range(3):
        project = make_project(supervisor=history.supervisor)
        department = make_department()
        for status in ("open", "assigned", "rectifying", "rectified", "closed", "withdrawn"):
            make_problem(project, status, department=department)
    assert count() == before


def test_open_high_risks_show_on_the_dashboard(db, client, admin, make_user, make_project, login):
    from tracker.services.risks import create_risk

    project = make_project(supervisor=make_user("supervisor"))
    create_risk(admin, project, title="结算争议可能引发上访", category="settlement", level="high")
    create_risk(admin, project, title="资料归档不全", category="other", level="low")
    db.session.commit()
    page = login(make_user("viewer")).get("/dashboard/").get_data(as_text=True)
    assert "结算争议可能引发上访" in page and "资料归档不全" not in page
