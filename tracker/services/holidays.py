"""The holiday calendar admin enters: official holidays and make-up working days (调休) of a year
the chinese-calendar package does not know yet, typed in or imported from a small spreadsheet.

Entries (CalendarDay rows) take precedence over the package (tracker.calendar.load_calendar).
Due dates already set are never moved here: `due_date_differences` lists the unfinished
problems whose due date would differ under today's calendar, and admin adjusts each one through
the workflow's `set_due` (logged on the problem).
"""
import csv
import io
import re
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from .. import workflow
from ..calendar import WorkCalendar, load_calendar, local_today, package_knows
from ..extensions import db
from ..models import Action, CalendarDay, Problem, ProblemEvent, ProblemStatus, User
from ..workflow import InvalidFields
from .audit import audit

MAX_NOTE = 100
MAX_IMPORT_ROWS = 1000
_DATE = r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
_LINE_RE = re.compile(rf"^\s*{_DATE}(?:\s*(?:~|～|至|到|--|\.\.|—|–)\s*{_DATE})?\s*(.*)$")


class CalendarInputError(InvalidFields):
    """Bad dates or rows; `fields` names the field, `lines` lists each bad line with its reason."""

    def __init__(self, message: str, fields: dict[str, str], lines: list[str] | None = None):
        super().__init__(message, fields)
        self.lines = lines or []


@dataclass(frozen=True)
class Entry:
    day: date
    is_workday: bool
    note: str


def _date(y, m, d) -> date:
    return date(int(y), int(m), int(d))


def parse_lines(text: str, is_workday: bool,
                year: int | None = None) -> tuple[list[Entry], list[str]]:
    """Entries from lines like `2027-01-01~2027-01-03 元旦` or `2027-02-06 春节调休上班`.

    Returns the entries and a list of "line n: reason" for the lines that could not be read.
    """
    entries, bad = [], []
    for n, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        match = _LINE_RE.match(line)
        if not match:
            bad.append(_("第 %(n)s 行：无法识别日期“%(text)s”（格式如 2027-01-01 或 "
                         "2027-01-01~2027-01-03）", n=n, text=line.strip()[:40]))
            continue
        g = match.groups()
        try:
            start = _date(*g[0:3])
            end = _date(*g[3:6]) if g[3] else start
        except ValueError:
            bad.append(_("第 %(n)s 行：日期不存在“%(text)s”", n=n, text=line.strip()[:40]))
            continue
        note = (g[6] or "").strip()
        if end < start:
            bad.append(_("第 %(n)s 行：结束日期早于开始日期", n=n))
            continue
        if (end - start).days > 31:
            bad.append(_("第 %(n)s 行：一段日期最长 %(days)s 天", n=n, days=31))
            continue
        if year is not None and (start.year != year or end.year != year):
            bad.append(_("第 %(n)s 行：日期不在 %(year)s 年内", n=n, year=year))
            continue
        if len(note) > MAX_NOTE:
            bad.append(_("第 %(n)s 行：备注最多 %(max)s 字", n=n, max=MAX_NOTE))
            continue
        day = start
        while day <= end:
            entries.append(Entry(day, is_workday, note))
            day += timedelta(days=1)
    return entries, bad


def year_entries(year: int) -> list[CalendarDay]:
    return list(db.session.scalars(
        sa.select(CalendarDay).where(CalendarDay.day >= date(year, 1, 1),
                                     CalendarDay.day <= date(year, 12, 31))
        .order_by(CalendarDay.day)))


def years_with_entries() -> list[int]:
    days = db.session.scalars(sa.select(CalendarDay.day)).all()
    return sorted({d.year for d in days})


def as_text(entries: list[CalendarDay], is_workday: bool) -> str:
    """The entries of one kind as editable lines; consecutive days with one note become a range."""
    lines: list[str] = []
    run: list[CalendarDay] = []

    def flush():
        if run:
            first, last = run[0].day, run[-1].day
            span = first.isoformat() if first == last else f"{first.isoformat()}~{last.isoformat()}"
            lines.append(f"{span} {run[0].note}".strip())

    for e in (e for e in entries if e.is_workday == is_workday):
        if run and e.day == run[-1].day + timedelta(days=1) and e.note == run[-1].note:
            run.append(e)
        else:
            flush()
            run = [e]
    flush()
    return "\n".join(lines)


def _check_conflicts(entries: list[Entry]) -> list[str]:
    kinds: dict[date, bool] = {}
    bad = []
    for e in entries:
        if e.day in kinds and kinds[e.day] != e.is_workday:
            bad.append(_("%(day)s 既填为放假又填为上班", day=e.day.isoformat()))
        kinds[e.day] = e.is_workday
    return bad


