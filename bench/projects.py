"""Benchmark (not a test): the project list page and GET /api/v1/projects at 84 and 10,000 projects.

    .venv/bin/python -m bench.projects                      # SQLite files in a temp dir
    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/bench_p .venv/bin/python -m bench.projects

Two databases: the demo county (84 projects), and the demo county grown to 10,000 projects through
the importer (timed too) with three problems each. The two take turns for each request, so that a
busy machine slows both alike; the figures are medians.
"""
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

from config import TestingConfig  # noqa: E402
from tracker import create_app  # noqa: E402
from tracker.calendar import local_today  # noqa: E402
from tracker.extensions import db  # noqa: E402
from tracker.models import Department, Problem, Project, Role, User, utcnow  # noqa: E402
from tracker.services import demo, importer  # noqa: E402

URLS = [
    ("list page", "/projects/"),
    ("list page 2", "/projects/?page=2"),
    ("list page 150 (10,000 only; 84: empty)", "/projects/?page=150"),
    ("list, search 产业园", "/projects/?q=产业园"),
    ("list, overdue + stage", "/projects/?overdue=1&stage=construction"),
    ("list, sort by supervisor desc", "/projects/?sort=supervisor&dir=desc"),
    ("list, sort by investment", "/projects/?sort=investment&dir=desc"),
    ("API list", "/api/v1/projects"),
    ("API list, per_page 200", "/api/v1/projects?per_page=200"),
    ("API q + stage", "/api/v1/projects?q=产业&stage=construction"),
]


def timings(apps: dict[str, tuple], repeat: int = 21) -> dict[str, dict[str, float]]:
    """Median ms of each URL on each app; the apps take turns, so machine noise hits both alike."""
    out: dict[str, dict[str, float]] = {}
    for label, url in URLS:
        samples: dict[str, list[float]] = {name: [] for name in apps}
        for _ in range(repeat + 1):
            for name, (client, headers) in apps.items():
                hdrs = headers if url.startswith("/api/") else {}
                started = time.perf_counter()
                response = client.get(url, headers=hdrs)
                samples[name].append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (url, response.status_code)
        out[label] = {name: statistics.median(s[1:]) for name, s in samples.items()}  # s[0]: warm-up
    return out


def grow(target: int) -> float:
    admin = db.session.scalar(sa.select(User).where(User.role == Role.admin))
    sups = db.session.scalars(sa.select(User.username).where(User.role == Role.supervisor)).all()
    have = db.session.scalar(sa.select(sa.func.count(Project.id)))
    stages = ["招商签约", "审批落地开工", "工程建设实施", "验收结算资金"]
    words = ["产业园", "道路提质", "污水处理", "学校", "医院", "物流园", "安置房", "光伏电站"]
    lines = ["项目编号,项目名称,项目级别,项目类别,总投资（万元）,责任单位,当前阶段,纪检监察员"]
    for i in range(target - have):
        lines.append(f"BENCH{i:05d},衡东县{words[i % len(words)]}{i}号,县重点,产业项目,\"{(i % 900 + 1) * 37:,}\","
                     f"县发改局,{stages[i % 4]},{sups[i % len(sups)]}")
    data = "\n".join(lines).encode("utf-8")
    started = time.perf_counter()
    result = importer.import_projects(admin, "bench.csv", data)
    assert result.ok, result.errors[:5]
    db.session.commit()
    elapsed = time.perf_counter() - started
    # three problems a project, a third of them overdue, straight into the table (bench only)
    dept = db.session.scalar(sa.select(Department.id))
    ids = db.session.scalars(sa.select(Project.id).where(Project.code.like("BENCH%"))).all()
    today, now = local_today(), utcnow()
    rows = []
    for n, pid in enumerate(ids):
        for k in range(3):
            overdue = (n + k) % 3 == 0
            rows.append({"project_id": pid, "stage": "construction", "title": "基准问题",
                         "description": "", "source": "other", "status": "assigned",
                         "department_id": dept, "handling_class": 5, "escalation": 0,
                         "due_on": today - timedelta(days=3) if overdue else today + timedelta(days=5),
                         "created_at": now, "updated_at": now, "version": 1})
    db.session.execute(sa.insert(Problem), rows)
    db.session.commit()
    return elapsed


def make_app(url: str, schema: str | None):
    options = {"connect_args": {"options": f"-csearch_path={schema}"}} if schema else {}
    if schema:
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        engine.dispose()
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, SQLALCHEMY_ENGINE_OPTIONS=options)
    with app.app_context():
        db.create_all()
        demo.load()
        db.session.commit()
    client = app.test_client()
    client.post("/login", data={"username": "admin", "password": demo.DEMO_PASSWORD})
    token = client.post("/api/v1/tokens", json={"username": "admin",
                                                "password": demo.DEMO_PASSWORD}).get_json()["token"]
    return app, client, {"Authorization": f"Bearer {token}"}


def main() -> None:
    pg = os.environ.get("BENCH_DATABASE_URL")
    tmp = tempfile.mkdtemp()
    # Two databases side by side (PostgreSQL: two schemas of the one database).
    small = make_app(pg or f"sqlite:///{tmp}/small.sqlite", "bench_small" if pg else None)
    large = make_app(pg or f"sqlite:///{tmp}/large.sqlite", "bench_large" if pg else None)
    with large[0].app_context():
        imported = grow(10_000)
        count = db.session.scalar(sa.select(sa.func.count(Project.id)))
        problems = db.session.scalar(sa.select(sa.func.count(Problem.id)))
    figures = timings({"84": small[1:], "10000": large[1:]})
    print(f"database: {(pg or 'sqlite').split(':')[0]}; import of {count - 84} projects through the "
          f"importer: {imported:.2f} s; {problems} problems in the large one")
    print(f"{'request':40} {'84 projects':>12} {'10,000':>10}   (median ms, taking turns)")
    for label, row in figures.items():
        print(f"{label:40} {row['84']:12.1f} {row['10000']:10.1f}")
    if pg:
        engine = sa.create_engine(pg)
        with engine.begin() as conn:
            for schema in ("bench_small", "bench_large"):
                conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        engine.dispose()


if __name__ == "__main__":
    main()
