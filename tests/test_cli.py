"""Command line: create-user, demo-data (and its refusal), migrations on an empty database."""
import subprocess
import sys
from decimal import Decimal

import pytest
import sqlalchemy as sa

from tracker.models import (ChecklistTemplate, Department, Problem, ProblemEvent, ProblemStatus,
                            Project, Stage, SupervisorAssignment, User)


def test_create_user(runner, db, make_department):
    dept = make_department(code="GDGS")
    result = runner.invoke(args=["create-user", "liaison1", "--role", "department",
                                 "--department", "GDGS", "--password", "good-pass-1"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(sa.select(User).where(User.username == "liaison1"))
    assert user.department_id == dept.id and user.check_password("good-pass-1")


def test_create_user_refuses_bad_input(runner, db):
    result = runner.invoke(args=["create-user", "x", "--role", "department", "--password", "good-pass-1"])
    assert result.exit_code != 0 and "单位" in result.output
    result = runner.invoke(args=["create-user", "y", "--role", "admin", "--password", "123"])
    assert result.exit_code != 0 and "密码" in result.output
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_demo_data_is_a_believable_county(runner, db):
    result = runner.invoke(args=["demo-data"])
    assert result.exit_code == 0, result.output
    assert "84 key projects" in result.output and "admin" in result.output
    assert db.session.scalar(sa.select(sa.func.count(Project.id))) == 84
    total = db.session.scalar(sa.select(sa.func.sum(Project.investment_wan)))
    assert Decimal(total) == Decimal("3436000.00")
    # one active supervisor per project
    active = db.session.scalar(sa.select(sa.func.count()).select_from(SupervisorAssignment)
                               .where(SupervisorAssignment.ended_at.is_(None)))
    assert active == 84
    statuses = set(db.session.scalars(sa.select(Problem.status).distinct()))
    assert statuses == set(ProblemStatus)
    for stage in Stage.supervised():
        assert db.session.scalar(sa.select(sa.func.count(ChecklistTemplate.id))
                                 .where(ChecklistTemplate.stage == stage)) >= 4
    assert db.session.scalar(sa.select(sa.func.count(Department.id))) >= 10
    story = db.session.scalar(sa.select(Problem).where(Problem.title.contains("变压器")))
    assert story.status is ProblemStatus.closed
    assert [e.action.value for e in story.events] == ["record", "assign", "accept", "report", "close"]
    # every problem's state is what its event log says
    for problem in db.session.scalars(sa.select(Problem)):
        assert problem.events[-1].to_status is problem.status
        assert problem.events[0].action.value == "record"

    again = runner.invoke(args=["demo-data"])
    assert again.exit_code != 0 and "--force" in again.output
    assert runner.invoke(args=["demo-data", "--if-empty"]).exit_code == 0
    forced = runner.invoke(args=["demo-data", "--force"])
    assert forced.exit_code == 0, forced.output
    assert db.session.scalar(sa.select(sa.func.count(Project.id))) == 84


@pytest.mark.sqlite_only
def test_db_upgrade_on_empty_sqlite_matches_models(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite'}", "PATH": "/usr/bin:/bin"}
    for args in (["db", "upgrade"], ["db", "check"]):
        done = subprocess.run([sys.executable, "-m", "flask", "--app", "tracker", *args],
                              env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
