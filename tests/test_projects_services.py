"""Supervisor assignment and stage moves: the rules headquarters and supervisors work by."""
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from tracker.calendar import local_today
from tracker.models import (AuditEntry, ChecklistItem, ChecklistTemplate, Problem, Stage,
                            StageChange, SupervisorAssignment, Visit, VisitKind)
from tracker.services import projects as svc
from tracker.visibility import get_visible, visible
from tracker.workflow import InvalidFields, NotAllowed, StaleVersion


@pytest.fixture
def templates(db):
    """Headquarters' supervision list: two active lines for approval, one retired."""
    rows = [ChecklistTemplate(stage=Stage.approval, text="各项审批在法定时限内办结", position=1),
            ChecklistTemplate(stage=Stage.approval, text="不存在吃拿卡要", position=2),
            ChecklistTemplate(stage=Stage.approval, text="旧条目（已停用）", position=3, active=False),
            ChecklistTemplate(stage=Stage.construction, text="无违法分包", position=1)]
    db.session.add_all(rows)
    db.session.commit()
    return rows


# ---------------------------------------------------------------- assignment

def test_reassignment_keeps_history_and_switches_visibility(db, admin, make_user, make_project,
                                                           make_problem):
    old, new = make_user("supervisor"), make_user("supervisor")
    project = make_project(supervisor=old)
    problem = make_problem(project)
    visit = Visit(project_id=project.id, supervisor_id=old.id, visited_on=local_today(),
                  kind=VisitKind.routine, stage=project.stage, summary="现场查看")
    db.session.add(visit)
    db.session.commit()
    assert get_visible(Problem, problem.id, old) is not None
    assert get_visible(Problem, problem.id, new) is None
    assert get_visible(Visit, visit.id, new) is None

    svc.assign_supervisor(admin, project, new, note="工作调整")
    db.session.commit()

    assert project.supervisor_id == new.id
    history = svc.assignment_history(project)
    assert [(a.user_id, a.ended_at is None) for a in history] == [(new.id, True), (old.id, False)]
    assert history[0].note == "工作调整" and history[0].assigned_by_id == admin.id
    # the new supervisor sees the project's whole past, the old one no longer sees it
    assert get_visible(Problem, problem.id, new) is not None
    assert get_visible(Visit, visit.id, new) is not None  # the old supervisor's visit, too
    assert get_visible(Problem, problem.id, old) is None
    assert get_visible(Visit, visit.id, old) is None
    assert db.session.scalars(visible(type(project), old)).all() == []
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "project.supervisor"))
    assert entry.detail["from_user_id"] == old.id and entry.detail["to_user_id"] == new.id


def test_assigning_the_same_supervisor_again_changes_nothing(db, admin, make_user, make_project):
    sup = make_user("supervisor")
    project = make_project(supervisor=sup)
    svc.assign_supervisor(admin, project, sup)
    db.session.commit()
    assert len(svc.assignment_history(project)) == 1


def test_database_allows_one_active_assignment(db, make_user, make_project):
    project = make_project(supervisor=make_user("supervisor"))
    db.session.add(SupervisorAssignment(project_id=project.id, user_id=make_user("supervisor").id))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_only_admin_assigns_and_only_active_supervisors(db, admin, make_user, make_project):
    sup = make_user("supervisor")
    project = make_project()
    with pytest.raises(NotAllowed):
        svc.assign_supervisor(sup, project, sup)
    with pytest.raises(InvalidFields) as error:
        svc.assign_supervisor(admin, project, make_user("viewer"))
    assert "user_id" in error.value.fields
    sup.active = False
    with pytest.raises(InvalidFields):
        svc.assign_supervisor(admin, project, sup)


# ---------------------------------------------------------------- stages

def test_moving_on_records_the_date_and_gives_the_new_checklist(db, admin, make_user, make_project,
                                                                templates):
    sup = make_user("supervisor")
    project = make_project(supervisor=sup, stage=Stage.signing)
    day = local_today() - timedelta(days=1)
    change = svc.move_stage(sup, project, Stage.approval, changed_on=day, note="签约完成")
    db.session.commit()

    assert project.stage is Stage.approval
    assert (change.from_stage, change.to_stage, change.changed_on, change.note, change.reason) == \
        (Stage.signing, Stage.approval, day, "签约完成", None)
    items = db.session.scalars(sa.select(ChecklistItem).where(ChecklistItem.project_id == project.id)
                               .order_by(ChecklistItem.position)).all()
    assert [i.text for i in items] == ["各项审批在法定时限内办结", "不存在吃拿卡要"]  # retired line left out
    assert all(i.stage is Stage.approval and i.result is None for i in items)


def test_open_problems_of_the_stage_need_an_admin_and_a_reason(db, admin, make_user, make_project,
                                                               make_problem, make_department,
                                                               templates):
    sup = make_user("supervisor")
    project = make_project(supervisor=sup, stage=Stage.approval)
    make_problem(project)  # still open, of the approval stage
    make_problem(project, status="closed", department=make_department())
    today = local_today()

    with pytest.raises(NotAllowed) as refused:
        svc.move_stage(sup, project, Stage.construction, changed_on=today)
    assert "1 个问题未销号" in refused.value.message
    with pytest.raises(InvalidFields) as no_reason:
        svc.move_stage(admin, project, Stage.construction, changed_on=today)
    assert "reason" in no_reason.value.fields
    db.session.rollback()
    assert project.stage is Stage.approval
    assert db.session.scalar(sa.select(sa.func.count(StageChange.id))) == 0

    change = svc.move_stage(admin, project, Stage.construction, changed_on=today,
                            reason="土地问题转入建设阶段继续跟踪")
    db.session.commit()
    assert project.stage is Stage.construction
    assert change.reason == "土地问题转入建设阶段继续跟踪"
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "project.stage"))
    assert entry.detail["open_problems"] == 1


