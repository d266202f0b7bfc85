"""GET /api/v1/metrics/closure and /api/v1/reports/weekly as CONTRACT.md defines them."""
import zipfile
from contextlib import contextmanager
from io import BytesIO

import pytest
import sqlalchemy as sa

from tests.test_metrics import history  # noqa: F401  (the hand-built history fixture)


@contextmanager
def counting_queries(db):
    """Count the statements sent to the database (every request uses the same engine)."""
    count = [0]

    def before(conn, cursor, statement, parameters, context, executemany):
        count[0] += 1

    sa.event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield count
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", before)


def test_closure_by_stage_as_of_a_day(history, client, token_for):
    headers = token_for(history.admin)
    response = client.get("/api/v1/metrics/closure?group_by=stage&as_of=2026-03-12",
                          headers=headers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["as_of"] == "2026-03-12" and body["group_by"] == "stage"
    rows = {r["key"]: r for r in body["items"]}
    assert rows["construction"] == {
        "key": "construction", "label": "工程建设实施", "total": 3, "closed": 1, "withdrawn": 1,
        "open": 2, "overdue": 0, "closure_rate": pytest.approx(1 / 3), "on_time_rate": 1.0}
    assert rows["signing"]["total"] == 0 and rows["signing"]["closure_rate"] is None
    assert rows["signing"]["on_time_rate"] is None


def test_closure_by_department_and_week(history, client, token_for):
    headers = token_for(history.admin)
    rows = client.get("/api/v1/metrics/closure?group_by=department&as_of=2026-03-16",
                      headers=headers).get_json()["items"]
    by_key = {r["key"]: r for r in rows}
    assert by_key[history.zjj.id]["overdue"] == 1 and by_key[history.zjj.id]["open"] == 1
    assert by_key[None]["label"] == "未交办"
    weeks = client.get("/api/v1/metrics/closure?group_by=week&as_of=2026-03-15",
                       headers=headers).get_json()["items"]
    assert [(r["key"], r["total"]) for r in weeks] == [("2026-W10", 3), ("2026-W11", 1)]


def test_closure_default_is_today(history, client, token_for):
    body = client.get("/api/v1/metrics/closure?group_by=project",
                      headers=token_for(history.admin)).get_json()
    [row] = body["items"]
    assert (row["total"], row["closed"], row["open"]) == (4, 1, 3)


def test_bad_arguments_name_each_field(history, client, token_for):
    headers = token_for(history.admin)
    response = client.get("/api/v1/metrics/closure?group_by=colour&as_of=2026-13-01",
                          headers=headers)
    assert response.status_code == 400
    fields = response.get_json()["error"]["fields"]
    assert set(fields) == {"group_by", "as_of"}
    response = client.get("/api/v1/metrics/closure", headers=headers)
    assert response.status_code == 400 and "group_by" in response.get_json()["error"]["fields"]
    assert client.get("/api/v1/metrics/closure?group_by=stage").status_code == 401


def test_a_department_sees_only_its_own_figures(history, client, token_for, make_user):
    user = make_user("department", department=history.fgj)
    rows = client.get("/api/v1/metrics/closure?group_by=department&as_of=2026-03-12",
                      headers=token_for(user)).get_json()["items"]
    assert [(r["key"], r["total"], r["closed"]) for r in rows] == [(history.fgj.id, 1, 1)]


def test_weekly_report_zip(history, client, token_for):
    headers = token_for(history.admin)
    response = client.get("/api/v1/reports/weekly?week=2026-W11", headers=headers)
    assert response.status_code == 200 and response.mimetype == "application/zip"
    names = zipfile.ZipFile(BytesIO(response.data)).namelist()
    assert "2026-W11/2026-W11-report.pdf" in names
    assert "2026-W11/2026-W11-ledger.xlsx" in names
    assert sum(n.endswith(".png") for n in names) >= 6
    bad = client.get("/api/v1/reports/weekly?week=next-week", headers=headers)
    assert bad.status_code == 400 and "week" in bad.get_json()["error"]["fields"]
    future = client.get("/api/v1/reports/weekly?week=2099-W01", headers=headers)
    assert future.status_code == 400


@pytest.mark.sqlite_only
def test_both_endpoints_are_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    closure = spec["paths"]["/api/v1/metrics/closure"]["get"]
    assert {p["name"] for p in closure["parameters"]} >= {"group_by", "as_of"}
    weekly = spec["paths"]["/api/v1/reports/weekly"]["get"]
    assert "application/zip" in weekly["responses"]["200"]["content"]


def test_closure_api_issues_a_fixed_number_of_queries(history, db, client, token_for,
                                                     make_problem, make_project, make_department):
    headers = token_for(history.admin)
    url = "/api/v1/metrics/closure?group_by={}&as_of=2026-12-31"

    def counts():
        out = {}
        for group in ("project", "stage", "department", "supervisor", "week"):
            with counting_queries(db) as n:
                assert client.get(url.format(group), headers=headers).status_code == 200
            out[group] = n[0]
        return out

    before = counts()
    project = make_project(supervisor=history.supervisor)
    department = make_department()
    for status in ("open", "assigned", "rectifying", "rectified", "closed", "withdrawn") * 3:
        make_problem(project, status, department=department)
    assert counts() == before
