"""The charts headquarters puts on the wall: pure functions from figures to matplotlib Figures.

Only the object-oriented `Figure` API is used (never pyplot and its global state), so charts are
safe to draw in a multi-threaded or multi-worker server. Chinese text uses Noto Sans SC shipped by
the PyPI package pylopdf-fonts-zh-cn (SIL Open Font Licence), registered by path; PDF output
embeds it as Type 3 glyphs with a ToUnicode map (matplotlib's default), which renders the
CFF-flavoured OpenType font correctly. Status colours are tracker.models.problem.STATUS_COLOURS.
"""
from io import BytesIO
from pathlib import Path

import matplotlib
import pylopdf_fonts_zh_cn
from flask_babel import gettext as _
from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from ..models import Stage
from ..models.problem import STATUS_COLOURS
from .metrics import ACTIVE, Count, Figures, WeekPoint

FONT_PATH = Path(pylopdf_fonts_zh_cn.__file__).parent / "NotoSansSC-Regular.otf"
font_manager.fontManager.addfont(str(FONT_PATH))
FONT_FAMILY = font_manager.FontProperties(fname=str(FONT_PATH)).get_name()

# One look for every chart (rcParams, not pyplot state: read when a Figure is created).
matplotlib.rcParams.update({
    "font.family": "sans-serif",
    "font.sans-serif": [FONT_FAMILY, "DejaVu Sans"],
    "axes.unicode_minus": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 16,
    "axes.labelsize": 12,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "legend.fontsize": 11,
    "pdf.fonttype": 3,
})



def cjk_font_family() -> str:
    """The registered CJK family name (the risk chart shares this one set-up)."""
    return FONT_FAMILY


SIZE = (10, 5.6)   # inches: 1000 × 560 px at 100 dpi
DPI = 100
NEW_COLOUR = "#0d6efd"
CLOSED_COLOUR = STATUS_COLOURS["closed"]
WARNING_COLOUR = "#b02a37"
NEUTRAL_COLOUR = "#6c8ebf"
SATISFACTION_COLOURS = {"very_satisfied": "#146c43", "satisfied": "#20c997", "basic": "#ffc107",
                        "dissatisfied": "#fd7e14", "very_dissatisfied": "#dc3545"}


def _figure(title: str, subtitle: str = "", size=SIZE) -> tuple[Figure, object]:
    fig = Figure(figsize=size, dpi=DPI, layout="constrained")
    ax = fig.subplots()
    ax.set_title(title, loc="left", pad=14)
    if subtitle:
        ax.set_title(subtitle, loc="right", fontsize=9, color="#6c757d")
    ax.grid(axis="y", color="#e9ecef", linewidth=0.8)
    ax.set_axisbelow(True)
    return fig, ax


def _no_data(ax) -> None:
    ax.text(0.5, 0.5, _("暂无数据"), ha="center", va="center", fontsize=14, color="#6c757d",
            transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def _label_bars(ax, bars, fmt="{:d}", horizontal=False, zeros=False) -> None:
    """Each bar's value beside it; an empty bar is labelled only with `zeros` (where a 0 is the
    news, such as a supervisor with no visit)."""
    for bar in bars:
        value = bar.get_width() if horizontal else bar.get_height()
        if not value and not zeros:
            continue
        if horizontal:
            ax.annotate(fmt.format(int(value)), (value, bar.get_y() + bar.get_height() / 2),
                        xytext=(4, 0), textcoords="offset points", va="center", fontsize=10)
        else:
            ax.annotate(fmt.format(int(value)), (bar.get_x() + bar.get_width() / 2, value),
                        xytext=(0, 3), textcoords="offset points", ha="center", fontsize=10)


def new_vs_closed(points: list[WeekPoint], subtitle: str = "") -> Figure:
    """New problems against closed ones per ISO week."""
    fig, ax = _figure(_("每周新增与销号问题"), subtitle)
    if not points:
        _no_data(ax)
        return fig
    xs = range(len(points))
    width = 0.38
    new = ax.bar([x - width / 2 for x in xs], [p.new for p in points], width,
                 color=NEW_COLOUR, label=_("新增"))
    closed = ax.bar([x + width / 2 for x in xs], [p.closed for p in points], width,
                    color=CLOSED_COLOUR, label=_("已销号"))
    _label_bars(ax, new)
    _label_bars(ax, closed)
    ax.set_xticks(list(xs), [f"{p.week[5:]}\n{p.monday.month}/{p.monday.day}" for p in points])
    ax.set_ylabel(_("问题数（个）"))
    ax.set_xlabel(_("ISO 周（周一日期）"))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="upper left", frameon=False, ncols=2)
    return fig


def closure_trend(points: list[WeekPoint], subtitle: str = "") -> Figure:
    """The cumulative closure rate at the end of each week."""
    fig, ax = _figure(_("累计销号率走势"), subtitle)
    known = [(i, p.cumulative_closure_rate) for i, p in enumerate(points)
             if p.cumulative_closure_rate is not None]
    if not known:
        _no_data(ax)
        return fig
    xs, ys = [i for i, _r in known], [r * 100 for _i, r in known]
    ax.plot(xs, ys, color=CLOSED_COLOUR, linewidth=2.5, marker="o", markersize=6)
    ax.fill_between(xs, ys, color=CLOSED_COLOUR, alpha=0.08)
    for x, y in zip(xs, ys):
        ax.annotate(f"{y:.1f}%", (x, y), xytext=(0, 8), textcoords="offset points",
                    ha="center", fontsize=9)
    ax.set_ylim(0, 105)
    ax.yaxis.set_major_formatter(PercentFormatter(100, decimals=0))
    ax.set_xticks(range(len(points)), [f"{p.week[5:]}\n{p.monday.month}/{p.monday.day}"
                                       for p in points])
    ax.set_ylabel(_("销号率（%）"))
    ax.set_xlabel(_("截至各周周日"))
    return fig


