"""A large synthetic data set for benchmarks (`flask seed-bench`): bulk inserts, no ORM objects.

Problems are spread over the two years before today and walk the closed loop with plausible
delays — record, assign (with the "1510" due date in working days), accept, report, close, some
reopened and closed again, some withdrawn, extensions and escalations — stopping where "now"
falls, so every state is present and every problem carries the full event log the figures read.
Rows go in with executemany in chunks; a million problems take minutes, not hours.
"""
import bisect
import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from types import SimpleNamespace

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from ..calendar import TZ, load_calendar, local_today
from ..extensions import db
from ..models import (Action, Department, Problem, ProblemEvent, ProblemStatus, Project,
                      SupervisorAssignment, User, Visit, utcnow)
from .demo import DEPARTMENTS, PROBLEMS, database_is_empty

BENCH_PASSWORD = "bench2026"  # nosec B105 - a throw-away benchmark database
CHUNK = 5_000
DAYS = 730
STAGES = ["signing", "approval", "construction", "acceptance"]
SATISFACTION = ["very_satisfied"] * 3 + ["satisfied"] * 5 + ["basic"] * 2
SOURCES = ["visit", "checklist", "complaint", "department_report", "other"]
TITLES = [title for stage in PROBLEMS.values() for title, _code in stage]


class BenchError(Exception):
    pass


class _Workdays:
    """Working days as a sorted list, so "n working days after" is a bisect, not a loop."""

    def __init__(self, first: date, last: date):
        calendar = load_calendar(db.session)
        self.days = [first + timedelta(days=i) for i in range((last - first).days + 1)
                     if calendar.is_workday(first + timedelta(days=i))]

    def after(self, day: date, n: int) -> date:
        i = bisect.bisect_right(self.days, day) + n - 1
        return self.days[min(i, len(self.days) - 1)]


def _insert(table, rows: list[dict]) -> None:
    for i in range(0, len(rows), CHUNK):
        db.session.execute(sa.insert(table), rows[i:i + CHUNK])


