"""The weekly pack for leadership: PNG charts, one PDF report and the problem ledger (台账).

A week is an ISO week, Monday to Sunday in Asia/Shanghai; every figure is "as of" the end of its
Sunday, so a pack for a past week comes out the same whenever it is produced. `user=None` is
headquarters' scope (the CLI); a signed-in user gets the pack of what they may see.
"""
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from io import BytesIO

import sqlalchemy as sa
from flask_babel import gettext as _
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.image import imread
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from ..extensions import db
from ..models.base import N_
from ..models import (ESCALATION_LABELS, Department, Problem, ProblemEvent, ProblemStatus,
                      Project, Role, Satisfaction, Source, Stage, User)
from ..risks.charts import risk_chart_png, risk_page
from ..services.risks import risk_figures
from ..templating import short_date
from ..xlsx import cell_text, cells
from . import charts, metrics
from .metrics import ACTIVE, bound_of, iso_week, problem_states

YELLOW_CARD_DEFAULT = 3  # used only if the settings service cannot be read


@dataclass
class WeeklyPack:
    week: str
    monday: date
    sunday: date
    files: dict[str, bytes] = field(default_factory=dict)

    def zip_bytes(self) -> bytes:
        buffer = BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in self.files.items():
                archive.writestr(f"{self.week}/{name}", data)
        return buffer.getvalue()


def yellow_card_threshold() -> int:
    try:
        from ..services import settings
        return settings.get("yellow_card_threshold")
    except Exception:  # noqa: BLE001 - a pack must not fail for a missing setting
        return YELLOW_CARD_DEFAULT


def stale_visit_days() -> int:
    try:
        from ..services import settings
        return settings.get("stale_visit_days")
    except Exception:  # noqa: BLE001
        return 30


def _period(monday: date, sunday: date) -> str:
    return _("%(week)s（%(start)s—%(end)s），数据截至 %(end)s 24:00", week=iso_week(monday),
             start=short_date(monday), end=short_date(sunday))


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def week_charts(user: User | None, monday: date,
                board: metrics.Dashboard | None = None) -> dict[str, Figure]:
    """The pack's charts for the ISO week starting `monday`, keyed by file stem; `board` is the
    week's figures as of its Sunday when the caller has them (metrics.board)."""
    sunday = monday + timedelta(days=6)
    period = _period(monday, sunday)
    board = board or metrics.board(user, sunday)
    points = metrics.weekly_series(user, monday, weeks=12, totals=board.headline.figures)
    return {
        "01-new-vs-closed": charts.new_vs_closed(points, period),
        "02-closure-trend": charts.closure_trend(points, period),
        "03-open-by-stage": charts.open_by_stage(board.open_by_stage, period),
        "04-overdue-by-department": charts.overdue_by_department(
            board.by["department"], yellow_card_threshold(), period),
        "05-visits-per-supervisor": charts.visits_per_supervisor(
            metrics.visits_per_supervisor(user, monday, sunday), period),
        "06-satisfaction": charts.satisfaction(board.satisfaction, period),
    }


def _risk_figures(user: User | None, monday: date):
    """The week's risk figures as `user` may see them (all of them for the command line)."""
    viewer = user if user is not None else User(role=Role.admin, name="", username="")
    return risk_figures(viewer, monday)


def weekly_pack(user: User | None, monday: date) -> WeeklyPack:
    """Charts (PNG), the PDF report and the Excel ledger of one ISO week. The figures as of
    the Sunday are counted once (metrics.board, one statement) and shared by all three; each
    chart is drawn once, and the PDF carries the same images."""
    sunday = monday + timedelta(days=6)
    pack = WeeklyPack(week=iso_week(monday), monday=monday, sunday=sunday)
    board = metrics.board(user, sunday, with_ledger=True)
    images = {stem: charts.png(fig) for stem, fig in week_charts(user, monday, board).items()}
    for stem, png in images.items():
        pack.files[f"{pack.week}-{stem}.png"] = png
    risks = _risk_figures(user, monday)
    pack.files[f"{pack.week}-07-risks.png"] = risk_chart_png(risks)
    pack.files[f"{pack.week}-report.pdf"] = report_pdf(
        user, monday, images, extra_pages=[risk_page(risks)], board=board)
    pack.files[f"{pack.week}-ledger.xlsx"] = ledger_xlsx(user, sunday, since=monday,
                                                         ledger=board.ledger)
    return pack


