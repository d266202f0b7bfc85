"""Dashboard charts are drawn once for the data they show: the same view again is the same image
without a matplotlib run; a change in the figures draws a new one."""
import pytest

from tracker.dashboard import routes
from tracker.reports import charts

pytestmark = pytest.mark.sqlite_only  # what is cached does not depend on the database


@pytest.fixture
def drawn(monkeypatch):
    """Counts the charts actually drawn (the real drawing still runs)."""
    calls = []
    real = charts.png

    def counting(fig):
        calls.append(1)
        return real(fig)
    monkeypatch.setattr(charts, "png", counting)
    routes._png_cache.clear()
    return calls


def test_the_same_view_is_drawn_once_and_new_figures_draw_anew(
        db, admin, login, make_project, make_department, make_problem, drawn):
    client = login(admin)
    project = make_project()
    make_problem(project, "rectifying", department=make_department())
    url = "/dashboard/charts/open-by-stage.png"
    first = client.get(url)
    again = client.get(url)
    assert first.status_code == again.status_code == 200
    assert first.mimetype == "image/png" and first.data == again.data
    assert len(drawn) == 1

    make_problem(project, "assigned", department=make_department())  # the figures change
    changed = client.get(url)
    assert changed.status_code == 200 and changed.data != first.data
    assert len(drawn) == 2


def test_the_cache_stays_bounded(db, admin, login, drawn, monkeypatch):
    monkeypatch.setattr(routes, "PNG_CACHE_SIZE", 3)
    client = login(admin)
    for day in ("2026-01-05", "2026-02-02", "2026-03-02", "2026-04-06", "2026-05-04"):
        assert client.get(f"/dashboard/charts/satisfaction.png?as_of={day}").status_code == 200
    assert len(drawn) == 5 and len(routes._png_cache) == 3
