"""One visibility rule: for every role, the list query and the per-object check agree."""
import pytest
import sqlalchemy as sa

from tracker import workflow
from tracker.models import Problem, ProblemStatus, Project, SupervisorAssignment, Visit, VisitKind, utcnow
from tracker.visibility import get_visible, visible


@pytest.fixture
def county(db, admin, make_user, make_project, make_problem, make_department):
    dept_a, dept_b = make_department(), make_department()
    sup_a, sup_b = make_user("supervisor"), make_user("supervisor")
    p_a, p_b, p_none = make_project(supervisor=sup_a), make_project(supervisor=sup_b), make_project()
    problems = [make_problem(p_a, ProblemStatus.assigned, department=dept_a),
                make_problem(p_b, ProblemStatus.assigned, department=dept_b),
                make_problem(p_a, ProblemStatus.open)]
    workflow.apply(problems[1], "comment", admin, comment="x")
    # dept_a helps on p_b's problem as a co-department
    problems[1].co_departments = [dept_a]
    db.session.add_all([Visit(project_id=p.id, supervisor_id=s.id, visited_on=utcnow().date(),
                              kind=VisitKind.routine, stage=p.stage)
                        for p, s in ((p_a, sup_a), (p_b, sup_b))])
    db.session.commit()
    return {
        "admin": admin, "viewer": make_user("viewer"), "sup_a": sup_a, "sup_b": sup_b,
        "dept_a": make_user("department", department=dept_a),
        "dept_b": make_user("department", department=dept_b),
        "projects": (p_a, p_b, p_none), "problems": problems,
    }


@pytest.mark.parametrize("who", ["admin", "viewer", "sup_a", "sup_b", "dept_a", "dept_b"])
@pytest.mark.parametrize("model", [Project, Problem, Visit])
def test_list_and_object_check_agree(db, county, who, model):
    user = county[who]
    listed = set(db.session.scalars(visible(model, user).with_only_columns(model.id)))
    every = db.session.scalars(sa.select(model.id)).all()
    checked = {i for i in every if get_visible(model, i, user) is not None}
    assert listed == checked


def test_what_each_role_sees(db, county):
    p_a, p_b, p_none = county["projects"]
    prob_a, prob_b, prob_open = county["problems"]

    def ids(model, who):
        return set(db.session.scalars(visible(model, county[who]).with_only_columns(model.id)))

    assert ids(Project, "admin") == ids(Project, "viewer") == {p_a.id, p_b.id, p_none.id}
    assert ids(Project, "sup_a") == {p_a.id}
    assert ids(Problem, "sup_a") == {prob_a.id, prob_open.id}
    assert ids(Problem, "dept_a") == {prob_a.id, prob_b.id}  # lead on one, co on the other
    assert ids(Problem, "dept_b") == {prob_b.id}
    assert ids(Project, "dept_b") == {p_b.id}
    assert ids(Visit, "dept_a") == set()
    assert len(ids(Visit, "sup_b")) == 1


def test_reassignment_moves_visibility(db, county, admin):
    p_a = county["projects"][0]
    assignment = db.session.scalar(sa.select(SupervisorAssignment).where(
        SupervisorAssignment.project_id == p_a.id, SupervisorAssignment.ended_at.is_(None)))
    assignment.ended_at = utcnow()
    db.session.flush()
    db.session.add(SupervisorAssignment(project_id=p_a.id, user_id=county["sup_b"].id))
    db.session.commit()
    assert get_visible(Project, p_a.id, county["sup_a"]) is None
    assert get_visible(Project, p_a.id, county["sup_b"]) is not None
    assert get_visible(Problem, county["problems"][0].id, county["sup_b"]) is not None