# ---------------------------------------------------------------- PDF

A4_PORTRAIT = (8.27, 11.69)
COVER_SUPERVISORS = 16
LEDGER_PAGE_ROWS = 40


def _table(ax, header: list[str], rows: list[list[str]], col_widths: list[float],
           highlight: set[int] | None = None) -> None:
    ax.axis("off")
    if not rows:
        ax.text(0, 0.95, _("暂无数据"), fontsize=10, color="#6c757d", va="top")
        return
    table = ax.table(cellText=rows, colLabels=header, colWidths=col_widths, loc="upper left",
                     cellLoc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(9)
    table.scale(1, 1.35)
    for (r, c), cell in table.get_celld().items():
        cell.set_edgecolor("#dee2e6")
        if r == 0:
            cell.set_facecolor("#b3261e")
            cell.get_text().set_color("white")
        elif highlight and (r - 1) in highlight:
            cell.set_facecolor("#f8d7da")
        if c == 0 and r > 0:
            cell.get_text().set_horizontalalignment("left")


def _figure_rows(rows: list[metrics.Figures]) -> list[list[str]]:
    return [[r.label, str(r.total), str(r.closed), str(r.open), str(r.overdue),
             _percent(r.closure_rate), _percent(r.on_time_rate)] for r in rows]


FIGURE_HEADER = ["", N_("问题数"), N_("已销号"), N_("在办"), N_("逾期"), N_("销号率"), N_("按期销号率")]


def cover_pages(user: User | None, monday: date,
                board: metrics.Dashboard | None = None) -> list[Figure]:
    """The report's first pages: the week's headline figures and tables."""
    sunday = monday + timedelta(days=6)
    if board is None or board.ledger is None:
        board = metrics.board(user, sunday, with_ledger=True)
    head = board.headline
    f = head.figures
    spans = board.durations
    week_flow = metrics.weekly_series(user, monday, weeks=1, totals=f)[0]
    by_stage = board.by["stage"]
    ledger = board.ledger
    by_supervisor = board.by["supervisor"]
    threshold = yellow_card_threshold()

    cover = Figure(figsize=A4_PORTRAIT, dpi=100)
    cover.text(0.07, 0.95, _("重点项目监督周报"), fontsize=24, color="#b3261e")
    cover.text(0.07, 0.92, _period(monday, sunday), fontsize=11, color="#495057")
    cover.text(0.07, 0.90, _("县纪委监委 · 重点项目纪检监察监督"), fontsize=10, color="#6c757d")
    cards = [
        (_("重点项目"), f"{head.projects}", _("个")),
        (_("问题总数"), f"{f.total}", _("个（不含撤销）")),
        (_("在办问题"), f"{f.open}", _("个")),
        (_("销号率"), _percent(f.closure_rate), _("已销号 %(n)s 个", n=f.closed)),
        (_("按期销号率"), _percent(f.on_time_rate), _("对照原定期限")),
        (_("逾期问题"), f"{f.overdue}", _("个")),
        (_("升级督办"), f"{f.escalated}", _("个在办")),
        (_("本周新增 / 销号"), f"{week_flow.new} / {week_flow.closed}", _("个")),
        (_("平均 / P90 销号用时"),
         "—" if spans.average is None else f"{spans.average:g} / {spans.p90}", _("工作日")),
    ]
    for i, (label, value, unit) in enumerate(cards):
        x, y = 0.07 + (i % 3) * 0.295, 0.795 - (i // 3) * 0.085
        cover.patches.append(_card(cover, x, y))
        cover.text(x + 0.015, y + 0.052, label, fontsize=9.5, color="#495057")
        cover.text(x + 0.015, y + 0.016, value, fontsize=17, color="#212529")
        cover.text(x + 0.27, y + 0.018, unit, fontsize=8, color="#6c757d", ha="right")
    cover.text(0.07, 0.555, _("按阶段"), fontsize=13)
    ax = cover.add_axes([0.07, 0.36, 0.86, 0.18])
    _table(ax, [_("阶段")] + [_(h) for h in FIGURE_HEADER[1:]], _figure_rows(by_stage),
           [0.26, 0.11, 0.11, 0.11, 0.11, 0.15, 0.15])
    if len(by_supervisor) > COVER_SUPERVISORS:  # the cover holds the most overdue ones
        by_supervisor = sorted(by_supervisor, key=lambda r: (-r.overdue, -r.open, r.label))
        cover.text(0.07, 0.335, _("按纪检监察员（逾期最多的 %(n)s 人，共 %(total)s 人）",
                                  n=COVER_SUPERVISORS, total=len(by_supervisor)), fontsize=13)
    else:
        cover.text(0.07, 0.335, _("按纪检监察员"), fontsize=13)
    ax = cover.add_axes([0.07, 0.02, 0.86, 0.30])
    _table(ax, [_("纪检监察员")] + [_(h) for h in FIGURE_HEADER[1:]],
           _figure_rows(by_supervisor)[:COVER_SUPERVISORS],
           [0.26, 0.11, 0.11, 0.11, 0.11, 0.15, 0.15])

    page2 = Figure(figsize=A4_PORTRAIT, dpi=100)
    page2.text(0.07, 0.95, _("责任单位台账"), fontsize=16)
    note = _("红色底纹：逾期问题达到黄牌警告线（%(n)s 个）的单位", n=threshold)
    if len(ledger) > LEDGER_PAGE_ROWS:  # one page holds the most overdue; the workbook has all
        note += _("；列出逾期最多的 %(n)s 个单位（共 %(total)s 个，全部见 Excel 台账）",
                  n=LEDGER_PAGE_ROWS, total=len(ledger))
        ledger = sorted(ledger, key=lambda d: (-d.overdue, -d.open, d.name))[:LEDGER_PAGE_ROWS]
    page2.text(0.07, 0.925, note, fontsize=9.5, color="#6c757d")
    ax = page2.add_axes([0.05, 0.05, 0.9, 0.86])
    rows = [[d.name, str(d.handed_over), str(d.accepted_late), str(d.closed),
             str(d.closed_on_time), _percent(d.on_time_rate), str(d.open), str(d.overdue),
             "—" if d.average_days_to_close is None else f"{d.average_days_to_close:g}"]
            for d in ledger]
    _table(ax, [_("责任单位"), _("交办"), _("逾期签收"), _("已销号"), _("按期销号"),
                _("按期率"), _("在办"), _("逾期"), _("平均用时(工作日)")], rows,
           [0.25, 0.08, 0.09, 0.08, 0.09, 0.09, 0.08, 0.08, 0.16],
           highlight={i for i, d in enumerate(ledger) if d.overdue >= threshold})
    return [cover, page2]


def _card(fig: Figure, x: float, y: float):
    from matplotlib.patches import FancyBboxPatch

    return FancyBboxPatch((x, y), 0.275, 0.072, boxstyle="round,pad=0.004,rounding_size=0.01",
                          transform=fig.transFigure, facecolor="#f8f9fa", edgecolor="#dee2e6",
                          figure=fig)


def report_pdf(user: User | None, monday: date, images: dict[str, bytes] | None = None,
               extra_pages: list[Figure] = (), board: metrics.Dashboard | None = None) -> bytes:
    """One PDF: the cover pages, then every chart on its own page (the pack's PNGs, placed as
    they are rather than drawn again), then the extra pages (the risk register's page)."""
    sunday = monday + timedelta(days=6)
    if board is None or board.ledger is None:
        board = metrics.board(user, sunday, with_ledger=True)
    if images is None:
        images = {stem: charts.png(fig) for stem, fig in week_charts(user, monday, board).items()}
    buffer = BytesIO()
    metadata = {"Title": _("重点项目监督周报 %(week)s", week=iso_week(monday)),
                "Author": _("县纪委监委"), "Creator": "tracker"}
    with PdfPages(buffer, metadata=metadata) as pdf:
        for page in cover_pages(user, monday, board):
            pdf.savefig(page)
        for png in images.values():
            pdf.savefig(_image_page(png))
        for page in extra_pages:
            pdf.savefig(page)
    return buffer.getvalue()


def _image_page(png: bytes) -> Figure:
    """A page the size of a chart's PNG showing it pixel for pixel."""
    image = imread(BytesIO(png), format="png")
    height, width = image.shape[:2]
    page = Figure(figsize=(width / charts.DPI, height / charts.DPI), dpi=charts.DPI)
    ax = page.add_axes((0, 0, 1, 1))
    ax.imshow(image, interpolation="none")
    ax.axis("off")
    return page


# ---------------------------------------------------------------- Excel ledger

LEDGER_HEADER = ["序号", "项目编号", "项目名称", "问题阶段", "问题标题", "问题来源", "责任单位",
                 "办理时限（工作日）", "登记日期", "当前期限", "原定期限", "状态", "逾期（工作日）",
                 "销号日期", "满意度", "督办等级"]
LEDGER_WIDTHS = [6, 12, 30, 14, 36, 10, 22, 10, 12, 12, 12, 9, 10, 12, 10, 9]
DEPARTMENT_HEADER = ["责任单位", "交办问题", "逾期签收", "已销号", "按期销号", "按期销号率",
                     "在办", "逾期", "平均销号用时（工作日）", "黄牌警告候选"]
OVERDUE_FILL = PatternFill("solid", fgColor="F8D7DA")
HEADER_FILL = PatternFill("solid", fgColor="B3261E")
HEADER_FONT = Font(bold=True, color="FFFFFF")


def ledger_rows(user: User | None, day: date, since: date | None = None) -> list[list]:
    """The ledger's rows as of `day` (one query): every problem registered by then or, with
    `since`, those still open on `day` and those registered or closed from `since` on — the
    week's ledger, which stays the size of the week's work, not of years of history.

    The ledger is a listing, so it reads one row per problem — as plain tuples of the columns
    it shows, never ORM objects.
    """
    calendar = metrics.working_days()
    st = problem_states(bound_of(day), user, among=None if since is None else _touched(since))
    rows = db.session.execute(
        sa.select(st.c.problem_id, Project.code, Project.name.label("project"), st.c.stage,
                  Problem.title, Problem.source, Department.name.label("department"),
                  Problem.handling_class, st.c.registered_on,
                  st.c.due_on, st.c.original_due_on, st.c.status, st.c.closed_on,
                  st.c.satisfaction, st.c.escalated)
        .select_from(st).join(Problem, Problem.id == st.c.problem_id)
        .join(Project, Project.id == st.c.project_id)
        .outerjoin(Department, Department.id == st.c.department_id)
        .where(sa.true() if since is None else sa.or_(
            st.c.status.in_(ACTIVE), st.c.registered_on >= since.isoformat(),
            st.c.closed_on >= since.isoformat()))
        .order_by(Project.code, st.c.problem_id)).all()
    # Labels are translated once per call, not once per row.
    stages = {s.value: s.label for s in Stage}
    sources = {s.value: s.label for s in Source}
    statuses = {s.value: (s, s.label) for s in ProblemStatus}
    ratings = {s.value: s.label for s in Satisfaction}
    out = []
    for i, r in enumerate(rows, start=1):
        status, status_label = statuses[str(r.status)]
        due = date.fromisoformat(r.due_on) if r.due_on else None
        # Overdue from the day after the due date; 0 working days over a weekend still counts.
        overdue = (calendar.working_days_between(due, day)
                   if status in ACTIVE and due and due < day else None)
        closed = status is ProblemStatus.closed
        out.append([
            i, r.code, r.project, stages[str(r.stage)], r.title, sources[str(r.source)],
            r.department or "", r.handling_class, _as_date(r.registered_on), due,
            _as_date(r.original_due_on), status_label, overdue,
            _as_date(r.closed_on) if closed else None,
            ratings.get(str(r.satisfaction), "") if closed and r.satisfaction else "",
            ESCALATION_LABELS.get(r.escalated, "") if r.escalated else "",
        ])
    return out


def _touched(since: date):
    """The ids of the problems the week's ledger can hold: open now, or registered or acted on
    from `since` on. Any other problem was closed or withdrawn before `since` and has not
    changed since, so it stands the same at the week's end: not in the ledger. Each part is
    an index range, so the week's ledger reads the week's problems, not the years before."""
    start = bound_of(since - timedelta(days=1))
    return sa.union(
        sa.select(Problem.id).where(Problem.status.in_(ACTIVE)),
        sa.select(Problem.id).where(Problem.created_at >= start),
        sa.select(ProblemEvent.problem_id).where(ProblemEvent.at >= start))


def _as_date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _write_sheet(workbook, title: str, header: list[str], rows: list[list], widths: list[int],
                 highlight=lambda row: False, formats: dict[int, str] | None = None) -> None:
    """One sheet in write-only mode (streams rows: a 10⁵-row ledger stays linear): styled
    header, frozen header row, filters over the whole table, highlighted rows."""
    sheet = workbook.create_sheet(title)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(header))}{len(rows) + 1}"
    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width
    heading = []
    for value in header:
        cell = WriteOnlyCell(sheet, value=value)
        cell.fill, cell.font = HEADER_FILL, HEADER_FONT
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        heading.append(cell)
    sheet.append(heading)
    formats = formats or {}
    for row in rows:
        marked = highlight(row)
        if not marked and not formats:
            sheet.append(cells(row))  # plain values: dates get openpyxl's yyyy-mm-dd by themselves
            continue
        styled = []
        for i, value in enumerate(row):
            cell = WriteOnlyCell(sheet, value=cell_text(value))
            if marked:
                cell.fill = OVERDUE_FILL
            if isinstance(value, date):
                cell.number_format = "yyyy-mm-dd"
            elif i in formats:
                cell.number_format = formats[i]
            styled.append(cell)
        sheet.append(styled)