def test_moving_back_is_an_admin_correction_with_a_reason(db, admin, make_user, make_project,
                                                          templates):
    sup = make_user("supervisor")
    project = make_project(supervisor=sup, stage=Stage.construction)
    today = local_today()
    with pytest.raises(NotAllowed):
        svc.move_stage(sup, project, Stage.approval, changed_on=today, reason="录错")
    with pytest.raises(InvalidFields):
        svc.move_stage(admin, project, Stage.approval, changed_on=today)
    svc.move_stage(admin, project, Stage.approval, changed_on=today, reason="阶段录错，更正")
    svc.move_stage(admin, project, Stage.construction, changed_on=today)
    svc.move_stage(admin, project, Stage.approval, changed_on=today, reason="再次更正")
    db.session.commit()
    # moving back and forth never duplicates checklist items
    count = db.session.scalar(sa.select(sa.func.count(ChecklistItem.id))
                              .where(ChecklistItem.project_id == project.id))
    assert count == 3
    assert [c.to_stage for c in svc.stage_history(project)] == \
        [Stage.approval, Stage.construction, Stage.approval]


def test_stage_move_refusals(db, admin, make_user, make_project):
    sup, other = make_user("supervisor"), make_user("supervisor")
    project = make_project(supervisor=sup, stage=Stage.signing)
    today = local_today()
    with pytest.raises(NotAllowed):
        svc.move_stage(other, project, Stage.approval, changed_on=today)
    with pytest.raises(NotAllowed):  # skipping a stage is for admin
        svc.move_stage(sup, project, Stage.construction, changed_on=today)
    with pytest.raises(InvalidFields) as error:
        svc.move_stage(sup, project, "nowhere", changed_on=today + timedelta(days=1))
    assert set(error.value.fields) == {"stage", "changed_on"}
    with pytest.raises(InvalidFields):
        svc.move_stage(sup, project, Stage.signing, changed_on=today)
    with pytest.raises(StaleVersion):
        svc.move_stage(sup, project, Stage.approval, changed_on=today, version=project.version - 1)
    svc.move_stage(sup, project, Stage.approval, changed_on=today)
    with pytest.raises(InvalidFields) as early:
        svc.move_stage(sup, project, Stage.construction, changed_on=today - timedelta(days=3))
    assert "changed_on" in early.value.fields


def test_create_and_update_project(db, admin, make_user):
    sup = make_user("supervisor")
    raw = {"code": " HD 001 ", "name": "  衡东县 产业园 ", "level": "省重点", "category": "产业项目",
           "investment_wan": "１２,３４５.６", "responsible_unit": "发改局"}
    project = svc.create_project(admin, raw, stage="审批落地开工", supervisor=sup)
    db.session.commit()
    assert (project.code, project.name, project.level.value, str(project.investment_wan),
            project.stage, project.supervisor_id) == \
        ("HD001", "衡东县 产业园", "provincial", "12345.60", Stage.approval, sup.id)
    assert [c.to_stage for c in svc.stage_history(project)] == [Stage.approval]
    with pytest.raises(InvalidFields) as dup:
        svc.create_project(admin, {**raw, "investment_wan": "-1"})
    assert set(dup.value.fields) == {"code", "investment_wan"}
    with pytest.raises(StaleVersion):
        svc.update_project(admin, project, {"name": "新名"}, version=project.version + 1)
    svc.update_project(admin, project, {"name": "新名", "investment_wan": "100"},
                       version=project.version)
    db.session.commit()
    assert project.name == "新名" and project.version == 2


def test_end_assignment_leaves_the_project_unassigned(db, admin, make_user, make_project):
    sup = make_user("supervisor")
    project = make_project(supervisor=sup)
    ended = svc.end_assignment(admin, project, note="调离")
    db.session.commit()
    assert ended.ended_at is not None and project.supervisor is None
    assert svc.end_assignment(admin, project) is None


def test_workload_counts_projects_and_open_problems(db, admin, make_user, make_project,
                                                    make_problem, make_department):
    busy, idle = make_user("supervisor", name="甲"), make_user("supervisor", name="乙")
    first = make_project(supervisor=busy, investment_wan=100)
    make_project(supervisor=busy, investment_wan=50)
    make_problem(first)
    make_problem(first, status="closed", department=make_department())
    overdue = make_problem(first, status="assigned", department=make_department())
    overdue.due_on = local_today() - timedelta(days=1)
    db.session.commit()
    rows = {w.user.id: w for w in svc.workload()}
    assert (rows[busy.id].projects, rows[busy.id].open_problems, rows[busy.id].overdue_problems,
            rows[busy.id].investment_wan) == (2, 2, 1, 150)
    assert (rows[idle.id].projects, rows[idle.id].open_problems) == (0, 0)
