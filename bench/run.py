"""The benchmark: server time of the heavy pages and endpoints at several data sizes, on SQLite and
PostgreSQL, each beside its floor. Not part of `make test`.

    .venv/bin/python -m bench.run --sizes 1e4,1e5 --db sqlite,postgresql

For each database and size it seeds the bench database once (`flask db upgrade` + `flask seed-bench`,
kept for later runs: SQLite files in bench/results/, PostgreSQL databases bench_<size>), then times
each request in-process with the Flask test client (warm-up, then --repeat runs; median and p95),
and beside it the floor:

- sql: the heaviest statement the request ran, replayed as raw SQL (DBAPI cursor, same
  parameters) on the same database — "the same aggregate as one raw SQL statement";
- bare: a bare Flask JSON endpoint on the same app (request overhead).

Results go to bench/results/<db>_<size>.json; the table in docs/PERFORMANCE.md is rewritten
between its markers from every result file present (`--report-only` to just rewrite it).
"""
import argparse
import json
import os
import platform
import statistics
import subprocess  # nosec B404 - runs this repo's own flask CLI
import sys
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "bench" / "results"
DOC = ROOT / "docs" / "PERFORMANCE.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
PG_BASE = os.environ.get("BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1")
PROBLEMS_PER_PROJECT = 100  # a province: 10,000 projects for 10^6 problems
PASSWORD = "bench2026"  # nosec B105 - seed-bench's throw-away password


def size_of(text: str) -> int:
    return int(float(text))


def label_of(n: int) -> str:
    return f"1e{len(str(n)) - 1}" if str(n).strip("0") == "1" else str(n)


def url_for(db: str, n: int) -> str:
    if db == "sqlite":
        return f"sqlite:///{RESULTS / f'bench_{label_of(n)}.sqlite'}"
    return f"{PG_BASE}/bench_{label_of(n)}"


def flask_cli(url: str, *args: str) -> str:
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench"}
    out = subprocess.run([str(ROOT / ".venv/bin/flask"), "--app", "tracker", *args], cwd=ROOT,  # nosec B603
                         env=env, check=True, capture_output=True, text=True)
    return out.stdout.strip()


