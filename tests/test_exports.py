"""The weekly pack: charts, one PDF with the CJK font embedded, and the Excel ledger (台账)."""
import subprocess
import shutil
from datetime import date
from io import BytesIO

import pytest
from openpyxl import load_workbook

from tracker import workflow
from tracker.reports import exports, metrics, stored
from tests.test_metrics import history, sh  # noqa: F401  (the hand-built history fixture)

W11 = date(2026, 3, 9)  # 9–15 March 2026


def test_pack_holds_charts_pdf_and_ledger(history):
    pack = exports.weekly_pack(None, W11)
    assert pack.week == "2026-W11" and pack.sunday == date(2026, 3, 15)
    names = set(pack.files)
    assert {"2026-W11-01-new-vs-closed.png", "2026-W11-02-closure-trend.png",
            "2026-W11-03-open-by-stage.png", "2026-W11-04-overdue-by-department.png",
            "2026-W11-05-visits-per-supervisor.png", "2026-W11-06-satisfaction.png",
            "2026-W11-report.pdf", "2026-W11-ledger.xlsx"} <= names
    assert all(pack.files[n].startswith(b"\x89PNG") for n in names if n.endswith(".png"))
    assert pack.files["2026-W11-report.pdf"].startswith(b"%PDF")


@pytest.mark.sqlite_only
@pytest.mark.skipif(shutil.which("pdffonts") is None, reason="poppler-utils not installed")
def test_pdf_embeds_the_chinese_font(history, tmp_path):
    path = tmp_path / "report.pdf"
    path.write_bytes(exports.report_pdf(None, W11))
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True,
                           check=True).stdout
    lines = [line for line in fonts.splitlines() if "NotoSansSC" in line]
    assert lines and all(" yes yes yes " in line for line in lines)  # embedded, subset, ToUnicode
    pages = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True,
                           check=True).stdout
    count = int(next(line for line in pages.splitlines() if line.startswith("Pages:")).split()[1])
    assert count == 8  # cover, department ledger, six charts


def test_ledger_workbook(history):
    workbook = load_workbook(BytesIO(exports.ledger_xlsx(None, date(2026, 3, 16))))
    assert workbook.sheetnames == ["问题台账", "按单位统计"]
    sheet = workbook["问题台账"]
    header = [c.value for c in sheet[1]]
    assert header == exports.LEDGER_HEADER
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:P{sheet.max_row}"
    rows = {r[4]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert len(rows) == 5
    p1 = rows["工资拖欠"]
    col = {name: i for i, name in enumerate(header)}
    # As of 16 Mar P1 is reopened (整改中) and 5 working days past its 9 Mar due date.
    assert p1[col["状态"]] == "整改中" and p1[col["逾期（工作日）"]] == 5
    assert p1[col["责任单位"]] == "县住房和城乡建设局"
    assert p1[col["当前期限"]].date() == date(2026, 3, 9)
    p3 = rows["审批超时"]
    assert p3[col["状态"]] == "已销号" and p3[col["满意度"]] == "非常满意"
    assert p3[col["原定期限"]].date() == date(2026, 3, 3)
    assert p3[col["当前期限"]].date() == date(2026, 3, 13)
    assert rows["重复登记"][col["状态"]] == "已撤销"
    # Overdue rows are highlighted, the others are not.
    fills = {sheet.cell(row=i, column=5).value: sheet.cell(row=i, column=1).fill.fgColor.rgb
             for i in range(2, sheet.max_row + 1)}
    assert fills["工资拖欠"].endswith("F8D7DA")
    assert not fills["审批超时"].endswith("F8D7DA")

    departments = workbook["按单位统计"]
    assert [c.value for c in departments[1]] == exports.DEPARTMENT_HEADER
    assert departments.freeze_panes == "A2" and departments.auto_filter.ref
    by_name = {r[0]: r for r in departments.iter_rows(min_row=2, values_only=True)}
    assert by_name["县发展和改革局"][1:6] == (1, 0, 1, 0, 0)
    assert by_name["县住房和城乡建设局"][7] == 1  # overdue


def test_ledger_for_a_department_user_holds_only_their_problems(history, make_user):
    user = make_user("department", department=history.fgj)
    workbook = load_workbook(BytesIO(exports.ledger_xlsx(user, date(2026, 3, 16))))
    titles = [r[4] for r in workbook["问题台账"].iter_rows(min_row=2, values_only=True)]
    assert titles == ["审批超时"]


@pytest.mark.sqlite_only
def test_cli_export_weekly_writes_and_lists_the_files(history, runner, tmp_path):
    result = runner.invoke(args=["export-weekly", "--week", "2026-W11", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    listed = result.output.split()
    assert str(tmp_path / "2026-W11-report.pdf") in listed
    assert str(tmp_path / "2026-W11-ledger.xlsx") in listed
    assert all((tmp_path / name.split("/")[-1]).exists() for name in listed)


@pytest.mark.sqlite_only
def test_cli_export_weekly_refuses_a_bad_week(runner, tmp_path):
    out = tmp_path / "pack"
    result = runner.invoke(args=["export-weekly", "--week", "2026-47", "--out", str(out)])
    assert result.exit_code != 0 and "2026-W47" in result.output
    assert not out.exists()


def test_default_week_is_the_last_full_one():
    assert metrics.last_full_week(date(2026, 11, 23)) == date(2026, 11, 16)  # a Monday


def test_the_weeks_ledger_leaves_out_problems_finished_before_the_week(history):
    monday, sunday = date(2026, 3, 16), date(2026, 3, 22)
    workbook = load_workbook(BytesIO(exports.ledger_xlsx(None, sunday, since=monday)))
    titles = {r[4] for r in workbook["问题台账"].iter_rows(min_row=2, values_only=True)}
    # P2 was withdrawn on 4 Mar and P3 closed on 12 Mar; P1 (reopened), P4 and P5 are open.
    assert titles == {"工资拖欠", "周日深夜登记", "周一凌晨登记"}
    titles = {r[4] for r in exports.ledger_rows(None, date(2026, 3, 15), since=date(2026, 3, 9))}
    # In W11: P3 closed during the week, P4 and P5 open; P1 had been closed on 5 Mar (W10).
    assert titles == {"审批超时", "周日深夜登记", "周一凌晨登记"}


def test_a_pasted_control_character_is_dropped_not_a_failed_download(history, db, client,
                                                                      token_for):
    """A title pasted with a vertical tab is kept as entered, but a workbook cannot hold such
    characters: the pack's ledger drops them (tracker/xlsx.py)."""
    workflow.record(history.site, history.admin, title="围挡\x0b破损\x05", at=sh(3, 10))
    db.session.commit()
    response = client.get("/api/v1/reports/weekly?week=2026-W11",
                          headers=token_for(history.admin))
    assert response.status_code == 200
    ledger = stored.files_of("2026-W11", response.data)["2026-W11-ledger.xlsx"]
    book = load_workbook(BytesIO(ledger))
    titles = {r[4] for r in book["问题台账"].iter_rows(min_row=2, values_only=True)}
    assert "围挡破损" in titles
