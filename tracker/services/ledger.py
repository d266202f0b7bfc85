"""The department ledger (责任单位台账): per department, problems handed over, accepted late,
closed, closed on time, open, overdue, average working days to close, and the yellow card.

Every figure is an SQL aggregate grouped by the problem's (lead) department; working days are
counted in SQL against a small table of the non-working days the calendar gives for the range.
Withdrawn problems are left out, as in the closure rate.
"""
from dataclasses import dataclass
from datetime import date, timedelta
from io import BytesIO

import sqlalchemy as sa

from ..calendar import WorkCalendar, load_calendar, local_today
from ..extensions import db
from ..models import Action, Department, Problem, ProblemEvent, ProblemStatus, Role, User
from ..visibility import problem_condition
from ..xlsx import cells
from .mywork import YELLOW_CARD_THRESHOLD, setting

S = ProblemStatus
ACTIVE = (S.open, S.assigned, S.rectifying, S.rectified)


@dataclass
class LedgerRow:
    department_id: int
    code: str
    name: str
    handed_over: int = 0
    accepted_late: int = 0
    closed: int = 0
    closed_on_time: int = 0
    open: int = 0
    overdue: int = 0
    avg_days_to_close: float | None = None
    yellow_card: bool = False

    @property
    def on_time_rate(self) -> float | None:
        return self.closed_on_time / self.closed if self.closed else None

    @property
    def closure_rate(self) -> float | None:
        return self.closed / self.handed_over if self.handed_over else None


@dataclass
class Ledger:
    rows: list[LedgerRow]
    threshold: int
    today: date


def local_date(column):
    """The Asia/Shanghai date of a UTC timestamp column, in SQL (China keeps UTC+8 all year)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return sa.cast(sa.func.timezone("Asia/Shanghai", column), sa.Date)
    return sa.func.date(column, "+8 hours")


def _working_day_index(start: date | None, end: date | None, calendar: WorkCalendar):
    """A VALUES table (day, n) over [start, end], n = working days in [start, day]; the working
    days in (a, b] are then n(b) − n(a), two lookups per problem instead of a scan (never empty)."""
    rows, n = [], 0
    if start and end:
        day = start
        while day <= end:
            n += calendar.is_workday(day)
            rows.append((day, n))
            day += timedelta(days=1)
    rows = rows or [(date(1900, 1, 1), 0)]
    return sa.values(sa.column("day", sa.Date), sa.column("n", sa.Integer),
                     name="work_index").data(rows).cte("work_index")


def department_ledger(user: User, today: date | None = None,
                      calendar: WorkCalendar | None = None) -> Ledger:
    """The ledger as `user` may see it: admin and viewer every department; a department user
    their own; a supervisor the problems of the projects they supervise."""
    today = today or local_today()
    calendar = calendar or load_calendar(db.session)
    threshold = setting("yellow_card_threshold", YELLOW_CARD_THRESHOLD)
    scope = [problem_condition(user), Problem.department_id.is_not(None),
             Problem.assigned_at.is_not(None), Problem.status != S.withdrawn]
    if user.role is Role.department:
        scope.append(Problem.department_id == user.department_id)

    assigned_on = local_date(Problem.assigned_at)
    closed_on = local_date(Problem.closed_at)
    is_closed = Problem.status == S.closed
    is_active = Problem.status.in_(ACTIVE)
    # IN (a set) rather than a correlated EXISTS: one pass over the accept events
    late_accept = Problem.id.in_(sa.select(ProblemEvent.problem_id).where(
        ProblemEvent.action == Action.accept, ProblemEvent.data["late"].as_boolean().is_(True)))

    bounds = db.session.execute(sa.select(sa.func.min(assigned_on), sa.func.max(closed_on))
                                .where(*scope, is_closed)).one()
    start, end = (date.fromisoformat(str(b)[:10]) if b else None for b in bounds)
    index = _working_day_index(start, end, calendar)
    at_assign, at_close = index.alias("at_assign"), index.alias("at_close")
    working_days = at_close.c.n - at_assign.c.n

    def count_if(condition):
        return sa.func.sum(sa.case((condition, 1), else_=0))

    rows = db.session.execute(
        sa.select(Department.id, Department.code, Department.name,
                  sa.func.count(Problem.id),
                  count_if(late_accept),
                  count_if(is_closed),
                  count_if(sa.and_(is_closed, closed_on <= Problem.original_due_on)),
                  count_if(is_active),
                  count_if(sa.and_(is_active, Problem.due_on < today)),
                  sa.func.avg(sa.case((is_closed, working_days), else_=None)))
        .join(Problem, Problem.department_id == Department.id)
        .outerjoin(at_assign, at_assign.c.day == assigned_on)
        .outerjoin(at_close, at_close.c.day == closed_on)
        .where(*scope)
        .group_by(Department.id, Department.code, Department.name)
        .order_by(Department.code)).all()
    ledger_rows = []
    for dept_id, code, name, *figures in rows:
        *counts, avg = figures
        row = LedgerRow(dept_id, code, name, *(int(c or 0) for c in counts),
                        avg_days_to_close=round(float(avg), 1) if avg is not None else None)
        row.yellow_card = row.overdue >= threshold
        ledger_rows.append(row)
    ledger_rows.sort(key=lambda r: (not r.yellow_card, -r.overdue, r.code))
    return Ledger(ledger_rows, threshold, today)


HEADERS = ["单位编号", "责任单位", "交办问题", "逾期签收", "已销号", "按期销号", "按期销号率",
           "未销号", "逾期未办结", "平均办结工作日", "黄牌警告"]


def ledger_workbook(ledger: Ledger) -> bytes:
    """The ledger as an .xlsx workbook: Chinese headers, the header row frozen."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    book = Workbook()
    sheet = book.active
    sheet.title = "责任单位台账"
    sheet.append(HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    yellow = PatternFill("solid", start_color="FFF3CD")
    for r in ledger.rows:
        sheet.append(cells([r.code, r.name, r.handed_over, r.accepted_late, r.closed,
                            r.closed_on_time, r.on_time_rate, r.open, r.overdue,
                            r.avg_days_to_close, "黄牌警告" if r.yellow_card else ""]))
        sheet.cell(sheet.max_row, 7).number_format = "0.0%"
        if r.yellow_card:
            for cell in sheet[sheet.max_row]:
                cell.fill = yellow
    sheet.freeze_panes = "A2"
    for letter, width in zip("ABCDEFGHIJK", (10, 28, 10, 10, 10, 10, 12, 10, 12, 14, 10)):
        sheet.column_dimensions[letter].width = width
    note = sheet.max_row + 2
    sheet.cell(note, 1, f"统计日期：{ledger.today.isoformat()}；逾期未办结达到 {ledger.threshold} "
                        "件列为黄牌警告；按期销号以原定整改期限为准（批准延期不改变原定期限）；"
                        "平均办结工作日自交办至销号计算；已撤销的问题不计入。")
    out = BytesIO()
    book.save(out)
    return out.getvalue()
