"""Departments: create, rename, merge (problems move with an event each), retire."""
import pytest
import sqlalchemy as sa

from tracker import workflow
from tracker.models import (Action, AuditEntry, Department, ProblemEvent, ProblemStatus,
                            problem_co_departments)
from tracker.services import departments as service


def test_create_and_rename_are_audited(client, db, admin, login):
    login(admin)
    client.post("/admin/departments", data={"code": "ZJJ", "name": "住建局"})
    dept = db.session.scalar(sa.select(Department).where(Department.code == "ZJJ"))
    client.post(f"/admin/departments/{dept.id}", data={"rename-name": "住房和城乡建设局",
                                                      "rename-submit": "1"})
    db.session.refresh(dept)
    assert dept.name == "住房和城乡建设局"
    actions = db.session.scalars(sa.select(AuditEntry.action).where(
        AuditEntry.object_type == "department").order_by(AuditEntry.id)).all()
    assert actions == ["department.create", "department.rename"]
    page = client.post("/admin/departments", data={"code": "ZJJ", "name": "又一个"})
    assert "代码已存在" in page.get_data(as_text=True)


def test_a_merge_moves_problems_with_events(client, db, admin, login, make_department,
                                            make_project, make_user, make_problem):
    merged, survivor, helper = (make_department(name="国土局"), make_department(name="自然资源局"),
                                make_department(name="林业局"))
    liaison = make_user("department", department=merged)
    project = make_project(supervisor=make_user("supervisor"))
    rectifying = make_problem(project, "rectifying", department=merged)
    closed = make_problem(project, "closed", department=merged)
    untouched = make_problem(project, "open")
    helped = make_problem(project, "assigned", department=helper)
    helped.co_departments = [merged]
    db.session.commit()

    login(admin)
    response = client.post(f"/admin/departments/{merged.id}", data={
        "merge-survivor_id": survivor.id, "merge-comment": "机构改革", "merge-submit": "1"})
    assert response.status_code == 302

    for problem in (rectifying, closed):
        db.session.refresh(problem)
        assert problem.department_id == survivor.id
        event = problem.events[-1]
        assert event.action is Action.transfer and event.actor_id == admin.id
        assert event.comment == "机构改革"
        assert event.data == {"previous_department_id": merged.id, "department_id": survivor.id}
    assert rectifying.status is ProblemStatus.rectifying and closed.status is ProblemStatus.closed
    db.session.refresh(untouched)
    assert untouched.department_id is None and len(untouched.events) == 1
    co = db.session.scalars(sa.select(problem_co_departments.c.department_id).where(
        problem_co_departments.c.problem_id == helped.id)).all()
    assert co == [survivor.id]
    db.session.refresh(merged)
    db.session.refresh(liaison)
    assert not merged.active and merged.merged_into_id == survivor.id
    assert liaison.department_id == survivor.id
    # The survivor's liaison now acts on the moved problem through the workflow.
    workflow.apply(rectifying, "report", liaison, comment="已整改")


def test_merge_refuses_itself_and_retired_survivors(db, admin, make_department):
    a, b = make_department(), make_department()
    with pytest.raises(workflow.InvalidFields):
        service.merge(admin, a, a)
    b.active = False
    with pytest.raises(workflow.InvalidFields):
        service.merge(admin, a, b)


def test_a_retired_department_receives_no_new_problems(client, db, admin, login, make_department,
                                                       make_project, make_problem):
    busy, idle = make_department(), make_department()
    project = make_project()
    make_problem(project, "assigned", department=busy)
    login(admin)
    page = client.post(f"/admin/departments/{busy.id}/retire", follow_redirects=True)
    assert "还有 1 个未销号问题" in page.get_data(as_text=True)
    client.post(f"/admin/departments/{idle.id}/retire")
    db.session.refresh(idle)
    assert not idle.active
    problem = make_problem(project, "open")
    with pytest.raises(workflow.InvalidFields):
        workflow.apply(problem, "assign", admin, department_id=idle.id, handling_class=5)
    assert db.session.scalar(sa.select(AuditEntry.action).where(
        AuditEntry.object_id == idle.id, AuditEntry.object_type == "department")) == "department.retire"


def test_only_admin_manages_departments(db, make_user, make_department):
    with pytest.raises(workflow.NotAllowed):
        service.create(make_user("viewer"), code="X1", name="某局")
