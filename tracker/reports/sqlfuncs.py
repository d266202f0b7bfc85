"""Small SQL constructs that compile to the same meaning on SQLite and PostgreSQL.

Dates are compared as 'YYYY-MM-DD' text on both databases: ISO dates sort as text, SQLite keeps
them as text anyway, and JSON values (event data) come back as text. Asia/Shanghai has had no
daylight saving time since 1991, so on SQLite a fixed +8 hours is exact.
"""
import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement


class local_date(FunctionElement):  # noqa: N801 - reads as an SQL function
    """The Asia/Shanghai calendar date of a UTC timestamp, as 'YYYY-MM-DD' text."""

    type = sa.String()
    name = "local_date"
    inherit_cache = True


class local_week_start(FunctionElement):  # noqa: N801
    """The Monday (ISO week start) of a UTC timestamp's Asia/Shanghai date, as text."""

    type = sa.String()
    name = "local_week_start"
    inherit_cache = True


class date_text(FunctionElement):  # noqa: N801
    """A DATE column as 'YYYY-MM-DD' text."""

    type = sa.String()
    name = "date_text"
    inherit_cache = True


@compiles(local_date, "sqlite")
def _local_date_sqlite(element, compiler, **kw):
    return "date(%s, '+8 hours')" % compiler.process(element.clauses, **kw)


@compiles(local_date, "postgresql")
def _local_date_pg(element, compiler, **kw):
    return ("to_char((%s) AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD')"
            % compiler.process(element.clauses, **kw))


@compiles(local_week_start, "sqlite")
def _week_sqlite(element, compiler, **kw):
    # Back six days, then forward to the next Monday: the Monday on or before the date.
    return ("date(%s, '+8 hours', '-6 days', 'weekday 1')"
            % compiler.process(element.clauses, **kw))


@compiles(local_week_start, "postgresql")
def _week_pg(element, compiler, **kw):
    return ("to_char(date_trunc('week', (%s) AT TIME ZONE 'Asia/Shanghai'), 'YYYY-MM-DD')"
            % compiler.process(element.clauses, **kw))


@compiles(date_text, "sqlite")
def _date_text_sqlite(element, compiler, **kw):
    return "date(%s)" % compiler.process(element.clauses, **kw)


@compiles(date_text, "postgresql")
def _date_text_pg(element, compiler, **kw):
    return "to_char(%s, 'YYYY-MM-DD')" % compiler.process(element.clauses, **kw)


class json_entries(FunctionElement):  # noqa: N801
    """The (key, value) pairs of a JSON object given as text, as a table-valued function:
    `json_entries(text).table_valued("key", "value")`. Values come back as text on PostgreSQL."""

    name = "json_entries"
    inherit_cache = True


@compiles(json_entries, "sqlite")
def _json_entries_sqlite(element, compiler, **kw):
    return "json_each(%s)" % compiler.process(element.clauses, **kw)


@compiles(json_entries, "postgresql")
def _json_entries_pg(element, compiler, **kw):
    return "json_each_text(CAST(%s AS json))" % compiler.process(element.clauses, **kw)
