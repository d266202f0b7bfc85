"""The risk page of the weekly pack, drawn from a hand-built register: Chinese without missing
glyphs, PNG bytes for the pack and an A4 page for the PDF."""
import os
import warnings
from io import BytesIO

import pytest

from tracker.risks.charts import risk_chart_png, risk_page
from tracker.services import risks as service

from .conftest import utc

pytestmark = pytest.mark.sqlite_only

# Where the last drawing is kept for a person to look at (RISK_CHART_DIR=/some/dir).
KEEP = os.environ.get("RISK_CHART_DIR")


@pytest.fixture
def register(db, admin, make_project, make_user, make_department):
    sup = make_user("supervisor", name="刘监察")
    dept = make_department(name="县人社局")
    plans = [
        ("县人民医院迁建", "construction", [("农民工工资支付风险", "wages", "high"),
                                         ("深基坑支护方案未论证", "safety", "medium")]),
        ("高新区标准厂房", "approval", [("征地补偿未谈妥", "land", "high"),
                                    ("审批环节廉洁风险", "integrity", "low")]),
        ("城南污水处理厂", "acceptance", [("竣工结算审计滞后", "settlement", "medium")]),
    ]
    risks = []
    for name, stage, items in plans:
        project = make_project(supervisor=sup, name=name, stage=stage)
        for title, category, level in items:
            risks.append(service.create_risk(sup, project, title=title, category=category,
                                             level=level, department_id=dept.id,
                                             at=utc(2026, 11, 10, 2)))
    service.change_risk(sup, risks[1], level="high", reason="现场发现无支护开挖",
                        at=utc(2026, 11, 17, 3))
    service.change_risk(sup, risks[4], level="low", reason="送审资料已补齐", at=utc(2026, 11, 18, 3))
    service.change_risk(sup, risks[3], status="closed", reason="已实行帮代办",
                        at=utc(2026, 11, 19, 3))
    db.session.commit()
    return service.risk_figures(admin, "2026-W47")


def _draw(draw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = draw()
    missing = [w for w in caught if "Glyph" in str(w.message)]
    assert not missing, missing[0].message
    return result


def test_the_risk_chart_renders_chinese_to_png(register):
    assert (register.changes.raised, register.changes.lowered, register.changes.closed) == (1, 1, 1)
    png = _draw(lambda: risk_chart_png(register))
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    if KEEP:
        with open(os.path.join(KEEP, "risk-chart.png"), "wb") as out:
            out.write(png)


def test_the_risk_page_for_the_pdf_has_the_tables(register):
    fig = _draw(lambda: risk_page(register))
    texts = {t.get_text() for ax in fig.axes for t in ax.texts}
    texts |= {c.get_text().get_text() for ax in fig.axes for tbl in ax.tables
              for c in tbl.get_celld().values()}
    assert {"县人民医院迁建", "现场发现无支护开挖", "升级", "降级", "关闭"} <= texts
    buffer = BytesIO()
    fig.savefig(buffer, format="png")
    if KEEP:
        fig.savefig(os.path.join(KEEP, "risk-page.png"))
    pdf = BytesIO()
    fig.savefig(pdf, format="pdf")
    assert pdf.getvalue()[:5] == b"%PDF-"
