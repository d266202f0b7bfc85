"""Working days: the official Chinese calendar (chinese-calendar), admin's entries first,
Monday to Friday for years the package does not know yet."""
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar
import sqlalchemy as sa

TZ = ZoneInfo("Asia/Shanghai")


def local_today(now: datetime | None = None) -> date:
    """Today's date in Asia/Shanghai."""
    return (now or datetime.now(TZ)).astimezone(TZ).date()


def end_of_local_day(day: date) -> datetime:
    """The first instant after `day` ends in Asia/Shanghai (an exclusive bound)."""
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=TZ)


def package_knows(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


@lru_cache(maxsize=8192)
def official_workday(day: date) -> bool:
    """The package's answer (it never changes within a release), Monday–Friday past its years;
    remembered, as the figures ask about the same two years of days on every request."""
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5


class WorkCalendar:
    def __init__(self, overrides: Mapping[date, bool] | None = None):
        self.overrides = dict(overrides or {})

    def is_workday(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        return official_workday(day)

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after `start` (start itself does not count)."""
        day, counted = start, 0
        while counted < n:
            day += timedelta(days=1)
            if self.is_workday(day):
                counted += 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]; 0 when end is not after start."""
        if end <= start:
            return 0
        return sum(1 for i in range(1, (end - start).days + 1)
                   if self.is_workday(start + timedelta(days=i)))


def load_calendar(session) -> WorkCalendar:
    """The calendar with admin's entries (a small table) read from the database."""
    from .models import CalendarDay

    rows = session.execute(sa.select(CalendarDay.day, CalendarDay.is_workday)).all()
    return WorkCalendar({day: workday for day, workday in rows})