def _summary(rows) -> dict:
    return {"off": sorted(r.day.isoformat() for r in rows if not r.is_workday),
            "worked": sorted(r.day.isoformat() for r in rows if r.is_workday)}


def save_year(actor: User, year: int, days_off: str, days_worked: str) -> list[CalendarDay]:
    """Replace the year's entries with the dates given (all or nothing); audited before/after."""
    if not 2000 <= year <= 2100:
        message = _("年份应在 2000–2100 之间")
        raise InvalidFields(message, {"year": message})
    off, bad_off = parse_lines(days_off, False, year)
    worked, bad_worked = parse_lines(days_worked, True, year)
    fields = {}
    if bad_off:
        fields["days_off"] = _("；").join(bad_off)
    if bad_worked:
        fields["days_worked"] = _("；").join(bad_worked)
    if conflicts := _check_conflicts(off + worked):
        fields["days_worked"] = _("；").join(conflicts)
    if fields:
        raise CalendarInputError(_("；").join(fields.values()), fields,
                                 bad_off + bad_worked + conflicts)
    existing = year_entries(year)
    before = _summary(existing)
    for row in existing:
        db.session.delete(row)
    db.session.flush()
    rows = []
    for e in {e.day: e for e in off + worked}.values():
        row = CalendarDay(day=e.day, is_workday=e.is_workday, note=e.note, created_by_id=actor.id)
        db.session.add(row)
        rows.append(row)
    after = _summary(rows)
    if before != after:
        audit(actor, "calendar.year", "calendar", year,
              {"year": year, "before": before, "after": after})
    db.session.flush()
    return sorted(rows, key=lambda r: r.day)


def delete_day(actor: User, day: date) -> None:
    row = db.session.get(CalendarDay, day)
    if row is None:
        message = _("没有这一天的记录")
        raise InvalidFields(message, {"day": message})
    audit(actor, "calendar.delete", "calendar", day.year,
          {"day": day.isoformat(), "before": {"is_workday": row.is_workday, "note": row.note}})
    db.session.delete(row)
    db.session.flush()


# ---------------------------------------------------------------- import

OFF_WORDS = {"放假", "休", "休息", "假", "节假日", "假日", "off", "holiday", "rest", "0", "否"}
WORK_WORDS = {"上班", "班", "调休上班", "补班", "工作日", "work", "workday", "working", "1", "是"}
HEADERS = {"日期": "day", "date": "day", "day": "day",
           "类型": "kind", "安排": "kind", "type": "kind", "kind": "kind", "是否上班": "kind",
           "备注": "note", "说明": "note", "note": "note", "名称": "note", "节日": "note"}
TEMPLATE_ROWS = [("日期", "类型", "备注"), ("2027-01-01", "放假", "元旦"),
                 ("2027-01-04", "上班", "元旦调休上班")]


def _rows_from_file(filename: str, data: bytes) -> list[list]:
    name = (filename or "").lower()
    if name.endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception:  # noqa: BLE001 - any unreadable workbook is the user's input error
            message = _("无法读取该 Excel 文件")
            raise InvalidFields(message, {"file": message}) from None
        ws = wb.worksheets[0]
        return [list(r) for r in ws.iter_rows(values_only=True, max_row=MAX_IMPORT_ROWS + 5)]
    if name.endswith(".csv"):
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise InvalidFields(_("无法识别文件编码（应为 UTF-8 或 GBK）"),
                                {"file": _("无法识别编码")})
        return [row for row in csv.reader(io.StringIO(text))]
    message = _("只支持 .xlsx 或 .csv 文件")
    raise InvalidFields(message, {"file": message})


def _cell_date(value) -> date | None:
    from datetime import datetime

    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    match = re.fullmatch(_DATE, str(value or "").strip())
    if not match:
        return None
    try:
        return _date(*match.groups())
    except ValueError:
        return None


