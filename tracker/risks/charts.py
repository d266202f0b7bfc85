"""The risk page of the weekly pack: pure functions from RiskFigures to a matplotlib Figure / PNG.

Only the Figure API (never pyplot). The CJK font is the one tracker.reports.charts registers by
path (Noto Sans SC from pylopdf-fonts-zh-cn), so Chinese never draws as boxes.
"""
import io

from flask_babel import gettext as _
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from ..calendar import TZ
from ..models import RiskLevel, Stage
from ..reports.charts import cjk_font_family  # one font set-up for every chart
from ..services.risks import CHANGE_KIND_LABELS, RiskFigures, change_kind
from ..templating import short_date

LEVEL_COLOURS = {RiskLevel.high: "#dc3545", RiskLevel.medium: "#fd7e14", RiskLevel.low: "#0dcaf0"}
CHANGE_COLOURS = ("#6c757d", "#dc3545", "#198754", "#212529")
DPI = 100


def _title(figures: RiskFigures) -> str:
    return _("重大风险点　%(week)s（%(start)s 至 %(end)s）", week=figures.week,
             start=short_date(figures.starts_on), end=short_date(figures.ends_on))


def _draw_heat(ax, figures: RiskFigures) -> None:
    """Open risks by stage × category: the number, coloured by the highest level in the cell."""
    stages = [s for s in Stage if s is not Stage.completed
              or any(figures.cell(s, c).total for c in figures.categories)]
    categories = figures.categories
    peak = max((figures.cell(s, c).total for s in stages for c in categories), default=0) or 1
    for y, stage in enumerate(stages):
        for x, category in enumerate(categories):
            cell = figures.cell(stage, category)
            colour, alpha = ((LEVEL_COLOURS[cell.top], 0.25 + 0.55 * cell.total / peak)
                             if cell.total else ("#f8f9fa", 1.0))
            ax.add_patch(Rectangle((x - 0.5, y - 0.5), 1, 1, facecolor=colour, alpha=alpha,
                                   edgecolor="white", linewidth=2))
            if not cell.total:
                continue
            ax.text(x, y - 0.13, str(cell.total), ha="center", va="center", fontsize=13,
                    color="#212529")
            detail = " ".join(f"{lvl.label}{getattr(cell, lvl.value)}" for lvl in RiskLevel
                              if getattr(cell, lvl.value))
            ax.text(x, y + 0.25, detail, ha="center", va="center", fontsize=8, color="#212529")
    ax.set_xlim(-0.5, len(categories) - 0.5)
    ax.set_ylim(len(stages) - 0.5, -0.5)
    ax.set_xticks(range(len(categories)), [c.label for c in categories], fontsize=9)
    ax.set_yticks(range(len(stages)), [s.label for s in stages], fontsize=9)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    legend = {RiskLevel.high: _("有高风险"), RiskLevel.medium: _("最高为中"),
              RiskLevel.low: _("仅低风险")}
    ax.legend(handles=[Patch(color=LEVEL_COLOURS[lvl], alpha=0.7, label=legend[lvl])
                       for lvl in RiskLevel],
              loc="upper center", bbox_to_anchor=(0.5, -0.07), ncols=3, frameon=False, fontsize=9)
    levels = "　".join(f"{lvl.label} {figures.open_by_level.get(lvl, 0)}" for lvl in RiskLevel)
    ax.set_title(_("未关闭风险点：阶段 × 类别（共 %(n)s 个：%(levels)s）",
                   n=figures.open_total, levels=levels), fontsize=11, loc="center")


def _draw_changes(ax, figures: RiskFigures) -> None:
    labels = [_("新增"), _("升级"), _("降级"), _("关闭")]
    values = [figures.changes.new, figures.changes.raised, figures.changes.lowered,
              figures.changes.closed]
    bars = ax.bar(labels, values, color=CHANGE_COLOURS)
    ax.bar_label(bars, fontsize=10)
    ax.set_ylim(0, max(values + [1]) * 1.25)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=10)
    ax.set_title(_("本周变化（风险点个数）"), fontsize=11, loc="center")


def risk_chart(figures: RiskFigures) -> Figure:
    """Left: open risks by stage × category; right: what changed in the week."""
    cjk_font_family()
    fig = Figure(figsize=(12, 5.2), dpi=DPI, layout="constrained")
    heat_ax, change_ax = fig.subplots(1, 2, width_ratios=[2.6, 1])
    _draw_heat(heat_ax, figures)
    _draw_changes(change_ax, figures)
    fig.suptitle(_title(figures), fontsize=13)
    return fig


def risk_chart_png(figures: RiskFigures) -> bytes:
    buffer = io.BytesIO()
    risk_chart(figures).savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def risk_page(figures: RiskFigures, projects: int = 12, changes: int = 12) -> Figure:
    """An A4 page for the weekly PDF: the chart, the projects with the highest open risks and
    this week's changes as tables."""
    cjk_font_family()
    fig = Figure(figsize=(8.27, 11.69), dpi=DPI)
    fig.suptitle(_title(figures), fontsize=14, y=0.975)
    heat_ax = fig.add_axes((0.16, 0.69, 0.56, 0.24))
    change_ax = fig.add_axes((0.79, 0.71, 0.18, 0.22))
    _draw_heat(heat_ax, figures)
    heat_ax.set_title(_("未关闭风险点：阶段 × 类别"), fontsize=10)
    heat_ax.tick_params(labelsize=7)
    _draw_changes(change_ax, figures)
    change_ax.set_title(_("本周变化"), fontsize=10)
    change_ax.tick_params(labelsize=8)

    rows = [[_clip(p.name, 18), p.stage.label, p.highest.label, str(p.high or ""),
             str(p.medium or ""), str(p.low or "")] for p in figures.projects[:projects]]
    _table(fig, (0.05, 0.38, 0.9, 0.24), _("项目风险排序（按最高等级）"),
           [_("项目"), _("阶段"), _("最高"), _("高"), _("中"), _("低")], rows,
           [0.44, 0.2, 0.09, 0.09, 0.09, 0.09])
    rows = [[r.at.astimezone(TZ).strftime("%m-%d"), _clip(r.project_name, 12),
             _clip(r.title, 12), str(CHANGE_KIND_LABELS[change_kind(r)]), _clip(r.reason, 18)]
            for r in figures.recent[:changes]]
    _table(fig, (0.05, 0.04, 0.9, 0.28), _("本周变化"),
           [_("日期"), _("项目"), _("风险点"), _("变化"), _("理由")], rows,
           [0.09, 0.25, 0.25, 0.1, 0.31])
    return fig


def _table(fig: Figure, box, title: str, header: list[str], rows: list[list[str]],
           widths: list[float]) -> None:
    ax = fig.add_axes(box)
    ax.axis("off")
    ax.set_title(title, loc="left", fontsize=11)
    if not rows:
        ax.text(0.5, 0.8, _("暂无"), ha="center", va="top", fontsize=10, color="#6c757d")
        return
    table = ax.table(cellText=rows, colLabels=header, colWidths=widths, loc="upper center",
                     cellLoc="left")
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    table.scale(1, 1.35)
    for (row, _col), cell in table.get_celld().items():
        cell.set_edgecolor("#dee2e6")
        if row == 0:
            cell.set_facecolor("#f1f3f5")
