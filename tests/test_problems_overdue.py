"""The overdue age in working days: one walk over the calendar agrees with counting each span."""
import random
from datetime import date, timedelta
from types import SimpleNamespace

from tracker.calendar import WorkCalendar
from tracker.models import ProblemStatus
from tracker.services.problems import overdue_days


def test_one_walk_agrees_with_the_calendar_count_across_holidays_and_entries():
    calendar = WorkCalendar({date(2027, 1, 1): False, date(2027, 1, 4): True})
    rng = random.Random(2026)
    today = date(2027, 3, 1)
    problems = [SimpleNamespace(id=i, status=ProblemStatus.rectifying,
                                due_on=today - timedelta(days=rng.randint(1, 900)))
                for i in range(200)]
    problems += [SimpleNamespace(id=900, status=ProblemStatus.closed, due_on=date(2026, 1, 5)),
                 SimpleNamespace(id=901, status=ProblemStatus.open, due_on=None),
                 SimpleNamespace(id=902, status=ProblemStatus.assigned, due_on=today)]
    ages = overdue_days(problems, today, calendar)
    assert set(ages) == set(range(200)), "closed, undated and due-today problems are not overdue"
    for p in problems[:200]:
        assert ages[p.id] == calendar.working_days_between(p.due_on, today)
    # Due on a Friday, seen on Saturday: overdue with no working day of age yet.
    friday = SimpleNamespace(id=1, status=ProblemStatus.rectifying, due_on=date(2026, 3, 6))
    assert overdue_days([friday], date(2026, 3, 7), WorkCalendar()) == {1: 0}
