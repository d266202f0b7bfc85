"""The risk register's service: re-rating with reasons, history, as-of reading, visits, figures."""
from datetime import date

import pytest
import sqlalchemy as sa

from tracker.models import (AuditEntry, Problem, Risk, RiskChange, RiskLevel, RiskStatus, Stage,
                            Visit, VisitKind)
from tracker.services import risks as service
from tracker.workflow import InvalidFields, NotAllowed, StaleVersion

from .conftest import utc


@pytest.fixture
def supervisor(make_user):
    return make_user("supervisor", name="李监察")


@pytest.fixture
def project(make_project, supervisor):
    return make_project(supervisor=supervisor, name="城南污水处理厂")


@pytest.fixture
def make_risk(db, admin):
    def make(project, title="征地补偿未谈妥", level="medium", category="land", at=None, **kw):
        risk = service.create_risk(admin, project, title=title, category=category, level=level,
                                   at=at, **kw)
        db.session.commit()
        return risk
    return make


@pytest.fixture
def make_visit(db):
    def make(project, supervisor):
        visit = Visit(project_id=project.id, supervisor_id=supervisor.id,
                      visited_on=date(2026, 11, 20), kind=VisitKind.routine, stage=project.stage)
        db.session.add(visit)
        db.session.commit()
        return visit
    return make


def history(db, risk):
    return db.session.scalars(sa.select(RiskChange).where(RiskChange.risk_id == risk.id)
                              .order_by(RiskChange.id)).all()


def test_a_new_risk_starts_its_history(db, project, supervisor):
    risk = service.create_risk(supervisor, project, title="资金缺口 3000 万元", category="funding",
                               level="high", department_id=None)
    db.session.commit()
    assert (risk.level, risk.status, risk.stage) == (RiskLevel.high, RiskStatus.watching,
                                                     Stage.construction)
    [first] = history(db, risk)
    assert (first.from_level, first.to_level, first.to_status) == (None, RiskLevel.high,
                                                                   RiskStatus.watching)
    assert first.actor_id == supervisor.id


def test_a_level_change_needs_a_reason_and_is_kept_in_history(db, project, supervisor, make_risk):
    risk = make_risk(project, level="medium")
    with pytest.raises(InvalidFields) as refused:
        service.change_risk(supervisor, risk, level="high", reason="  ")
    assert "reason" in refused.value.fields
    db.session.rollback()
    db.session.refresh(risk)
    assert risk.level is RiskLevel.medium and len(history(db, risk)) == 1

    service.change_risk(supervisor, risk, level="high", reason="村民阻工，补偿款未到位",
                        version=risk.version)
    db.session.commit()
    service.change_risk(supervisor, risk, status="mitigated", reason="补偿协议已签")
    db.session.commit()
    rows = history(db, risk)
    assert [(r.from_level, r.to_level, r.from_status, r.to_status, r.reason) for r in rows[1:]] == [
        (RiskLevel.medium, RiskLevel.high, RiskStatus.watching, RiskStatus.watching,
         "村民阻工，补偿款未到位"),
        (RiskLevel.high, RiskLevel.high, RiskStatus.watching, RiskStatus.mitigated, "补偿协议已签"),
    ]
    assert all(r.actor_id == supervisor.id for r in rows[1:])
    assert (risk.level, risk.status) == (RiskLevel.high, RiskStatus.mitigated)


def test_edits_need_no_reason_bump_the_version_and_are_audited(db, project, supervisor, make_risk,
                                                               make_department):
    risk = make_risk(project)
    dept = make_department(name="自然资源局")
    before = risk.version
    assert service.change_risk(supervisor, risk, title="征地补偿标准争议", department_id=dept.id) is None
    db.session.commit()
    assert (risk.title, risk.department_id, risk.version) == ("征地补偿标准争议", dept.id, before + 1)
    assert len(history(db, risk)) == 1
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "risk.edit")).one()
    assert entry.object_id == risk.id and entry.detail["title"][1] == "征地补偿标准争议"
    # Nothing different: no change, no new version.
    assert service.change_risk(supervisor, risk, level=risk.level.value, title=risk.title) is None
    db.session.commit()
    assert risk.version == before + 1


def test_a_stale_version_is_refused_and_changes_nothing(db, project, supervisor, make_risk):
    risk = make_risk(project)
    old = risk.version
    service.change_risk(supervisor, risk, level="low", reason="已落实资金")
    db.session.commit()
    with pytest.raises(StaleVersion):
        service.change_risk(supervisor, risk, level="high", reason="又出现缺口", version=old)
    db.session.rollback()
    assert db.session.get(Risk, risk.id).level is RiskLevel.low


@pytest.mark.parametrize("role", ["viewer", "department", "other_supervisor"])
def test_only_the_projects_supervisor_and_admin_keep_the_register(db, project, make_user,
                                                                  make_risk, role):
    risk = make_risk(project)
    user = make_user("supervisor") if role == "other_supervisor" else make_user(role)
    with pytest.raises(NotAllowed):
        service.change_risk(user, risk, level="high", reason="想改")
    with pytest.raises(NotAllowed):
        service.create_risk(user, project, title="x", category="other", level="low")


