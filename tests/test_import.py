"""Importing the key-project list from the spreadsheets headquarters actually receives."""
import io
from decimal import Decimal

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from tracker.models import (AuditEntry, ChecklistItem, ChecklistTemplate, Level, Project, Stage,
                            StageChange, SupervisorAssignment)
from tracker.services.importer import import_projects, template_workbook

HEADERS_CN = ["项目编号", "项目名称", "项目级别", "项目类别", "总投资（万元）", "责任单位", "业主单位",
              "项目地点", "当前阶段", "纪检监察员"]
HEADERS_EN = ["code", "name", "level", "category", "investment_wan", "responsible_unit", "owner",
              "location", "stage", "supervisor"]


def xlsx(rows: list[list], title: str | None = "2027年衡东县重点项目清单") -> bytes:
    book = Workbook()
    sheet = book.active
    if title:
        sheet.append([title])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(rows: list[list], encoding="utf-8", title: str | None = None) -> bytes:
    lines = ([title] if title else []) + [",".join(f'"{c}"' if "," in str(c) else str(c) for c in r)
                                         for r in rows]
    return "\r\n".join(lines).encode(encoding)


@pytest.fixture
def supervisor(make_user):
    return make_user("supervisor", username="jjy_liu", name="刘纪检")


def count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_messy_workbook_imports_correctly(db, admin, supervisor):
    db.session.add(ChecklistTemplate(stage=Stage.construction, text="无违法分包", position=1))
    db.session.commit()
    data = xlsx([
        HEADERS_CN,
        [" HD2027001 ", "  衡东县 产业园二期 ", "省重点", "产业项目", "１２，３４５．６", "发改局 ", "", "城关镇",
         "工程建设实施", " jjy_liu "],
        [None, None, None, None, None, None, None, None, None, None],  # a blank row
        ["HD2027002", "衡东县第二中学", "county", "社会民生", 1500, "教育局", "二中", "大浦镇", "approval", ""],
        ["ＨＤ2027003", "衡东县污水处理厂", "市重点", "基础设施", "3,000.50", "", "", "", "", None],
    ])
    result = import_projects(admin, "清单.xlsx", data)
    db.session.commit()
    assert result.ok, result.errors
    assert (result.created, result.updated, result.rows) == (3, 0, 3)
    projects = {p.code: p for p in db.session.scalars(sa.select(Project))}
    first = projects["HD2027001"]
    assert (first.name, first.level, first.investment_wan, first.responsible_unit, first.stage) == \
        ("衡东县 产业园二期", Level.provincial, Decimal("12345.60"), "发改局", Stage.construction)
    assert first.supervisor_id == supervisor.id
    assert projects["HD2027002"].investment_wan == Decimal("1500.00")
    assert projects["HD2027002"].stage is Stage.approval and projects["HD2027002"].supervisor is None
    assert projects["HD2027003"].investment_wan == Decimal("3000.50")
    assert projects["HD2027003"].stage is Stage.signing  # no stage given
    # each project starts its timeline, and gets its stage's supervision list
    assert count(db, StageChange) == 3
    items = db.session.scalars(sa.select(ChecklistItem)).all()
    assert [(i.project_id, i.text) for i in items] == [(first.id, "无违法分包")]
    assert db.session.scalar(sa.select(AuditEntry.detail).where(
        AuditEntry.action == "project.import"))["created"] == 3


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_in_each_encoding_with_english_headers(db, admin, supervisor, encoding):
    rows = [HEADERS_EN,
            ["HD1", "衡东县黄土坡产业园", "provincial", "产业项目", "1,234,567", "发改局", "业主", "吴集镇",
             "审批落地开工", "jjy_liu"],
            ["", "", "", "", "", "", "", "", "", ""],
            ["HD2", " 衡东县 城区 道路 ", "市重点", "基础设施", " ２００ ", "", "", "", "signing", ""]]
    result = import_projects(admin, "projects.csv", csv_bytes(rows, encoding, title="重点项目汇总表"))
    db.session.commit()
    assert result.ok, result.errors
    got = {p.code: p for p in db.session.scalars(sa.select(Project))}
    assert got["HD1"].investment_wan == Decimal("1234567.00") and got["HD1"].stage is Stage.approval
    assert got["HD2"].name == "衡东县 城区 道路" and got["HD2"].investment_wan == Decimal("200.00")


