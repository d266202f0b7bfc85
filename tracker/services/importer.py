"""Importing key projects from .xlsx or .csv: every row is checked first, then all or nothing.

The file layout is CONTRACT.md's "Project import file": a header row (a title row above it is
skipped) in Chinese or English, one project a row. Cells are forgiven what Chinese spreadsheets
usually carry: full-width digits, thousands separators, stray spaces, blank rows, GBK encoding.
"""
import csv
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils.exceptions import InvalidFileException

from ..calendar import local_today
from ..extensions import db
from ..models import Project, Role, Stage, StageChange, SupervisorAssignment, User, utcnow
from ..workflow import NotAllowed
from . import projects as svc
from .audit import audit

MAX_ROWS = 20_000
HEADER_SEARCH_ROWS = 10

# (field, the template's Chinese header, other header spellings)
COLUMNS = [
    ("code", "项目编号", ("编号", "项目代码", "code")),
    ("name", "项目名称", ("名称", "name")),
    ("level", "项目级别", ("级别", "level")),
    ("category", "项目类别", ("类别", "项目类型", "category")),
    ("investment_wan", "总投资（万元）", ("总投资", "计划总投资", "投资额", "investment",
                                      "investment_wan")),
    ("responsible_unit", "责任单位", ("responsible_unit",)),
    ("owner", "业主单位", ("业主", "owner")),
    ("location", "项目地点", ("地点", "建设地点", "location")),
    ("stage", "当前阶段", ("阶段", "stage")),
    ("supervisor", "纪检监察员", ("项目纪检监察员", "supervisor")),
]
LABELS = {name: label for name, label, _ in COLUMNS}
REQUIRED = ("code", "name", "level", "category", "investment_wan")
OPTIONAL_TEXT = ("responsible_unit", "owner", "location")


def _header_key(text) -> str:
    text = unicodedata.normalize("NFKC", str(text or "")).lower()
    text = re.sub(r"\(.*?\)|\*|\s", "", text)  # units in brackets, required-field stars, spaces
    return text


HEADER_MAP = {_header_key(spelling): name
              for name, label, others in COLUMNS for spelling in (label, *others)}