def test_bad_values_are_named(db, project, supervisor):
    with pytest.raises(InvalidFields) as refused:
        service.create_risk(supervisor, project, title="", category="weather", level="extreme",
                            department_id=999999)
    assert set(refused.value.fields) == {"title", "category", "level", "department_id"}
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Risk)) == 0


def test_the_register_reads_as_of_any_moment(db, project, supervisor, make_risk):
    land = make_risk(project, title="征地", level="medium", at=utc(2026, 11, 2, 2))
    funds = make_risk(project, title="资金", level="low", category="funding", at=utc(2026, 11, 4, 2))
    service.change_risk(supervisor, land, level="high", reason="阻工", at=utc(2026, 11, 10, 2))
    service.change_risk(supervisor, land, status="closed", reason="已解决", at=utc(2026, 11, 17, 2))
    db.session.commit()

    def states(at):
        return {s.title: (s.level, s.status) for s in service.register_as_of(project.id, at)}

    assert states(utc(2026, 11, 1)) == {}
    assert states(utc(2026, 11, 3)) == {"征地": (RiskLevel.medium, RiskStatus.watching)}
    assert states(utc(2026, 11, 12)) == {"征地": (RiskLevel.high, RiskStatus.watching),
                                         "资金": (RiskLevel.low, RiskStatus.watching)}
    assert states(utc(2026, 11, 17, 2)) == {"征地": (RiskLevel.high, RiskStatus.closed),
                                            "资金": (RiskLevel.low, RiskStatus.watching)}
    assert service.register_as_of(None, utc(2026, 11, 3))[0].risk_id == land.id


def test_a_visit_rerates_two_risks_all_or_nothing(db, project, supervisor, make_risk, make_visit):
    land = make_risk(project, title="征地", level="medium")
    wages = make_risk(project, title="农民工工资", level="low", category="wages")
    visit = make_visit(project, supervisor)
    changes = [{"risk_id": land.id, "level": "high", "reason": "现场发现阻工"},
               {"risk_id": wages.id, "level": "high", "reason": ""}]
    with pytest.raises(InvalidFields) as refused:
        service.rerate_from_visit(supervisor, visit, changes)
    assert refused.value.fields == {f"risks-{wages.id}-reason": "调整风险等级或状态须说明理由"}
    db.session.rollback()
    assert [db.session.get(Risk, r.id).level for r in (land, wages)] == [RiskLevel.medium,
                                                                        RiskLevel.low]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RiskChange)) == 2

    changes[1]["reason"] = "总包拖欠两个月工资"
    written = service.rerate_from_visit(supervisor, visit, changes)
    db.session.commit()
    assert [(c.risk_id, c.to_level, c.visit_id) for c in written] == [
        (land.id, RiskLevel.high, visit.id), (wages.id, RiskLevel.high, visit.id)]


def test_a_visit_cannot_rerate_another_projects_risk(db, project, supervisor, make_project,
                                                     make_risk, make_visit):
    elsewhere = make_risk(make_project(supervisor=supervisor), title="别处")
    visit = make_visit(project, supervisor)
    with pytest.raises(InvalidFields) as refused:
        service.rerate_from_visit(supervisor, visit, [{"risk_id": elsewhere.id, "level": "low",
                                                       "reason": "x"}])
    assert f"risks-{elsewhere.id}-risk_id" in refused.value.fields


def test_a_risk_that_happens_opens_a_linked_problem(db, project, supervisor, make_risk):
    risk = make_risk(project, title="农民工工资拖欠风险", category="wages")
    problem = service.materialise(supervisor, risk, title="总包拖欠农民工工资 85 万元")
    db.session.commit()
    assert db.session.get(Problem, problem.id).risk_id == risk.id
    assert problem.status.value == "open" and problem.project_id == project.id


