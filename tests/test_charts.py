"""The wall charts: Chinese text renders with the shipped font (no missing glyph), each chart
draws with data and without, at the size leadership reads at 100 dpi."""
import warnings
from datetime import date
from io import BytesIO

import pytest
from PIL import Image

from tracker.reports import charts, metrics
from tracker.reports.metrics import Count, Figures, WeekPoint

pytestmark = pytest.mark.usefixtures("app")


def _points():
    return [WeekPoint(f"2026-W{w}", date.fromisocalendar(2026, w, 1), new=w % 5 + 1,
                      closed=w % 3, cumulative_closure_rate=min(1, w / 60)) for w in range(36, 48)]


def _charts_with_data():
    departments = [Figures(i, name, registered=10, closed=3, overdue=i)
                   for i, name in enumerate(["县发展和改革局", "县自然资源局", "国网衡东县供电公司",
                                             "县人力资源和社会保障局"], start=1)]
    return {
        "new_vs_closed": charts.new_vs_closed(_points(), "2026-W47（11月16日—11月22日）"),
        "closure_trend": charts.closure_trend(_points()),
        "open_by_stage": charts.open_by_stage(
            {"signing": {"open": 1, "assigned": 2, "rectifying": 3, "rectified": 0},
             "construction": {"open": 0, "assigned": 5, "rectifying": 9, "rectified": 2}}),
        "overdue_by_department": charts.overdue_by_department(departments, threshold=3),
        "visits_per_supervisor": charts.visits_per_supervisor(
            [Count(1, "刘志强", 7), Count(2, "阳晓燕", 3)]),
        "satisfaction": charts.satisfaction(
            [Count(s, s, n) for s, n in [("very_satisfied", 4), ("satisfied", 9), ("basic", 2),
                                         ("dissatisfied", 0), ("very_dissatisfied", 0)]]),
    }


def _empty_charts():
    return {
        "new_vs_closed": charts.new_vs_closed([]),
        "closure_trend": charts.closure_trend([WeekPoint("2026-W47", date(2026, 11, 16), 0, 0,
                                                         None)]),
        "open_by_stage": charts.open_by_stage({}),
        "overdue_by_department": charts.overdue_by_department([], threshold=3),
        "visits_per_supervisor": charts.visits_per_supervisor([]),
        "satisfaction": charts.satisfaction([]),
    }


@pytest.mark.sqlite_only
@pytest.mark.parametrize("build", [_charts_with_data, _empty_charts], ids=["data", "empty"])
def test_every_chart_renders_chinese_without_a_missing_glyph(build):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rendered = {name: charts.png(fig) for name, fig in build().items()}
    glyph_warnings = [str(w.message) for w in caught if "missing from font" in str(w.message)
                      or "Glyph" in str(w.message)]
    assert glyph_warnings == []
    for name, data in rendered.items():
        image = Image.open(BytesIO(data))
        assert image.format == "PNG", name
        assert image.width == 1000 and image.height >= 560, name  # 10 × 5.6 in at 100 dpi


@pytest.mark.sqlite_only
def test_the_default_font_would_have_drawn_boxes():
    """The check above can fail: without the CJK font matplotlib warns about missing glyphs."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3, 1), dpi=100)
    fig.text(0.1, 0.5, "销号率", family="DejaVu Sans")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        charts.png(fig)
    assert any("missing from font" in str(w.message) for w in caught)


@pytest.mark.sqlite_only
def test_overdue_chart_marks_departments_at_the_yellow_card_line():
    rows = [Figures(1, "县自然资源局", registered=9, overdue=5),
            Figures(2, "县财政局", registered=9, overdue=1),
            Figures(3, "县审计局", registered=2, overdue=0)]
    fig = charts.overdue_by_department(rows, threshold=3)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["县财政局", "县自然资源局"]  # no bar for a department with none overdue
    colours = [bar.get_facecolor() for bar in ax.patches]
    assert len(set(colours)) == 2  # the one at or over the line stands out
    assert any("黄牌警告线" in t.get_text() for t in ax.texts)


@pytest.mark.sqlite_only
def test_charts_from_real_figures(history):
    points = metrics.weekly_series(None, date(2026, 3, 9), weeks=2)
    data = charts.png(charts.new_vs_closed(points))
    assert data.startswith(b"\x89PNG")


from tests.test_metrics import history  # noqa: E402,F401  (the hand-built history fixture)


@pytest.mark.sqlite_only
def test_a_province_sees_the_bars_that_need_attention():
    """Past 30 departments or supervisors the bar charts keep a readable height: the most
    overdue departments and the supervisors who visited least, and say so under the title."""
    from tracker.reports.metrics import Count

    departments = [Figures(i, f"单位{i:03d}", registered=50, overdue=i % 40) for i in range(200)]
    ax = charts.overdue_by_department(departments, threshold=3).axes[0]
    shown = [bar.get_width() for bar in ax.patches if bar.get_height() == 0.6]
    assert len(shown) == 30 and min(shown) >= 34  # 200 departments: the 30 with 34–39 overdue
    assert ax.get_title(loc="right") == "逾期最多的 30 个单位（共 195 个）"
    visits = [Count(i, f"纪检监察员{i:04d}", 1 + i % 50) for i in range(1428)]
    ax = charts.visits_per_supervisor(visits, "2026-10-26 至 2026-11-24").axes[0]
    counts = [bar.get_width() for bar in ax.patches]
    assert sorted(counts) == [1] * 29 + [2]  # the 29 with one visit, then the first with two
    assert ax.get_title(loc="right") == "2026-10-26 至 2026-11-24 · 走访最少的 30 人（共 1428 人）"


def test_a_supervisor_without_visits_shows_a_zero():
    from tracker.reports.metrics import Count

    ax = charts.visits_per_supervisor([Count(1, "刘志强", 3), Count(2, "王不走", 0)]).axes[0]
    labels = {text.get_text() for text in ax.texts}
    assert [t.get_text() for t in ax.get_yticklabels()] == ["王不走", "刘志强"]  # fewest first
    assert {"0", "3"} <= labels