def test_bad_rows_write_nothing_and_each_is_named(db, admin, supervisor, make_project, make_user):
    make_project(code="HD-OLD")
    viewer = make_user("viewer", username="leader")
    data = xlsx([
        HEADERS_CN,
        ["A1", "甲项目", "县重点", "产业", "100", "", "", "", "", ""],
        ["A1", "乙项目", "县重点", "产业", "100", "", "", "", "", ""],          # duplicate code
        ["A3", "丙项目", "县重点", "产业", "-5", "", "", "", "", ""],           # negative
        ["A4", "丁项目", "县重点", "产业", "约一百万", "", "", "", "", ""],     # not a number
        ["A5", "戊项目", "县重点", "产业", "100", "", "", "", "试运营", ""],    # unknown stage
        ["A6", "己项目", "县重点", "产业", "100", "", "", "", "", "nobody"],    # unknown supervisor
        ["A7", "庚项目", "国家级", "产业", "100", "", "", "", "", viewer.username],
        ["HD-OLD", "已有项目", "县重点", "产业", "100", "", "", "", "", ""],     # exists, no --update
        ["", "", "县重点", "产业", "100", "", "", "", "", ""],                  # no code, no name
    ])
    result = import_projects(admin, "bad.xlsx", data)
    assert not result.ok
    found = {(e.line, e.column): e.reason for e in result.errors}
    # line numbers are the spreadsheet's: title row 1, header row 2, data from row 3
    assert "与第 3 行重复" in found[(4, "项目编号")]
    assert "负数" in found[(5, "总投资（万元）")]
    assert "不是数字" in found[(6, "总投资（万元）")]
    assert "未知阶段“试运营”" in found[(7, "当前阶段")]
    assert "nobody" in found[(8, "纪检监察员")]
    assert "项目级别" in found[(9, "项目级别")]
    assert "只能指派项目纪检监察员" in found[(9, "纪检监察员")]
    assert "已存在" in found[(10, "项目编号")]
    assert found[(11, "项目编号")] == "必填" and found[(11, "项目名称")] == "必填"
    db.session.rollback()
    assert count(db, Project) == 1 and count(db, StageChange) == 0


def test_update_changes_existing_projects_only_with_the_flag(db, admin, supervisor, make_project,
                                                             make_user):
    old_sup = make_user("supervisor")
    project = make_project(code="HD9", name="旧名称", supervisor=old_sup, stage=Stage.approval,
                           responsible_unit="发改局")
    data = xlsx([HEADERS_CN,
                 ["HD9", "新名称", "市重点", "产业", "2,000", "", "", "", "工程建设实施", "jjy_liu"],
                 ["HD10", "新项目", "县重点", "产业", "10", "", "", "", "", ""]], title=None)
    assert not import_projects(admin, "u.xlsx", data).ok
    db.session.rollback()
    result = import_projects(admin, "u.xlsx", data, update=True)
    db.session.commit()
    assert (result.created, result.updated) == (1, 1)
    db.session.refresh(project)
    assert (project.name, project.level, project.investment_wan, project.responsible_unit) == \
        ("新名称", Level.municipal, Decimal("2000.00"), "发改局")  # a blank cell keeps the value
    assert project.stage is Stage.construction and project.supervisor_id == supervisor.id
    history = db.session.scalars(sa.select(SupervisorAssignment)
                                 .where(SupervisorAssignment.project_id == project.id)).all()
    assert len(history) == 2