def ledger_xlsx(user: User | None, day: date, since: date | None = None,
                ledger: list[metrics.DepartmentLedger] | None = None) -> bytes:
    """The problem ledger (台账) as of `day` (see ledger_rows for `since`) with a
    per-department sheet covering every problem."""
    workbook = Workbook(write_only=True)
    overdue_column = LEDGER_HEADER.index("逾期（工作日）")
    _write_sheet(workbook, "问题台账", LEDGER_HEADER, ledger_rows(user, day, since), LEDGER_WIDTHS,
                 highlight=lambda row: row[overdue_column] is not None)
    threshold = yellow_card_threshold()
    rows = [[d.name, d.handed_over, d.accepted_late, d.closed, d.closed_on_time,
             d.on_time_rate, d.open, d.overdue, d.average_days_to_close,
             "是" if d.overdue >= threshold else ""]
            for d in (ledger if ledger is not None else metrics.department_ledger(user, day))]
    _write_sheet(workbook, "按单位统计", DEPARTMENT_HEADER, rows,
                 [26, 10, 10, 10, 10, 12, 8, 8, 14, 12],
                 highlight=lambda row: row[-1] == "是", formats={5: "0.0%"})
    workbook.properties.title = f"问题台账 截至{day.isoformat()}"
    workbook.properties.creator = "tracker"
    # A fixed timestamp keeps the same week's workbook byte-stable between runs.
    workbook.properties.created = workbook.properties.modified = datetime.combine(
        day, datetime.min.time())
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
