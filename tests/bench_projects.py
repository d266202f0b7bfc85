"""Benchmark (not a test): the project list page and GET /api/v1/projects at 84 and 10,000 projects.

    .venv/bin/python tests/bench_projects.py                       # SQLite file in a temp dir
    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/DB .venv/bin/python tests/bench_projects.py

Loads the demo county (84 projects), times each request, then imports projects up to 10,000
(through the importer, so that is timed too) with three problems each and times them again.
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
    ("list page, page 40", "/projects/?page=40"),
    ("list, search 产业园", "/projects/?q=产业园"),
    ("list, overdue + stage", "/projects/?overdue=1&stage=construction"),
    ("list, sort by supervisor desc", "/projects/?sort=supervisor&dir=desc"),
    ("list, sort by investment", "/projects/?sort=investment&dir=desc&page=3"),
    ("API list", "/api/v1/projects"),
    ("API list, per_page 200", "/api/v1/projects?per_page=200"),
    ("API q + stage", "/api/v1/projects?q=产业&stage=construction"),
]


def timings(client, headers, repeat=15) -> dict[str, float]:
    out = {}
    for label, url in URLS:
        hdrs = headers if url.startswith("/api/") else {}
        client.get(url, headers=hdrs)  # warm
        samples = []
        for _ in range(repeat):
            started = time.perf_counter()
            response = client.get(url, headers=hdrs)
            samples.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        out[label] = statistics.median(samples)
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


def main() -> None:
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite"
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.create_all()
        demo.load()
        db.session.commit()
    client = app.test_client()
    client.post("/login", data={"username": "admin", "password": demo.DEMO_PASSWORD})
    token = client.post("/api/v1/tokens", json={"username": "admin",
                                                "password": demo.DEMO_PASSWORD}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    with app.app_context():
        small = timings(client, headers)
        imported = grow(10_000)
        count = db.session.scalar(sa.select(sa.func.count(Project.id)))
        problems = db.session.scalar(sa.select(sa.func.count(Problem.id)))
    large = timings(client, headers)
    print(f"database: {url.split(':')[0]}; import of {count - 84} projects: {imported:.2f} s; "
          f"{problems} problems at 10,000")
    print(f"{'request':34} {'84 projects':>12} {'10,000':>10}   (median ms)")
    for label in small:
        print(f"{label:34} {small[label]:12.1f} {large[label]:10.1f}")


if __name__ == "__main__":
    main()