def ensure_seeded(db: str, n: int) -> dict:
    """Seed the bench database for size n unless it already holds n problems."""
    url = url_for(db, n)
    if db == "postgresql":
        admin = sa.create_engine(f"{PG_BASE}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                 {"n": f"bench_{label_of(n)}"})
            if not exists:
                conn.exec_driver_sql(f"CREATE DATABASE bench_{label_of(n)}")
        admin.dispose()
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            have = conn.scalar(sa.text("SELECT count(*) FROM problems"))
    except sa.exc.DBAPIError:
        have = None
    engine.dispose()
    if have is not None and have >= n:
        flask_cli(url, "db", "upgrade")  # a database kept from before a new migration
        return {"seeded": "kept", "seconds": None}
    if have:
        raise SystemExit(f"{url} holds {have} problems, not {n}: drop it and run again")
    started = time.perf_counter()
    flask_cli(url, "db", "upgrade")
    summary = flask_cli(url, "seed-bench", "--projects", str(max(1, n // PROBLEMS_PER_PROJECT)),
                        "--problems", str(n))
    # Planner statistics, as autovacuum (PostgreSQL) or a scheduled ANALYZE would have them in
    # production: without them a fresh bulk load guesses row counts and skips the right indexes.
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if db == "postgresql":
            # VACUUM also sets the visibility map that index-only scans (the capped list
            # counts) rely on, as autovacuum does after a bulk load in production.
            conn.exec_driver_sql("VACUUM ANALYZE")
            # As DEPLOY.md sets it: the figures' never-run correlated subplans inflate the cost
            # estimate past jit_above_cost, and JIT compiling then costs ~1 s a statement.
            conn.exec_driver_sql(f"ALTER DATABASE bench_{label_of(n)} SET jit = off")
        else:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    return {"seeded": summary, "seconds": round(time.perf_counter() - started, 1)}


class Statements:
    """Every statement a request runs (text and parameters), to replay the heaviest raw."""

    def __init__(self, engine):
        self.engine, self.seen = engine, []

    def __enter__(self):
        sa.event.listen(self.engine, "before_cursor_execute", self._before)
        return self

    def __exit__(self, *exc):
        sa.event.remove(self.engine, "before_cursor_execute", self._before)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        self.seen.append((statement, parameters))


def replay(engine, statement, parameters) -> float:
    """Seconds to run one statement raw and fetch its rows."""
    conn = engine.raw_connection()
    try:
        cursor = conn.cursor()
        started = time.perf_counter()
        cursor.execute(statement, parameters)
        if cursor.description:
            cursor.fetchall()
        elapsed = time.perf_counter() - started
        cursor.close()
        conn.rollback()
    finally:
        conn.close()
    return elapsed


def stats(samples: list[float]) -> dict:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return {"median": round(statistics.median(ms), 2), "p95": round(p95, 2), "n": len(ms)}


def build_app(url: str):
    from config import TestingConfig
    from tracker import create_app

    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url,
                     SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True})
    app.add_url_rule("/bench/bare", "bench_bare", lambda: {"ok": True})
    return app


def measure(db: str, n: int, repeat: int, only: list[str] | None = None) -> dict:
    from tracker.calendar import local_today
    from tracker.extensions import db as sadb
    from tracker.models import Department, Problem, Project, ProblemEvent, StoredPack

    seeded = ensure_seeded(db, n)
    app = build_app(url_for(db, n))
    client = app.test_client()
    assert client.post("/login", data={"username": "admin", "password": PASSWORD}).status_code == 302
    token = client.post("/api/v1/tokens", json={"username": "admin", "password": PASSWORD}
                        ).get_json()["token"]
    api = {"Authorization": f"Bearer {token}"}
    today = local_today()
    year_ago = (today - timedelta(days=365)).isoformat()
    with app.app_context():
        engine = sadb.engine
        counts = {"problems": sadb.session.scalar(sa.select(sa.func.count(Problem.id))),
                  "events": sadb.session.scalar(sa.select(sa.func.count(ProblemEvent.id))),
                  "projects": sadb.session.scalar(sa.select(sa.func.count(Project.id)))}
        # a problem with a long log, the same one for every run on this size
        busy = sadb.session.scalar(
            sa.select(ProblemEvent.problem_id).group_by(ProblemEvent.problem_id)
            .order_by(sa.func.count().desc(), ProblemEvent.problem_id).limit(1))
        project_id = sadb.session.scalar(sa.select(Project.id).order_by(Project.id).limit(1))
        department_id = sadb.session.scalar(sa.select(Department.id).order_by(Department.id).limit(1))

    cases = [("bare JSON endpoint", "GET", "/bench/bare", {}, None)]
    cases.append(("dashboard page", "GET", "/dashboard/", {}, "slow"))
    cases.append(("dashboard page, as of a year back", "GET", f"/dashboard/?as_of={year_ago}", {},
                  "slow"))
    for group in ("project", "stage", "department", "supervisor", "week"):
        cases.append((f"metrics closure by {group}", "GET",
                      f"/api/v1/metrics/closure?group_by={group}", api, None))
        cases.append((f"metrics closure by {group}, as of a year back", "GET",
                      f"/api/v1/metrics/closure?group_by={group}&as_of={year_ago}", api, None))
    cases += [
        ("problem list page, closed, page 1", "GET", "/problems/?status=closed", {}, None),
        ("problem list page, closed, page 100", "GET", "/problems/?status=closed&page=100", {}, None),
        ("problem list API, closed, page 1", "GET", "/api/v1/problems?status=closed", api, None),
        ("problem list API, closed, page 100", "GET",
         "/api/v1/problems?status=closed&page=100&per_page=30", api, None),
        ("problem page", "GET", f"/problems/{busy}", {}, None),
        ("problem API", "GET", f"/api/v1/problems/{busy}", api, None),
        ("transition (assign a fresh problem)", "POST", None, api, "transition"),
        ("weekly pack (last full week), produced", "GET", "/api/v1/reports/weekly", api,
         "fresh pack"),
        ("weekly pack (last full week), as stored", "GET", "/api/v1/reports/weekly", api, None),
    ]

    if only:
        cases = [c for c in cases if c[2] == "/bench/bare" or any(o in c[0] for o in only)]
    # fresh problems to assign, recorded through the API before timing
    fresh = []
    for _ in range(repeat + 1):
        r = client.post("/api/v1/problems", headers=api,
                        json={"project_id": project_id, "title": "基准计时问题"})
        assert r.status_code == 201, r.get_json()
        fresh.append(r.get_json()["id"])

    results = []
    for label, method, url, headers, kind in cases:
        reps = min(3, repeat) if kind in ("slow", "fresh pack") else repeat
        samples, floor = [], []
        statements = Statements(engine)
        for i in range(reps + 1):  # one warm-up run, which also records the statements
            if kind == "transition":
                pid = fresh.pop()
                target, body = (f"/api/v1/problems/{pid}/transitions",
                                {"action": "assign", "department_id": department_id,
                                 "handling_class": 5})
            else:
                target, body = url, None
            if kind == "fresh pack":  # nothing stored: the pack is produced (and stored)
                with app.app_context():
                    sadb.session.execute(sa.delete(StoredPack))
                    sadb.session.commit()
            capture = i == 0
            if capture:
                statements.__enter__()
            started = time.perf_counter()
            response = (client.post(target, json=body, headers=headers) if method == "POST"
                        else client.get(target, headers=headers))
            elapsed = time.perf_counter() - started
            if capture:
                statements.__exit__()
            assert response.status_code == 200, (label, response.status_code, response.data[:300])
            if i >= 1:
                samples.append(elapsed)
        row = {"label": label, "url": url, **stats(samples), "queries": len(statements.seen)}
        reads = [(s, p) for s, p in statements.seen if s.lstrip().upper().startswith(("SELECT", "WITH"))]
        if reads and kind != "transition" and url != "/bench/bare":
            with app.app_context():
                engine = sadb.engine
                once = [(replay(engine, s, p), s, p) for s, p in reads]
                _, heaviest, params = max(once, key=lambda t: t[0])
                for _ in range(reps):
                    floor.append(replay(engine, heaviest, params))
                row["sql_floor"] = stats(floor)["median"]
                row["sql_all"] = round(sum(t for t, _, _ in once) * 1000, 2)
                row["sql_heaviest"] = " ".join(heaviest.split())[:400]
        results.append(row)
        print(f"  {db:10} {label_of(n):4} {label:48} {row['median']:9.2f} ms  p95 {row['p95']:9.2f}"
              f"  sql floor {row.get('sql_floor', float('nan')):8.2f}  queries {row['queries']}",
              flush=True)
    return {"db": db, "size": n, "counts": counts, "seeding": seeded, "repeat": repeat,
            "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": machine(),
            "results": results}


def machine() -> str:
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (f"{os.cpu_count()} cores {cpu}; Python {platform.python_version()}; "
            f"SQLite {__import__('sqlite3').sqlite_version}")


def report() -> None:
    """Rewrite the measured part of docs/PERFORMANCE.md from every result file."""
    runs = [json.loads(p.read_text()) for p in sorted(RESULTS.glob("*.json"))]
    runs.sort(key=lambda r: (r["db"], r["size"]))
    lines = [BEGIN, ""]
    for db in ("sqlite", "postgresql"):
        mine = [r for r in runs if r["db"] == db]
        if not mine:
            continue
        sizes = [r["size"] for r in mine]
        lines.append(f"### {db}: " + ", ".join(
            f"{r['counts']['problems']:,} problems / {r['counts']['events']:,} events / "
            f"{r['counts']['projects']:,} projects (run {r['when']})" for r in mine))
        lines.append("")
        head = "| request | " + " | ".join(
            f"{label_of(s)} median / p95 ms | {label_of(s)} SQL floor ms | {label_of(s)} ×floor"
            for s in sizes) + " | largest ÷ smallest |"
        lines += [head, "|" + "---|" * (2 + 3 * len(sizes))]
        bare = {r["size"]: next(x for x in r["results"] if x["url"] == "/bench/bare")["median"]
                for r in mine}
        labels = list(dict.fromkeys(x["label"] for r in mine for x in r["results"]))
        for label in labels:
            cells, medians = [], []
            for r in mine:
                x = next((x for x in r["results"] if x["label"] == label), None)
                if x is None:
                    cells += ["—", "—", "—"]
                    continue
                medians.append(x["median"])
                floor = x.get("sql_floor")
                if x["url"] == "/bench/bare":
                    cells += [f"{x['median']:.2f} / {x['p95']:.2f}", "—", "—"]
                    continue
                ratio = (f"{x['median'] / (floor + bare[r['size']]):.2f}" if floor else "—")
                cells += [f"{x['median']:.1f} / {x['p95']:.1f}",
                          f"{floor:.1f}" if floor else "—", ratio]
            growth = f"{medians[-1] / medians[0]:.2f}" if len(medians) > 1 else "—"
            lines.append(f"| {label} | " + " | ".join(cells) + f" | {growth} |")
        lines.append("")
    before = {(r["db"], r["size"]): r for r in
              (json.loads(p.read_text()) for p in sorted((RESULTS / "before").glob("*.json")))}
    changed = [r for r in runs if (r["db"], r["size"]) in before]
    rows = []
    for r in changed:
        old = {x["label"]: x for x in before[(r["db"], r["size"])]["results"]}
        for x in r["results"]:
            o = old.get(x["label"])
            if o is None or x["url"] == "/bench/bare" or x == o:
                continue
            fmt = lambda y: (f"{y['median']:.1f}" + (f" ({y['sql_floor']:.1f})"  # noqa: E731
                                                      if y.get("sql_floor") else ""))
            rows.append(f"| {r['db']} | {label_of(r['size'])} | {x['label']} | {fmt(o)} | "
                        f"{fmt(x)} | {x['median'] / o['median']:.2f} |")
    if rows:
        lines += ["### Before → after (median ms; SQL floor in brackets)", "",
                  "| database | size | request | before | after | after ÷ before |",
                  "|---|---|---|---|---|---|", *rows, ""]
    lines += ["×floor = median ÷ (SQL floor + bare endpoint median). Machine: "
              + (runs[0]["machine"] if runs else "—"), "", END]
    text = DOC.read_text() if DOC.exists() else f"# Performance\n\n{BEGIN}\n{END}\n"
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    DOC.write_text(head + "\n".join(lines) + tail)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1e4,1e5")
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--only", help="remeasure only the requests whose label contains one of "
                                       "these comma-separated words (the rest of a result is kept)")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    if not args.report_only:
        for db in args.db.split(","):
            for n in map(size_of, args.sizes.split(",")):
                print(f"{db} {label_of(n)}: seeding / measuring", flush=True)
                only = [o for o in args.only.split(",") if o] if args.only else None
                out = measure(db, n, args.repeat, only)
                path = RESULTS / f"{db}_{label_of(n)}.json"
                if only and path.exists():  # remeasure some rows, keep the others
                    old = json.loads(path.read_text())
                    new = {r["label"]: r for r in out["results"]}
                    old["results"] = [new.get(r["label"], r) for r in old["results"]]
                    old["remeasured"] = {"when": out["when"], "labels": sorted(new)}
                    out = old
                path.write_text(json.dumps(out, ensure_ascii=False, indent=1))
    report()


if __name__ == "__main__":
    main()