class ImportFileError(Exception):
    """The file as a whole cannot be read (wrong type, broken, no header row)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        if self.line and self.column:
            return _("第 %(line)s 行［%(column)s］：%(reason)s", line=self.line, column=self.column,
                     reason=self.reason)
        if self.line:
            return _("第 %(line)s 行：%(reason)s", line=self.line, reason=self.reason)
        if self.column:
            return _("文件［%(column)s］：%(reason)s", column=self.column, reason=self.reason)
        return _("文件：%(reason)s", reason=self.reason)


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


# ---------------------------------------------------------------- reading the file

def read_table(filename: str, data: bytes) -> list[tuple[int, list]]:
    """(line number, cells) of every row of the first sheet or the CSV file."""
    name = (filename or "").lower()
    if name.endswith(".xlsx"):
        return _read_xlsx(data)
    if name.endswith(".csv"):
        return _read_csv(data)
    raise ImportFileError(_("只支持 .xlsx 或 .csv 文件"))


def _read_xlsx(data: bytes) -> list[tuple[int, list]]:
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise ImportFileError(_("无法读取该 .xlsx 文件，请用 Excel 或 WPS 另存为 .xlsx 后重试")) from None
    try:
        sheet = book.worksheets[0]
        rows = []
        for line, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            if line > MAX_ROWS + HEADER_SEARCH_ROWS:
                raise ImportFileError(_("文件行数过多（最多 %(n)s 行）", n=MAX_ROWS))
            rows.append((line, list(values)))
        return rows
    finally:
        book.close()


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")  # GBK as Excel writes it in China, and its superset
    except UnicodeDecodeError:
        raise ImportFileError(_("无法识别文件编码（应为 UTF-8 或 GBK）")) from None


def _read_csv(data: bytes) -> list[tuple[int, list]]:
    try:
        text = _decode(data)
    except UnicodeDecodeError:
        raise ImportFileError(_("文件不是有效的 UTF-8 文本")) from None
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    rows = []
    try:
        for cells in reader:
            rows.append((reader.line_num, cells))
            if len(rows) > MAX_ROWS + HEADER_SEARCH_ROWS:
                raise ImportFileError(_("文件行数过多（最多 %(n)s 行）", n=MAX_ROWS))
    except csv.Error as error:
        raise ImportFileError(_("CSV 格式有误（第 %(line)s 行）：%(error)s", line=reader.line_num,
                                error=error)) from None
    return rows


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.isoformat()
    return svc.normalise_text(value)


def _cell_value(name: str, value):
    """Numbers stay numbers for the investment; everything else is read as text."""
    if name == "investment_wan" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return _cell_text(value)


def _blank(cells) -> bool:
    return all(_cell_text(c) == "" for c in cells)


def find_header(rows: list[tuple[int, list]]) -> tuple[int, dict[int, str]]:
    """The index of the header row in `rows` and the field each of its columns holds."""
    seen = 0
    for index, (line, cells) in enumerate(rows):
        if _blank(cells):
            continue
        seen += 1
        columns = {i: HEADER_MAP[_header_key(c)] for i, c in enumerate(cells)
                   if _header_key(c) in HEADER_MAP}
        if "code" in columns.values() and "name" in columns.values():
            return index, columns
        if seen >= HEADER_SEARCH_ROWS:
            break
    raise ImportFileError(_("找不到表头行：前几行中应有“项目编号”“项目名称”等列名（可下载导入模板对照）"))


# ---------------------------------------------------------------- checking and writing

@dataclass
class _Row:
    line: int
    values: dict
    clean: dict = field(default_factory=dict)
    stage: Stage | None = None
    supervisor: User | None = None
    existing: Project | None = None


def import_projects(actor: User, filename: str, data: bytes, *, update: bool = False,
                    at: datetime | None = None) -> ImportResult:
    """Check every row, then create (and with `update`, change) the projects — or write nothing.

    With errors the result lists each bad row with its line, column and reason, and the session
    holds no change.
    """
    if actor.role is not Role.admin:
        raise NotAllowed(_l("只有管理员可以导入重点项目"))
    result = ImportResult()
    try:
        table = read_table(filename, data)
        header_index, columns = find_header(table)
    except ImportFileError as error:
        result.errors.append(RowError(0, "", error.message))
        return result
    header_cells = table[header_index][1]
    # columns are named in the errors as the file spells them
    labels = {name: str(header_cells[i]).strip() for i, name in columns.items()}
    dup_headers = {n for n in columns.values() if list(columns.values()).count(n) > 1}
    for name in sorted(dup_headers):
        result.errors.append(RowError(table[header_index][0], LABELS[name], _("列名重复")))
    for name in REQUIRED:
        if name not in columns.values():
            result.errors.append(RowError(table[header_index][0], LABELS[name], _("缺少该列")))
    if result.errors:
        return result

    rows = []
    for line, cells in table[header_index + 1:]:
        if _blank(cells):
            continue
        values = {name: cells[i] if i < len(cells) else None for i, name in columns.items()}
        rows.append(_Row(line, values))
    result.rows = len(rows)
    if not rows:
        result.errors.append(RowError(0, "", _("文件中没有项目数据")))
        return result
    _check_rows(rows, labels, update, result)
    if result.errors:
        return result
    _write(actor, rows, result, filename, at or utcnow())
    return result


def _check_rows(rows: list[_Row], labels: dict, update: bool, result: ImportResult) -> None:
    codes = {svc.normalise_text(r.values.get("code")).replace(" ", "") for r in rows}
    existing = _existing_projects(codes)
    users = _supervisors_by_name(rows)
    first_line: dict[str, int] = {}
    errors = result.errors

    def bad(row: _Row, name: str, reason: str) -> None:
        errors.append(RowError(row.line, labels.get(name, LABELS.get(name, name)), reason))

    for row in rows:
        raw = {k: v for k, v in row.values.items() if k not in ("stage", "supervisor")}
        code = svc.normalise_text(raw.get("code")).replace(" ", "")
        row.existing = existing.get(code) if code else None
        if row.existing is not None:
            # Updating: blank optional cells leave what the registry holds.
            raw = {k: v for k, v in raw.items() if k in REQUIRED or _cell_text(v)}
        row.clean, field_errors = svc.clean_fields({k: _cell_value(k, v) for k, v in raw.items()})
        for name, reason in field_errors.items():
            bad(row, name, reason)
        if code:
            if code in first_line:
                bad(row, "code", _("项目编号“%(code)s”与第 %(line)s 行重复", code=code,
                                   line=first_line[code]))
            else:
                first_line[code] = row.line
            if row.existing is not None and not update:
                bad(row, "code", _("项目编号“%(code)s”已存在（要更新已有项目，请勾选“更新编号已存在的"
                                   "项目”或使用 --update）", code=code))
        stage_text = _cell_text(row.values.get("stage"))
        if stage_text:
            row.stage = svc.parse_stage(stage_text)
            if row.stage is None:
                bad(row, "stage", _("未知阶段“%(stage)s”（应为 %(stages)s 或其代码）",
                                    stage=stage_text,
                                    stages=_("、").join(s.label for s in Stage)))
            elif row.existing is not None and update:
                _check_stage_move(row, bad)
        name_text = _cell_text(row.values.get("supervisor"))
        if name_text:
            found = users.get(name_text)
            if found is None:
                bad(row, "supervisor", _("没有用户名为“%(name)s”的纪检监察员", name=name_text))
            elif found == "ambiguous":
                bad(row, "supervisor", _("有多位名为“%(name)s”的用户，请填写用户名", name=name_text))
            elif reason := svc.supervisor_problem(found):
                bad(row, "supervisor", _("“%(name)s”%(reason)s", name=name_text, reason=reason))
            else:
                row.supervisor = found
    errors.sort(key=lambda e: e.line)


def _check_stage_move(row: _Row, bad) -> None:
    project, stage = row.existing, row.stage
    if stage is project.stage:
        return
    if stage.order < project.stage.order:
        bad(row, "stage", _("不能由“%(current)s”回退到“%(stage)s”；阶段更正请在项目页面操作并说明理由",
                            current=project.stage.label, stage=stage.label))
        return
    open_count = svc.open_problems_of_stage(project)
    if open_count:
        bad(row, "stage", _("“%(stage)s”阶段还有 %(n)s 个问题未销号，请在项目页面推进阶段并说明理由",
                            stage=project.stage.label, n=open_count))


def _existing_projects(codes: set[str]) -> dict[str, Project]:
    found: dict[str, Project] = {}
    codes_list = sorted(c for c in codes if c)
    for start in range(0, len(codes_list), 900):
        chunk = codes_list[start:start + 900]
        for project in db.session.scalars(sa.select(Project).where(Project.code.in_(chunk))):
            found[project.code] = project
    return found


def _supervisors_by_name(rows: list[_Row]) -> dict[str, User | str]:
    """Usernames (and, where unambiguous, display names) to users, in one query."""
    wanted = {_cell_text(r.values.get("supervisor")) for r in rows} - {""}
    if not wanted:
        return {}
    users = db.session.scalars(sa.select(User).where(
        sa.or_(User.username.in_(wanted), User.name.in_(wanted)))).all()
    by_name: dict[str, User | str] = {}
    for user in users:
        if user.name in wanted and user.username != user.name:
            by_name[user.name] = "ambiguous" if user.name in by_name else user
    for user in users:
        if user.username in wanted:
            by_name[user.username] = user
    return by_name


def _write(actor: User, rows: list[_Row], result: ImportResult, filename: str,
           at: datetime) -> None:
    today = local_today(at)
    new_rows = [r for r in rows if r.existing is None]
    # Thousands of rows: bulk INSERTs (the new ids come back in the rows' order).
    values = [{"responsible_unit": "", "owner": "", "location": "", **row.clean,
               "stage": row.stage or Stage.signing, "quiet_days_apply": False,
               "created_at": at, "version": 1} for row in new_rows]
    ids = list(db.session.scalars(
        sa.insert(Project).returning(Project.id, sort_by_parameter_order=True), values)) \
        if values else []
    if ids:
        db.session.execute(StageChange.__table__.insert(), [
            {"project_id": pid, "from_stage": None, "to_stage": v["stage"], "changed_on": today,
             "note": "导入纳入重点项目", "reason": None, "actor_id": actor.id, "at": at}
            for pid, v in zip(ids, values)])
    assignments = [{"project_id": pid, "user_id": row.supervisor.id, "assigned_by_id": actor.id,
                    "started_at": at, "ended_at": None, "note": "导入指派"}
                   for pid, row in zip(ids, new_rows) if row.supervisor is not None]
    if assignments:
        db.session.execute(SupervisorAssignment.__table__.insert(), assignments)
    by_stage: dict[Stage, list[int]] = {}
    for pid, v in zip(ids, values):
        by_stage.setdefault(v["stage"], []).append(pid)
    for stage, group in by_stage.items():
        svc.give_checklist(group, stage, new=True)
    result.created = len(ids)

    for row in (r for r in rows if r.existing is not None):
        project, changed = row.existing, False
        for name, value in row.clean.items():
            if getattr(project, name) != value:
                setattr(project, name, value)
                changed = True
        if row.stage is not None and row.stage is not project.stage:
            svc.move_stage(actor, project, row.stage, changed_on=today, note="导入更新", at=at)
            changed = True
        if row.supervisor is not None and row.supervisor.id != project.supervisor_id:
            svc.assign_supervisor(actor, project, row.supervisor, note="导入更新", at=at)
            changed = True
        if changed:
            result.updated += 1
        else:
            result.unchanged += 1
    audit(actor, "project.import", "project", None,
          {"file": (filename or "")[:200], "rows": result.rows, "created": result.created,
           "updated": result.updated})
    db.session.flush()


# ---------------------------------------------------------------- the template

def template_workbook() -> bytes:
    """The import template: a title row, the Chinese headers, an example row, and notes."""
    book = Workbook()
    sheet = book.active
    sheet.title = "重点项目"
    headers = [label for _, label, _ in COLUMNS]
    sheet.append(["重点项目清单（导入模板）：第 2 行为表头，从第 3 行起每行一个项目"])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(headers)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="FDE9E7")
        cell.alignment = Alignment(horizontal="center")
    sheet.append(["HD2027001", "衡东县示例产业园建设项目", "县重点", "产业项目", 12345.6,
                  "县发展和改革局", "衡东县示例建设指挥部", "衡阳市衡东县城关镇", "招商签约", ""])
    for letter, width in zip("ABCDEFGHIJ", (14, 32, 10, 12, 16, 20, 24, 24, 14, 14)):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A3"

    notes = book.create_sheet("填写说明")
    notes.append(["列名", "英文列名", "是否必填", "说明"])
    explained = {
        "code": "唯一；已存在的编号只有勾选“更新编号已存在的项目”（命令行 --update）时才会更新",
        "name": "", "level": "省重点 / 市重点 / 县重点（或 provincial / municipal / county）",
        "category": "如 产业项目、基础设施、社会民生",
        "investment_wan": "单位万元；可带千位分隔符或全角数字；不能为负数",
        "responsible_unit": "", "owner": "", "location": "",
        "stage": "、".join(s.label for s in Stage) + "（或 " + " / ".join(s.value for s in Stage)
                 + "）；不填为招商签约",
        "supervisor": "纪检监察员的用户名（可不填，之后在项目页面指派）",
    }
    for name, label, _ in COLUMNS:
        notes.append([label, name, "必填" if name in REQUIRED else "选填", explained[name]])
    notes.append([])
    notes.append(["表头上方可以有一行标题；空行会被忽略；任何一行有误则整个文件都不导入，并列出每个错误的行号和原因。"])
    for cell in notes[1]:
        cell.font = Font(bold=True)
    for letter, width in zip("ABCD", (16, 18, 10, 80)):
        notes.column_dimensions[letter].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()