def test_update_cannot_move_back_or_past_open_problems(db, admin, make_project, make_problem):
    back = make_project(code="B1", stage=Stage.construction)
    stuck = make_project(code="B2", stage=Stage.approval)
    make_problem(stuck)
    data = xlsx([HEADERS_CN,
                 ["B1", "x", "县重点", "产业", "1", "", "", "", "招商签约", ""],
                 ["B2", "y", "县重点", "产业", "1", "", "", "", "工程建设实施", ""]], title=None)
    result = import_projects(admin, "s.xlsx", data, update=True)
    assert [(e.line, e.column) for e in result.errors] == [(2, "当前阶段"), (3, "当前阶段")]
    assert "回退" in result.errors[0].reason and "未销号" in result.errors[1].reason


def test_file_level_problems(db, admin):
    def reasons(name, data):
        return [str(e) for e in import_projects(admin, name, data).errors]

    assert "只支持" in reasons("list.xls", b"whatever")[0]
    assert "无法读取" in reasons("list.xlsx", b"not a zip")[0]
    assert "找不到表头" in reasons("a.csv", "随便,写点\n1,2\n".encode())[0]
    missing = reasons("a.csv", "项目编号,项目名称\nX,Y\n".encode())
    assert any("项目级别" in r and "缺少该列" in r for r in missing)
    assert "没有项目数据" in reasons("a.csv", ",".join(HEADERS_CN).encode())[0]


def test_template_round_trips(db, admin):
    data = template_workbook()
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["重点项目", "填写说明"]
    assert [c.value for c in book["重点项目"][2]] == HEADERS_CN
    result = import_projects(admin, "模板.xlsx", data)  # the example row imports as it is
    assert result.ok and result.created == 1


def test_cli_imports_and_reports_every_bad_row(runner, db, admin, tmp_path):
    good = tmp_path / "good.csv"
    good.write_bytes(csv_bytes([HEADERS_CN, ["C1", "项目一", "县重点", "产业", "1", "", "", "", "", ""]],
                               "gbk"))
    result = runner.invoke(args=["import-projects", str(good)])
    assert result.exit_code == 0, result.output
    assert "1 created" in result.output

    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes([HEADERS_CN, ["C1", "重复", "县重点", "产业", "1", "", "", "", "", ""],
                               ["C2", "项目二", "县重点", "产业", "-1", "", "", "", "", ""]]))
    result = runner.invoke(args=["import-projects", str(bad)])
    assert result.exit_code != 0
    assert "第 2 行［项目编号］" in result.output and "第 3 行［总投资（万元）］" in result.output
    assert count(db, Project) == 1
    result = runner.invoke(args=["import-projects", str(bad), "--update"])
    assert result.exit_code != 0 and "第 3 行" in result.output

    out = tmp_path / "template.xlsx"
    assert runner.invoke(args=["import-projects", str(out), "--template"]).exit_code == 0
    assert out.read_bytes()[:2] == b"PK"


@pytest.mark.sqlite_only
def test_five_thousand_rows_import_in_seconds(db, admin, supervisor):
    import time

    db.session.add_all([ChecklistTemplate(stage=Stage.construction, text=f"条目{i}", position=i)
                        for i in range(5)])
    db.session.commit()
    rows = [HEADERS_CN] + [[f"BIG{i:05d}", f"批量项目{i}", "县重点", "产业项目", f"{i + 1:,}", "发改局",
                            "业主", "城关镇", "工程建设实施", "jjy_liu" if i % 2 else ""]
                           for i in range(5000)]
    data = xlsx(rows)
    started = time.perf_counter()
    result = import_projects(admin, "big.xlsx", data)
    db.session.commit()
    elapsed = time.perf_counter() - started
    assert result.ok and result.created == 5000
    assert count(db, ChecklistItem) == 25000
    assert elapsed < 30, elapsed  # generous: it takes a few seconds here