def parse_import(filename: str, data: bytes) -> list[Entry]:
    """The file's entries, or CalendarInputError listing every bad row with its line number."""
    rows = _rows_from_file(filename, data)
    header_at, columns = None, {}
    for i, row in enumerate(rows[:5]):
        found = {HEADERS[str(c).strip().lower()]: j for j, c in enumerate(row)
                 if c is not None and str(c).strip().lower() in HEADERS}
        if "day" in found and "kind" in found:
            header_at, columns = i, found
            break
    if header_at is None:
        raise CalendarInputError(_("找不到表头：需要“日期”和“类型”两列"),
                                 {"file": _("缺少表头“日期”“类型”")})
    entries, bad = [], []
    for i, row in enumerate(rows[header_at + 1:], start=header_at + 2):
        cells = [("" if c is None else c) for c in row]
        if not any(str(c).strip() for c in cells):
            continue

        def get(key, cells=cells):
            at = columns.get(key)
            return cells[at] if at is not None and at < len(cells) else ""

        day = _cell_date(get("day"))
        kind = str(get("kind")).strip().lower()
        note = str(get("note") or "").strip()
        if day is None:
            bad.append(_("第 %(n)s 行：日期无效“%(value)s”", n=i, value=get("day")))
        elif kind not in OFF_WORDS | WORK_WORDS:
            bad.append(_("第 %(n)s 行：类型应为“放假”或“上班”，而不是“%(value)s”", n=i,
                         value=get("kind")))
        elif len(note) > MAX_NOTE:
            bad.append(_("第 %(n)s 行：备注最多 %(max)s 字", n=i, max=MAX_NOTE))
        else:
            entries.append(Entry(day, kind in WORK_WORDS, note))
    if len(entries) > MAX_IMPORT_ROWS:
        bad.append(_("最多导入 %(n)s 行", n=MAX_IMPORT_ROWS))
    bad += _check_conflicts(entries)
    if bad:
        raise CalendarInputError(_("文件有 %(n)s 处错误，未导入任何数据", n=len(bad)),
                                 {"file": _("；").join(bad[:20])}, bad)
    if not entries:
        message = _("文件中没有数据行")
        raise CalendarInputError(message, {"file": message})
    return entries


def import_file(actor: User, filename: str, data: bytes) -> list[Entry]:
    """Add or replace the file's days (all rows or none); audited with the days written."""
    entries = parse_import(filename, data)
    days = {e.day: e for e in entries}
    existing = {r.day: r for r in db.session.scalars(
        sa.select(CalendarDay).where(CalendarDay.day.in_(list(days))))}
    for day, e in days.items():
        row = existing.get(day)
        if row is None:
            db.session.add(CalendarDay(day=day, is_workday=e.is_workday, note=e.note,
                                       created_by_id=actor.id))
        else:
            row.is_workday, row.note = e.is_workday, e.note
    audit(actor, "calendar.import", "calendar", min(days).year,
          {"filename": (filename or "")[:100], "rows": len(days),
           "off": sorted(d.isoformat() for d, e in days.items() if not e.is_workday),
           "worked": sorted(d.isoformat() for d, e in days.items() if e.is_workday),
           "replaced": sorted(d.isoformat() for d in existing)})
    db.session.flush()
    return list(days.values())


def template_csv() -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(TEMPLATE_ROWS)
    return out.getvalue().encode("utf-8-sig")


def year_status(year: int) -> dict:
    """What the page shows about a year: does the package know it, how many entries."""
    rows = year_entries(year)
    return {"year": year, "package_knows": package_knows(year),
            "off": sum(1 for r in rows if not r.is_workday),
            "worked": sum(1 for r in rows if r.is_workday)}


# ---------------------------------------------------------------- due dates under the new schedule

@dataclass
class DueDifference:
    problem: Problem
    assigned_on: date
    handling_class: int
    due_on: date
    recomputed: date


def due_date_differences(calendar: WorkCalendar | None = None) -> list[DueDifference]:
    """Unfinished problems whose due date, computed at hand-over, would differ today.

    Only due dates that are still the one computed at hand-over count: a date admin or an
    extension set deliberately, or a class-10 plan date, is left alone. Two queries.
    """
    calendar = calendar or load_calendar(db.session)
    assign = sa.select(ProblemEvent.problem_id, ProblemEvent.at, ProblemEvent.data).where(
        ProblemEvent.action == Action.assign).subquery()
    rows = db.session.execute(
        sa.select(Problem, assign.c.at, assign.c.data)
        .join(assign, assign.c.problem_id == Problem.id)
        .where(Problem.status.in_((ProblemStatus.assigned, ProblemStatus.rectifying,
                                   ProblemStatus.rectified)),
               Problem.due_on.is_not(None), Problem.handling_class.is_not(None))
        .order_by(Problem.due_on, Problem.id)).all()
    out = []
    for problem, at, data in rows:
        computed = (data or {}).get("due_on")
        if computed != problem.due_on.isoformat():
            continue  # moved on purpose since the hand-over (set_due, extension, class-10 plan)
        assigned_on = local_today(at)
        recomputed = calendar.add_working_days(assigned_on, problem.handling_class)
        if recomputed != problem.due_on:
            out.append(DueDifference(problem, assigned_on, problem.handling_class,
                                     problem.due_on, recomputed))
    return out


def adjust_due(actor: User, problem: Problem, due_on: date, comment: str):
    """Set the due date through the workflow (event on the problem)."""
    return workflow.apply(problem, Action.set_due, actor, due_on=due_on, comment=comment)
