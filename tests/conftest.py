"""Fixtures: the app on a real SQLite file and (when TEST_DATABASE_URL names one) PostgreSQL,
clients, and factories that build the domain through the same services the app uses."""
import itertools
import os
import shutil
import tempfile
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from config import TestingConfig
from tracker import create_app
from tracker import workflow
from tracker.extensions import db as _db
from tracker.models import (Department, Level, Problem, ProblemStatus, Project, Role, Stage,
                            SupervisorAssignment, User)
from tracker.services.users import create_user

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
# Browser tests save their screenshots here; `SCREENSHOT_DIR=docs/screenshots make test` refreshes
# the README's pictures, an ordinary run leaves the working tree alone.
SHOTS = Path(os.environ.get("SCREENSHOT_DIR") or tempfile.mkdtemp(prefix="tracker-shots-")).resolve()
SHOTS.mkdir(parents=True, exist_ok=True)
PASSWORD = "secret-pass-1"

DATABASES = [
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.skipif(
        not PG_URL.startswith("postgresql"), reason="TEST_DATABASE_URL names no PostgreSQL")),
]


def pytest_configure(config):
    config.addinivalue_line("markers", "sqlite_only: run on the SQLite file only")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("sqlite_only") and "[postgresql" in item.nodeid:
            item.add_marker(pytest.mark.skip(reason="SQLite-only test"))


_pg_schema_ready = False


def _reset_postgres(app):
    global _pg_schema_ready
    with app.app_context():
        if not _pg_schema_ready:
            _db.session.remove()
            _db.drop_all()
            _db.create_all()
            _pg_schema_ready = True
        else:
            tables = ", ".join(t.name for t in _db.metadata.sorted_tables)
            with _db.engine.begin() as conn:
                conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


class IsolatedClient(FlaskClient):
    """Each request runs in its own app context (its own `g` and database session), as it
    would in a server; the test's own session commits first and is expired afterwards, so it
    reads what the request wrote."""

    def open(self, *args, **kwargs):
        _db.session.commit()  # what the test set up is committed, its snapshot released
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        _db.session.expire_all()
        return response


_sqlite_template: Path | None = None


def _copy_sqlite_schema(app, database_url: str) -> None:
    """A fresh SQLite file per test: the schema (with its triggers) is made once and copied."""
    global _sqlite_template
    if _sqlite_template is None:
        _sqlite_template = Path(tempfile.mkdtemp(prefix="tracker-schema-")) / "schema.sqlite"
        template_app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{_sqlite_template}")
        with template_app.app_context():
            _db.create_all()
            _db.session.remove()
            _db.engine.dispose()
    shutil.copyfile(_sqlite_template, database_url.removeprefix("sqlite:///"))


@pytest.fixture(params=DATABASES)
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tracker.sqlite'}"
    return PG_URL


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url,
                     UPLOAD_DIR=str(tmp_path / "uploads"))
    app.test_client_class = IsolatedClient
    if database_url.startswith("postgresql"):
        _reset_postgres(app)
    else:
        _copy_sqlite_schema(app, database_url)
    with app.app_context():
        yield app
        _db.session.remove()
    with app.app_context():
        _db.engine.dispose()


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


_counter = itertools.count(1)


@pytest.fixture
def make_department(db):
    def make(code=None, name=None) -> Department:
        n = next(_counter)
        dept = Department(code=code or f"D{n:03d}", name=name or f"测试局{n}")
        db.session.add(dept)
        db.session.commit()
        return dept
    return make


@pytest.fixture
def make_user(db, make_department):
    def make(role="supervisor", username=None, department=None, name=None) -> User:
        role = Role(role)
        n = next(_counter)
        if role is Role.department and department is None:
            department = make_department()
        user = create_user(username or f"{role.value}{n}", role, PASSWORD, name=name or f"用户{n}",
                           department_id=department.id if department else None)
        db.session.commit()
        return user
    return make


@pytest.fixture
def make_project(db):
    def make(supervisor: User | None = None, stage=Stage.construction, **fields) -> Project:
        n = next(_counter)
        project = Project(code=fields.pop("code", f"XM{n:04d}"), name=fields.pop("name", f"测试项目{n}"),
                          level=fields.pop("level", Level.county), category=fields.pop("category", "产业"),
                          investment_wan=fields.pop("investment_wan", Decimal("1000.00")),
                          stage=stage, **fields)
        db.session.add(project)
        db.session.flush()
        if supervisor is not None:
            db.session.add(SupervisorAssignment(project_id=project.id, user_id=supervisor.id))
        db.session.commit()
        db.session.refresh(project)
        return project
    return make


@pytest.fixture
def admin(make_user):
    return make_user("admin", username="admin")


@pytest.fixture
def make_problem(db, admin):
    """A problem on `project`, driven through the workflow to `status`."""
    def make(project: Project, status=ProblemStatus.open, department: Department | None = None,
             handling_class=5, title="测试问题", at: datetime | None = None) -> Problem:
        status = ProblemStatus(status)
        problem = workflow.record(project, admin, title=title, at=at)
        path = {
            ProblemStatus.open: [],
            ProblemStatus.assigned: ["assign"],
            ProblemStatus.rectifying: ["assign", "accept"],
            ProblemStatus.rectified: ["assign", "accept", "report"],
            ProblemStatus.closed: ["assign", "accept", "report", "close"],
            ProblemStatus.withdrawn: ["withdraw"],
        }[status]
        fields = {
            "assign": {"department_id": department.id if department else None,
                       "handling_class": handling_class},
            "accept": {"plan": "整改方案", "planned_on": "2099-01-01"},
            "report": {"comment": "已整改"},
            "close": {"satisfaction": "satisfied"},
            "withdraw": {"comment": "重复登记"},
        }
        for action in path:
            workflow.apply(problem, action, admin, at=at, **fields[action])
        db.session.commit()
        return problem
    return make


@pytest.fixture
def login(client):
    def do(user: User, password: str = PASSWORD):
        response = client.post("/login", data={"username": user.username, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client
    return do


@pytest.fixture
def token_for(client):
    def issue(user: User, password: str = PASSWORD) -> dict:
        response = client.post("/api/v1/tokens", json={"username": user.username, "password": password})
        assert response.status_code == 201, response.get_json()
        return {"Authorization": f"Bearer {response.get_json()['token']}"}
    return issue


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)
