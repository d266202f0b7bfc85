"""`flask backup` under write load; the copy restores with a sound log and consistent counts."""
import shutil
import subprocess
import threading

import pytest
import sqlalchemy as sa

from config import TestingConfig
from tracker import create_app, workflow
from tracker.extensions import db as _db
from tracker.models import Problem, ProblemEvent, ProblemStatus, User
from tracker.services.integrity import verify_chain


def _write_load(app, stop: threading.Event, project_id: int, admin_id: int, written: list):
    with app.app_context():
        from tracker.models import Project
        while not stop.is_set():
            project = _db.session.get(Project, project_id)
            admin = _db.session.get(User, admin_id)
            problem = workflow.record(project, admin, title="压力写入")
            workflow.apply(problem, "comment", admin, comment="并发写入")
            _db.session.commit()
            written.append(problem.id)
        _db.session.remove()


def _counts_and_chain(database_url):
    restored = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url)
    with restored.app_context():
        problems = _db.session.scalar(sa.select(sa.func.count(Problem.id)))
        records = _db.session.scalar(sa.select(sa.func.count(ProblemEvent.id))
                                     .where(ProblemEvent.action == "record"))
        report = verify_chain()
        _db.session.remove()
        _db.engine.dispose()
    return problems, records, report


def test_backup_under_write_load_restores_sound(app, db, runner, tmp_path, database_url, admin,
                                                make_user, make_project, make_problem):
    if database_url.startswith("postgresql") and not shutil.which("pg_restore"):
        pytest.skip("pg_restore not installed")
    project = make_project(supervisor=make_user("supervisor"))
    stop, written = threading.Event(), []
    writer = threading.Thread(target=_write_load, args=(app, stop, project.id, admin.id, written))
    writer.start()
    try:
        while len(written) < 5:
            stop.wait(0.05)
        out = tmp_path / "backup.db"
        result = runner.invoke(args=["backup", "--out", str(out)])
        assert result.exit_code == 0, result.output
    finally:
        stop.set()
        writer.join()
    assert len(written) >= 5

    if database_url.startswith("sqlite"):
        restored_url = f"sqlite:///{out}"
    else:
        base = database_url.rsplit("/", 1)[0]
        plain = base.replace("+psycopg", "")
        subprocess.run(["psql", f"{plain}/postgres", "-qc", "DROP DATABASE IF EXISTS tracker_restore"],
                       check=True, capture_output=True)
        subprocess.run(["psql", f"{plain}/postgres", "-qc", "CREATE DATABASE tracker_restore"],
                       check=True, capture_output=True)
        subprocess.run(["pg_restore", "--no-owner", "-d", f"{plain}/tracker_restore", str(out)],
                       check=True, capture_output=True)
        restored_url = f"{base}/tracker_restore"
    problems, records, report = _counts_and_chain(restored_url)
    assert report.ok, report
    assert problems == records >= 5  # every problem in the copy has its record event
    assert report.events == records * 2  # and its comment: no half-written action