def seed(projects: int, problems: int, seed: int = 9, today: date | None = None) -> str:
    """Fill an empty database; returns a one-paragraph summary. Flushes, never commits."""
    if projects < 1 or problems < 0:
        raise BenchError("--projects must be at least 1 and --problems not negative")
    if not database_is_empty():
        raise BenchError("the database is not empty; seed-bench fills an empty one")
    rng = random.Random(seed)  # nosec B311 - synthetic data
    now = utcnow()
    today = today or local_today(now)
    start = today - timedelta(days=DAYS)
    workdays = _Workdays(start, today + timedelta(days=400))
    password = generate_password_hash(BENCH_PASSWORD)

    n_departments = max(len(DEPARTMENTS), projects // 50)
    departments = [{"id": i + 1, "code": code, "name": name, "active": True, "version": 1}
                   for i, (code, name) in enumerate(DEPARTMENTS)]
    departments += [{"id": i + 1, "code": f"BD{i + 1:05d}", "name": f"基准责任单位{i + 1}",
                     "active": True, "version": 1}
                    for i in range(len(DEPARTMENTS), n_departments)]
    _insert(Department.__table__, departments)

    n_supervisors = max(12, projects // 7)
    created = datetime.combine(start - timedelta(days=30), time(1), tzinfo=TZ)
    users = [{"id": 1, "username": "admin", "name": "基准管理员", "role": "admin"},
             {"id": 2, "username": "leader", "name": "基准县领导", "role": "viewer"}]
    users += [{"id": 3 + i, "username": f"jjy{i + 1:05d}", "name": f"纪检监察员{i + 1}",
               "role": "supervisor"} for i in range(n_supervisors)]
    first_liaison = 3 + n_supervisors
    users += [{"id": first_liaison + i, "username": f"dept{i + 1:05d}",
               "name": f"{d['name']}联络员", "role": "department", "department_id": d["id"]}
              for i, d in enumerate(departments)]
    for user in users:
        user.setdefault("department_id", None)
        user.update(password_hash=password, active=True, must_change_password=False,
                    created_at=created, session_epoch=0, version=1)
    _insert(User.__table__, users)

    project_rows, assignments = [], []
    for i in range(projects):
        project_rows.append({
            "id": i + 1, "code": f"BX{i + 1:06d}", "name": f"基准重点项目{i + 1}",
            "level": rng.choice(["provincial", "municipal", "county", "county"]),
            "category": rng.choice(["产业项目", "基础设施", "社会民生", "能源项目"]),
            "investment_wan": Decimal(rng.randint(500, 500_000)), "responsible_unit": "",
            "owner": "", "location": "", "quiet_days_apply": False,
            "stage": rng.choice(STAGES + ["completed"] if i % 10 == 0 else STAGES),
            "created_at": created, "version": 1})
        assignments.append({"project_id": i + 1, "user_id": 3 + i % n_supervisors,
                            "started_at": created, "note": ""})
    _insert(Project.__table__, project_rows)
    _insert(SupervisorAssignment.__table__, assignments)

    problem_rows, events = [], []
    counts: dict[str, int] = {}
    for pid in range(1, problems + 1):
        project = project_rows[rng.randrange(projects)]
        row, log = _walk(rng, pid, project, departments, workdays, start, now)
        problem_rows.append(row)
        events.extend(log)
        counts[row["status"]] = counts.get(row["status"], 0) + 1
        if len(events) >= 4 * CHUNK:
            _insert(Problem.__table__, problem_rows)
            _insert(ProblemEvent.__table__, events)
            problem_rows, events = [], []
    _insert(Problem.__table__, problem_rows)
    _insert(ProblemEvent.__table__, events)

    visits = []
    per_project = max(1, min(100, problems // projects))
    for project in project_rows:
        for _ in range(per_project):
            day = start + timedelta(days=rng.randrange(DAYS + 1))
            visits.append({"project_id": project["id"],
                           "supervisor_id": 3 + (project["id"] - 1) % n_supervisors,
                           "visited_on": day, "kind": rng.choice(["routine"] * 4 + ["revisit"]),
                           "stage": project["stage"], "people_met": "", "summary": "日常监督",
                           "far_from_site": False, "created_at": _at(day, 15)})
            if len(visits) >= CHUNK:
                _insert(Visit.__table__, visits)
                visits = []
    _insert(Visit.__table__, visits)
    _reset_sequences()
    db.session.flush()
    states = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    return (f"seeded {projects} projects, {len(departments)} departments, {n_supervisors} "
            f"supervisors, {problems} problems ({states}); logins admin / leader / jjy00001 / "
            f"dept00001, password {BENCH_PASSWORD}")


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=TZ)


def _chained(event: dict, previous: str | None) -> dict:
    """The event row with its place in the problem's hash chain, hashed by the model's own code
    (on a light stand-in, not an ORM object) so `flask verify-log` accepts it."""
    stand_in = SimpleNamespace(
        problem_id=event["problem_id"], action=Action(event["action"]),
        from_status=ProblemStatus(event["from_status"]) if event["from_status"] else None,
        to_status=ProblemStatus(event["to_status"]), actor_id=event["actor_id"], at=event["at"],
        comment=event["comment"], data=event["data"], prev_hash=previous)
    stand_in.content = lambda: ProblemEvent.content(stand_in)
    event.update(prev_hash=previous, hash=ProblemEvent.compute_hash(stand_in))
    return event


def _walk(rng, pid, project, departments, workdays: _Workdays, start: date, now: datetime):
    """One problem's life up to now: its row and its events."""
    born = _at(start + timedelta(days=rng.randrange(DAYS + 1)), rng.randint(8, 17),
               rng.randrange(60))
    row = {"id": pid, "project_id": project["id"],
           "stage": project["stage"] if project["stage"] != "completed" else "acceptance",
           "title": rng.choice(TITLES), "description": "", "source": rng.choice(SOURCES),
           "handling_class": None, "status": "open", "department_id": None, "due_on": None,
           "original_due_on": None, "escalation": 0, "satisfaction": None, "plan": None,
           "extension_requested_on": None, "created_by_id": 1, "created_at": born,
           "assigned_at": None, "closed_at": None, "updated_at": born, "version": 1}
    log = [_chained({"problem_id": pid, "action": "record", "from_status": None,
                     "to_status": "open", "actor_id": 1, "at": born, "comment": row["title"],
                     "data": {"source": row["source"]}}, None)]
    clock = born

    def later(hours_low: float, hours_high: float) -> datetime:
        return clock + timedelta(hours=rng.uniform(hours_low, hours_high))

    def step(action, to, at: datetime, **data) -> bool:
        """Append the event unless its time is still to come."""
        nonlocal clock
        if at >= now:
            return False
        log.append(_chained({"problem_id": pid, "action": action, "from_status": row["status"],
                             "to_status": to, "actor_id": 1, "at": at, "comment": "",
                             "data": data}, log[-1]["hash"]))
        row["status"], row["updated_at"], row["version"] = to, at, row["version"] + 1
        clock = at
        return True

    if rng.random() < 0.05:
        step("withdraw", "withdrawn", later(2, 72))
        return row, log
    handling_class = rng.choice([1, 5, 5, 5, 10])
    department = departments[rng.randrange(len(departments))]["id"]
    at = later(1, 72)
    due = workdays.after(at.astimezone(TZ).date(), handling_class)
    if not step("assign", "assigned", at, department_id=department,
                handling_class=handling_class, due_on=due.isoformat(), co_department_ids=[]):
        return row, log
    row.update(department_id=department, handling_class=handling_class, due_on=due,
               original_due_on=due, assigned_at=at)
    at = later(2, 96)
    data = {"late": at.astimezone(TZ).date() > due}
    if handling_class == 10:
        due = at.astimezone(TZ).date() + timedelta(days=rng.randint(10, 40))
        data.update(plan="整改方案", planned_on=due.isoformat(), due_on=due.isoformat())
    if not step("accept", "rectifying", at, **data):
        return row, log
    if handling_class == 10:
        row.update(due_on=due, original_due_on=due, plan="整改方案")
    if rng.random() < 0.08:
        wanted = due + timedelta(days=rng.randint(5, 20))
        if not step("request_extension", "rectifying", later(4, 48),
                    requested_due_on=wanted.isoformat()):
            return row, log
        row["extension_requested_on"] = wanted
        if not step("decide_extension", "rectifying", later(4, 72), approve=True,
                    requested_due_on=wanted.isoformat(), due_on=wanted.isoformat()):
            return row, log
        row.update(due_on=wanted, extension_requested_on=None)
    for attempt in range(3):
        if not step("report", "rectified", later(24, 24 * (6 if attempt == 0 else 10))):
            break
        if rng.random() < 0.12:
            if not step("reopen", "rectifying", later(24, 96)):
                break
            continue
        rating = rng.choice(SATISFACTION)
        if not step("close", "closed", later(24, 120), satisfaction=rating):
            break
        row.update(satisfaction=rating, closed_at=clock)
        if rng.random() < 0.03 and step("reopen", "rectifying", later(24 * 7, 24 * 40)):
            row.update(satisfaction=None, closed_at=None)
            continue
        break
    if row["status"] not in ("closed", "withdrawn") and row["due_on"] < now.astimezone(TZ).date() \
            and rng.random() < 0.1 and step("escalate", row["status"], later(24, 24 * 10), level=1):
        row["escalation"] = 1
    return row, log


def _reset_sequences() -> None:
    """Explicit ids bypass PostgreSQL's sequences; move them past the rows inserted."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for table in ("departments", "users", "projects", "problems"):
        # The table names are the fixed literals above, never input.
        statement = f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 1))"  # nosec B608  # noqa: E501
        db.session.execute(sa.text(statement))
