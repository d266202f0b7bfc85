"""The risk chart of the weekly pack: a pure function from RiskFigures to PNG bytes.

matplotlib's Figure API (never pyplot), with the CJK font registered by path so Chinese labels
never draw as boxes.
"""
import io
from functools import lru_cache

from flask_babel import gettext as _
from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from ..models import RiskLevel, Stage
from ..services.risks import RiskFigures

LEVEL_COLOURS = {RiskLevel.high: "#dc3545", RiskLevel.medium: "#fd7e14", RiskLevel.low: "#0dcaf0"}
CHANGE_COLOURS = ("#6c757d", "#dc3545", "#198754", "#212529")


@lru_cache(maxsize=1)
def cjk_font_family() -> str:
    """Register the Noto Sans SC font shipped by pylopdf-fonts-zh-cn and return its family."""
    try:  # the weekly pack's chart module sets the same font up; prefer its one place
        from ..reports.charts import cjk_font_family as shared  # type: ignore[attr-defined]
        return shared()
    except (ImportError, AttributeError):
        pass
    from importlib.resources import files

    path = str(files("pylopdf_fonts_zh_cn") / "NotoSansSC-Regular.otf")
    font_manager.fontManager.addfont(path)
    return font_manager.FontProperties(fname=path).get_name()


def _style() -> None:
    import matplotlib

    family = cjk_font_family()
    matplotlib.rcParams["font.sans-serif"] = [family, *matplotlib.rcParams["font.sans-serif"]]
    matplotlib.rcParams["font.family"] = "sans-serif"
    matplotlib.rcParams["axes.unicode_minus"] = False


def risk_chart_png(figures: RiskFigures, dpi: int = 100) -> bytes:
    """Left: open risks by stage × category (colour = count, red figure = high ones);
    right: what changed in the week. PNG bytes."""
    fig = Figure(figsize=(12, 5.2), dpi=dpi, layout="constrained")
    _style()
    heat_ax, change_ax = fig.subplots(1, 2, width_ratios=[2.6, 1])

    stages = [s for s in Stage if s is not Stage.completed
              or any(figures.cell(s, c).total for c in figures.categories)]
    categories = figures.categories
    peak = max((figures.cell(s, c).total for s in stages for c in categories), default=0) or 1
    for y, stage in enumerate(stages):
        for x, category in enumerate(categories):
            cell = figures.cell(stage, category)
            # Colour of the highest open level, stronger the more risks the cell holds.
            colour, alpha = ((LEVEL_COLOURS[cell.top], 0.25 + 0.55 * cell.total / peak)
                             if cell.total else ("#f8f9fa", 1.0))
            heat_ax.add_patch(Rectangle((x - 0.5, y - 0.5), 1, 1, facecolor=colour, alpha=alpha,
                                        edgecolor="white", linewidth=2))
            if not cell.total:
                continue
            heat_ax.text(x, y - 0.13, str(cell.total), ha="center", va="center", fontsize=13,
                         color="#212529")
            detail = " ".join(f"{lvl.label}{getattr(cell, lvl.value)}" for lvl in RiskLevel
                              if getattr(cell, lvl.value))
            heat_ax.text(x, y + 0.25, detail, ha="center", va="center", fontsize=8,
                         color="#212529")
    heat_ax.set_xlim(-0.5, len(categories) - 0.5)
    heat_ax.set_ylim(len(stages) - 0.5, -0.5)
    heat_ax.set_xticks(range(len(categories)), [c.label for c in categories], fontsize=9)
    heat_ax.set_yticks(range(len(stages)), [s.label for s in stages], fontsize=9)
    heat_ax.tick_params(length=0)
    for spine in heat_ax.spines.values():
        spine.set_visible(False)
    legend = {RiskLevel.high: _("有高风险"), RiskLevel.medium: _("最高为中"),
              RiskLevel.low: _("仅低风险")}
    heat_ax.legend(handles=[Patch(color=LEVEL_COLOURS[lvl], alpha=0.7, label=legend[lvl])
                            for lvl in RiskLevel],
                   loc="upper center", bbox_to_anchor=(0.5, -0.07), ncols=3, frameon=False,
                   fontsize=9)
    levels = "　".join(f"{lvl.label} {figures.open_by_level.get(lvl, 0)}" for lvl in RiskLevel)
    heat_ax.set_title(_("未关闭风险点：阶段 × 类别（共 %(n)s 个：%(levels)s）",
                        n=figures.open_total, levels=levels), fontsize=11)

    labels = [_("新增"), _("升级"), _("降级"), _("关闭")]
    values = [figures.changes.new, figures.changes.raised, figures.changes.lowered,
              figures.changes.closed]
    bars = change_ax.bar(labels, values, color=CHANGE_COLOURS)
    change_ax.bar_label(bars, fontsize=10)
    change_ax.set_ylim(0, max(values + [1]) * 1.25)
    change_ax.yaxis.get_major_locator().set_params(integer=True)
    change_ax.spines[["top", "right"]].set_visible(False)
    change_ax.set_title(_("本周变化（风险点个数）"), fontsize=11)

    fig.suptitle(_("重大风险点　%(week)s（%(start)s 至 %(end)s）", week=figures.week,
                   start=figures.starts_on.strftime("%m月%d日"),
                   end=figures.ends_on.strftime("%m月%d日")), fontsize=13)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
