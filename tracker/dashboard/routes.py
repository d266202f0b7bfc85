"""Pages: headquarters' figures as of a chosen day, the charts as PNG, the weekly pack download.

Everyone signed in may open the dashboard; what it counts is what tracker.visibility lets them
see (admin and viewers: everything; a department: its problems; a supervisor: their projects).
"""
import hashlib
from collections import OrderedDict
from datetime import date, timedelta
from io import BytesIO
from threading import Lock

from flask import Blueprint, abort, flash, render_template, request, send_file
from flask_babel import get_locale, gettext as _
from flask_login import current_user

from ..auth import roles_required
from ..calendar import local_today
from ..models import Role
from ..reports import charts, exports, metrics, stored
from ..services.risks import open_high_risks
from ..templating import cn_date

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")

ALL_ROLES = (Role.admin, Role.viewer, Role.supervisor, Role.department)
CHART_NAMES = ("new-vs-closed", "closure-trend", "open-by-stage", "overdue-by-department",
               "visits-per-supervisor", "satisfaction")
VISIT_WINDOW_DAYS = 30
TABLE_ROWS = 100   # a county's projects fit; a province's table lists the most pressing ones
STALE_ROWS = 20


def most_pressing(rows: list[metrics.Figures], limit: int = TABLE_ROWS) -> list[metrics.Figures]:
    """The rows as they come when they fit; else the `limit` with most overdue, then open."""
    if len(rows) <= limit:
        return rows
    return sorted(rows, key=lambda r: (-r.overdue, -r.open, -r.total))[:limit]


def _as_of(warn: bool = True) -> date:
    """The ?as_of= day (YYYY-MM-DD), today when absent; a bad or future day falls back to today."""
    today = local_today()
    raw = request.args.get("as_of", "").strip()
    if not raw:
        return today
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        if warn:
            flash(_("日期格式应为 YYYY-MM-DD，已显示今天的数据"), "warning")
        return today
    if day > today:
        if warn:
            flash(_("不能查看未来的数据，已显示今天的数据"), "warning")
        return today
    return day


def _shows_visits() -> bool:
    # Department users see no visits (visibility.py), so visit figures would only mislead them.
    return current_user.role is not Role.department


@bp.route("/")
@roles_required(*ALL_ROLES)
def index():
    day = _as_of()
    stale_days = exports.stale_visit_days()
    board = metrics.dashboard(current_user, day, stale_days=stale_days,
                              with_stale=_shows_visits())
    return render_template("dashboard/index.html", board=board, day=day, today=local_today(),
                           high_risks=open_high_risks(current_user, limit=10),
                           charts=[c for c in CHART_NAMES
                                   if _shows_visits() or c != "visits-per-supervisor"],
                           last_week=metrics.iso_week(metrics.last_full_week()),
                           stale_days=stale_days, most_pressing=most_pressing,
                           table_rows=TABLE_ROWS, stale_rows=STALE_ROWS)


PNG_CACHE_SIZE = 128
_png_cache: "OrderedDict[str, bytes]" = OrderedDict()
_png_lock = Lock()


def _png(name: str, draw, *data) -> bytes:
    """The chart drawn from `data`, cached per worker by what it shows (chart, locale, figures,
    labels, subtitle): the same view again costs its queries but no matplotlib run. Bounded:
    the least recently used images go first."""
    key = hashlib.sha256(repr((name, str(get_locale()), data)).encode()).hexdigest()
    with _png_lock:
        if key in _png_cache:
            _png_cache.move_to_end(key)
            return _png_cache[key]
    png = charts.png(draw(*data))
    with _png_lock:
        _png_cache[key] = png
        while len(_png_cache) > PNG_CACHE_SIZE:
            _png_cache.popitem(last=False)
    return png


@bp.route("/charts/<name>.png")
@roles_required(*ALL_ROLES)
def chart(name: str):
    if name not in CHART_NAMES or (name == "visits-per-supervisor" and not _shows_visits()):
        abort(404)
    day = _as_of(warn=False)
    subtitle = _("截至 %(day)s", day=cn_date(day))
    user = current_user
    if name in ("new-vs-closed", "closure-trend"):
        points = metrics.weekly_series(user, day - timedelta(days=day.weekday()), weeks=12)
        png = _png(name, charts.new_vs_closed if name == "new-vs-closed" else charts.closure_trend,
                   points, subtitle)
    elif name == "open-by-stage":
        png = _png(name, charts.open_by_stage, metrics.open_by_stage(user, day), subtitle)
    elif name == "overdue-by-department":
        png = _png(name, charts.overdue_by_department, metrics.closure(user, "department", day),
                   exports.yellow_card_threshold(), subtitle)
    elif name == "visits-per-supervisor":
        first = day - timedelta(days=VISIT_WINDOW_DAYS - 1)
        png = _png(name, charts.visits_per_supervisor,
                   metrics.visits_per_supervisor(user, first, day),
                   _("%(first)s 至 %(last)s", first=first.isoformat(), last=day.isoformat()))
    else:
        png = _png(name, charts.satisfaction, metrics.satisfaction(user, day), subtitle)
    response = send_file(BytesIO(png), mimetype="image/png")
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@bp.route("/weekly.zip")
@roles_required(*ALL_ROLES)
def weekly():
    raw = request.args.get("week", "").strip()
    try:
        monday = metrics.parse_iso_week(raw) if raw else metrics.last_full_week()
    except ValueError:
        abort(400, description=_("周次格式应为 2026-W47"))
    if monday > local_today():
        abort(400, description=_("该周尚未开始"))
    week, data = stored.weekly_zip(current_user, monday)
    return send_file(BytesIO(data), mimetype="application/zip", as_attachment=True,
                     download_name=f"weekly-{week}.zip")