def open_by_stage(data: dict[str, dict[str, int]], subtitle: str = "") -> Figure:
    """Open problems per stage, stacked by state in the shared status colours."""
    fig, ax = _figure(_("各阶段在办问题"), subtitle)
    stages = [s for s in Stage if s.value in data
              and (s is not Stage.completed or sum(data[s.value].values()))]
    if not stages or not any(sum(data[s.value].values()) for s in stages):
        _no_data(ax)
        return fig
    stages = list(reversed(stages))  # first stage on top
    left = [0] * len(stages)
    for status in ACTIVE:
        values = [data[s.value].get(status.value, 0) for s in stages]
        ax.barh([s.label for s in stages], values, left=left, color=STATUS_COLOURS[status.value],
                label=status.label, height=0.6)
        left = [a + b for a, b in zip(left, values)]
    for y, total in enumerate(left):
        ax.annotate(str(total), (total, y), xytext=(4, 0), textcoords="offset points",
                    va="center", fontsize=11)
    ax.grid(axis="x", color="#e9ecef")
    ax.grid(axis="y", visible=False)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(_("问题数（个）"))
    ax.legend(loc="lower right", frameon=False, ncols=len(ACTIVE))
    return fig


def _keep_bar_thickness(ax, n: int, minimum: int = 6) -> None:
    """With only a few horizontal bars, keep them as thick as in a full chart."""
    if n < minimum:
        ax.set_ylim(-0.5, minimum - 0.5)


BAR_ROWS = 30  # a county's departments and supervisors fit; a province's chart shows these


def _with_note(subtitle: str, note: str) -> str:
    return f"{subtitle} · {note}" if subtitle else note


def overdue_by_department(rows: list[Figures], threshold: int, subtitle: str = "") -> Figure:
    """Overdue problems per department, with the yellow-card (黄牌警告) threshold line; past
    BAR_ROWS departments, the ones with most overdue."""
    rows = sorted((r for r in rows if r.overdue), key=lambda r: (r.overdue, r.label))
    if len(rows) > BAR_ROWS:
        subtitle = _with_note(subtitle, _("逾期最多的 %(n)s 个单位（共 %(total)s 个）",
                                          n=BAR_ROWS, total=len(rows)))
        rows = rows[-BAR_ROWS:]
    height = max(SIZE[1], 1.2 + 0.38 * len(rows))
    fig, ax = _figure(_("各责任单位逾期问题"), subtitle, size=(SIZE[0], height))
    if not rows:
        _no_data(ax)
        return fig
    colours = [WARNING_COLOUR if r.overdue >= threshold else NEUTRAL_COLOUR for r in rows]
    bars = ax.barh([r.label for r in rows], [r.overdue for r in rows], color=colours, height=0.6)
    _keep_bar_thickness(ax, len(rows))
    _label_bars(ax, bars, horizontal=True)
    ax.axvline(threshold, color="#e0a800", linestyle="--", linewidth=2)
    ax.annotate(_("黄牌警告线：%(n)s 个", n=threshold), (threshold, 1.0),
                xycoords=("data", "axes fraction"), xytext=(4, -4),
                textcoords="offset points", va="top", fontsize=10, color="#8a6d00")
    ax.set_xlim(0, max(threshold, max(r.overdue for r in rows)) * 1.15 + 0.5)
    ax.grid(axis="x", color="#e9ecef")
    ax.grid(axis="y", visible=False)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(_("逾期问题数（个）"))
    return fig


def visits_per_supervisor(counts: list[Count], subtitle: str = "") -> Figure:
    """Field visits per supervisor over a period (the period goes in the subtitle); past
    BAR_ROWS supervisors, the ones who visited least."""
    rows = sorted(counts, key=lambda c: (c.count, c.label))
    if len(rows) > BAR_ROWS:
        subtitle = _with_note(subtitle, _("走访最少的 %(n)s 人（共 %(total)s 人）",
                                          n=BAR_ROWS, total=len(rows)))
        rows = rows[:BAR_ROWS]
    height = max(SIZE[1], 1.2 + 0.38 * len(rows))
    fig, ax = _figure(_("纪检监察员走访次数"), subtitle, size=(SIZE[0], height))
    if not rows:
        _no_data(ax)
        return fig
    bars = ax.barh([c.label for c in rows], [c.count for c in rows], color=NEW_COLOUR, height=0.6)
    _keep_bar_thickness(ax, len(rows))
    _label_bars(ax, bars, horizontal=True, zeros=True)
    ax.grid(axis="x", color="#e9ecef")
    ax.grid(axis="y", visible=False)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(_("走访次数（次）"))
    return fig


def satisfaction(counts: list[Count], subtitle: str = "") -> Figure:
    """The enterprises' ratings at closure (好差评 five levels)."""
    fig, ax = _figure(_("销号回访满意度"), subtitle)
    total = sum(c.count for c in counts)
    if not total:
        _no_data(ax)
        return fig
    bars = ax.bar([c.label for c in counts], [c.count for c in counts],
                  color=[SATISFACTION_COLOURS.get(str(c.key), NEUTRAL_COLOUR) for c in counts])
    for bar, c in zip(bars, counts):
        ax.annotate(f"{c.count}（{c.count / total:.0%}）",
                    (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    xytext=(0, 3), textcoords="offset points", ha="center", fontsize=10)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(_("问题数（个）"))
    return fig


def png(fig: Figure) -> bytes:
    buffer = BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()

