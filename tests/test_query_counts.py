"""A later change cannot quietly bring back an N+1: the API lists and the problem API run the same
number of statements with a handful of rows as with many (one page's worth and more).

The pages already carry their guards: the dashboard (test_dashboard), the problem list page and the
problem page (test_loop_pages), the project list page (test_projects_pages).
"""
from contextlib import contextmanager

import sqlalchemy as sa


@contextmanager
def statements(db):
    seen = []

    def before(*args):
        seen.append(1)
    sa.event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", before)


def count(db, client, url, headers) -> int:
    with statements(db) as seen:
        response = client.get(url, headers=headers)
    assert response.status_code == 200, response.get_json()
    return len(seen)


def test_problem_list_api_runs_a_fixed_number_of_queries(db, client, admin, make_user, make_project,
                                                         make_department, make_problem, token_for):
    dept = make_department()
    liaison = make_user("department", department=dept)
    as_admin, as_liaison = token_for(admin), token_for(liaison)
    make_problem(make_project(), "rectifying", department=dept)
    urls = ["/api/v1/problems", "/api/v1/problems?status=rectifying&per_page=50",
            "/api/v1/problems?overdue=true"]
    few = [count(db, client, url, as_admin) for url in urls] + [
        count(db, client, "/api/v1/problems", as_liaison)]
    # many rows, each on its own project and department (distinct rows to eager-load)
    for _ in range(12):
        make_problem(make_project(), "rectifying", department=make_department())
        make_problem(make_project(), "rectifying", department=dept)
    many = [count(db, client, url, as_admin) for url in urls] + [
        count(db, client, "/api/v1/problems", as_liaison)]
    assert many == few
    listed = client.get("/api/v1/problems?per_page=50", headers=as_admin).get_json()
    assert listed["total"] == 25 and len(listed["items"]) == 25


def test_project_list_api_runs_a_fixed_number_of_queries(db, client, admin, make_user,
                                                         make_project, token_for):
    headers = token_for(admin)
    sups = [make_user("supervisor") for _ in range(3)]
    make_project(supervisor=sups[0])
    few = count(db, client, "/api/v1/projects?per_page=100", headers)
    for i in range(40):
        make_project(supervisor=sups[i % 3])
    assert count(db, client, "/api/v1/projects?per_page=100", headers) == few
    assert client.get("/api/v1/projects?per_page=100", headers=headers).get_json()["total"] == 41


def test_problem_api_runs_a_fixed_number_of_queries_whatever_its_history(
        db, client, admin, make_user, make_project, make_department, make_problem, token_for):
    from tracker import workflow

    headers = token_for(admin)
    problem = make_problem(make_project(), "rectifying", department=make_department())
    few = count(db, client, f"/api/v1/problems/{problem.id}", headers)
    for i in range(10):  # a long log by many hands
        workflow.apply(problem, "comment", make_user("admin"), comment=f"督促{i}")
    db.session.commit()
    assert count(db, client, f"/api/v1/problems/{problem.id}", headers) == few
    body = client.get(f"/api/v1/problems/{problem.id}", headers=headers).get_json()
    assert len(body["events"]) >= 13


def test_list_counts_stop_past_the_cap_and_say_so(db, login, admin, make_project, make_problem,
                                                  make_department, monkeypatch):
    """A province's list does not count a million rows for its tabs: each tab counts up to its
    cap and then shows "cap+", the chosen tab's total (for the pager) up to a larger one; below
    the caps the numbers are exact. Shown here with caps of 3 (tabs) and 4 (pager)."""
    from tracker import paging

    monkeypatch.setattr(paging, "TAB_CAP", 3)
    monkeypatch.setattr(paging, "COUNT_CAP", 4)
    monkeypatch.setattr("tracker.problems.routes.PER_PAGE", 1)
    project, dept = make_project(), make_department()
    for _ in range(5):
        make_problem(project, "rectifying", department=dept)
    make_problem(project, "closed", department=dept)
    client = login(admin)
    with statements(db) as seen:
        page = client.get("/problems/").get_data(as_text=True)
    assert 'text-bg-secondary">3+</span>' in page            # 全部: 6 problems, past the cap
    assert 'status-rectifying">3+</span>' in page             # 5 rectifying
    assert 'status-closed">1</span>' in page                  # exact below the cap
    assert 'status-withdrawn">0</span>' in page
    assert "共 4+ 条" in page                                  # the pager: 6, past its cap of 4
    few = len(seen)
    for _ in range(4):
        make_problem(project, "closed", department=dept)
    with statements(db) as seen:
        page = client.get("/problems/").get_data(as_text=True)
    assert 'status-closed">3+</span>' in page and len(seen) == few
    page = client.get("/problems/?status=closed").get_data(as_text=True)
    assert 'aria-current="page" href="/problems/?status=closed">' in page
    page = client.get("/problems/?status=withdrawn").get_data(as_text=True)
    assert "共 4+ 条" not in page and "下一页" not in page    # nothing withdrawn: no pager