def test_changed_this_week_counts_across_an_iso_week_boundary(db, project, supervisor, admin,
                                                              make_risk):
    # ISO week 2026-W47 runs Mon 16 Nov – Sun 22 Nov in Asia/Shanghai, i.e. from
    # 2026-11-15 16:00 UTC up to 2026-11-22 16:00 UTC.
    a = make_risk(project, title="A", level="low", at=utc(2026, 11, 10, 1))         # W46
    b = make_risk(project, title="B", level="high", at=utc(2026, 11, 15, 15, 59))   # Sun W46, 23:59
    c = make_risk(project, title="C", level="medium", at=utc(2026, 11, 15, 16, 0))  # Mon W47, 00:00
    service.change_risk(supervisor, a, level="high", reason="升", at=utc(2026, 11, 16, 3))
    service.change_risk(supervisor, a, level="medium", reason="降", at=utc(2026, 11, 18, 3))
    service.change_risk(supervisor, b, level="medium", reason="降", at=utc(2026, 11, 22, 15, 59))
    service.change_risk(supervisor, c, status="closed", reason="化解", at=utc(2026, 11, 22, 16, 0))
    db.session.commit()

    w46 = service.risk_figures(admin, "2026-W46")
    w47 = service.risk_figures(admin, "2026-W47")
    w48 = service.risk_figures(admin, date(2026, 11, 25))
    assert w46.changes == service.WeekChanges(new=2, raised=0, lowered=0, closed=0)
    assert w47.changes == service.WeekChanges(new=1, raised=1, lowered=2, closed=0)
    assert w48.changes == service.WeekChanges(new=0, raised=0, lowered=0, closed=1)
    assert (w47.week, w47.starts_on, w47.ends_on) == ("2026-W47", date(2026, 11, 16),
                                                      date(2026, 11, 22))
    # The register at the end of each week: the figures of a past week do not move.
    assert w46.open_by_level == {RiskLevel.high: 1, RiskLevel.medium: 0, RiskLevel.low: 1}
    assert w47.open_by_level == {RiskLevel.high: 0, RiskLevel.medium: 3, RiskLevel.low: 0}
    assert w48.open_by_level == {RiskLevel.high: 0, RiskLevel.medium: 2, RiskLevel.low: 0}
    assert [(p.project_id, p.highest, p.medium) for p in w47.projects] == [
        (project.id, RiskLevel.medium, 3)]
    cell = w47.cell(Stage.construction, service.RiskCategory.land)
    assert (cell.high, cell.medium, cell.low) == (0, 3, 0)
    assert [r.title for r in w47.recent] == ["B", "A", "A", "C"]


def test_figures_rank_projects_by_highest_open_level_and_follow_visibility(
        db, make_project, make_user, make_risk, admin):
    mine, theirs = make_user("supervisor"), make_user("supervisor")
    calm = make_project(supervisor=mine, code="XM-CALM")
    hot = make_project(supervisor=theirs, code="XM-HOT")
    make_risk(calm, level="medium")
    make_risk(calm, level="low")
    make_risk(hot, level="high", category="tender")
    closed = make_risk(hot, level="high")
    service.change_risk(admin, closed, status="closed", reason="已化解")
    db.session.commit()

    figures = service.risk_figures(admin)
    assert [(p.code, p.highest, p.high, p.medium, p.low) for p in figures.projects] == [
        ("XM-HOT", RiskLevel.high, 1, 0, 0), ("XM-CALM", RiskLevel.medium, 0, 1, 1)]
    assert figures.changes.new == 4 and figures.changes.closed == 1
    assert [p.code for p in service.risk_figures(mine).projects] == ["XM-CALM"]
    assert service.risk_figures(make_user("department")).open_total == 0
    assert [r.project_id for r in service.open_high_risks(admin)] == [hot.id]
    assert service.open_high_risks(mine) == []


def test_the_visit_form_seam_reads_fields_and_checks_before_the_visit_exists(
        db, project, supervisor, make_risk, make_visit):
    from werkzeug.datastructures import MultiDict

    land = make_risk(project, title="征地", level="medium")
    wages = make_risk(project, title="工资", level="low", category="wages")
    form = MultiDict({"summary": "走访情况", f"risks-{land.id}-level": "high",
                      f"risks-{land.id}-status": "watching", f"risks-{land.id}-reason": "",
                      f"risks-{land.id}-version": str(land.version),
                      f"risks-{wages.id}-level": "low", f"risks-{wages.id}-status": "watching",
                      f"risks-{wages.id}-reason": "", "risks-x-level": "high"})
    changes = service.rerate_changes_from_form(form)
    assert [c["risk_id"] for c in changes] == [land.id, wages.id]
    assert service.check_rerates(supervisor, project, changes) == {
        f"risks-{land.id}-reason": "调整风险等级或状态须说明理由"}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RiskChange)) == 2

    form[f"risks-{land.id}-reason"] = "征地纠纷升级"
    changes = service.rerate_changes_from_form(form)
    assert service.check_rerates(supervisor, project, changes) == {}
    written = service.rerate_from_visit(supervisor, make_visit(project, supervisor), changes)
    assert [(c.risk_id, c.to_level) for c in written] == [(land.id, RiskLevel.high)]


def test_demo_registers_are_consistent_with_their_history(db, admin, make_project, make_user):
    import random

    from tracker.risks.demo import add_demo_risks

    sup = make_user("supervisor")
    for _n in range(6):
        make_project(supervisor=sup)
    now = utc(2026, 11, 24, 2)
    written = add_demo_risks(random.Random(3), now=now)
    db.session.commit()
    risks = db.session.scalars(sa.select(Risk)).all()
    assert written == len(risks) > 0
    as_of_now = {s.risk_id: (s.level, s.status) for s in service.register_as_of(None, now)}
    assert as_of_now == {r.id: (r.level, r.status) for r in risks}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RiskChange)
                             .where(RiskChange.reason == "")) == 0
