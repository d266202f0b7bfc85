"""Database guards for the append-only problem log: triggers refuse UPDATE and DELETE.

The same statements are run by the migration and, for databases made with create_all (tests), by
an after_create listener on the table."""
import sqlalchemy as sa

SQLITE = [
    "CREATE TRIGGER IF NOT EXISTS problem_events_no_update BEFORE UPDATE ON problem_events "
    "BEGIN SELECT RAISE(ABORT, 'problem_events is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS problem_events_no_delete BEFORE DELETE ON problem_events "
    "BEGIN SELECT RAISE(ABORT, 'problem_events is append-only'); END",
]
POSTGRESQL = [
    "CREATE OR REPLACE FUNCTION problem_events_append_only() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'problem_events is append-only'; END; $$ LANGUAGE plpgsql",
    "DROP TRIGGER IF EXISTS problem_events_append_only ON problem_events",
    "CREATE TRIGGER problem_events_append_only BEFORE UPDATE OR DELETE ON problem_events "
    "FOR EACH ROW EXECUTE FUNCTION problem_events_append_only()",
]


def install_event_guards(connection) -> None:
    statements = POSTGRESQL if connection.dialect.name == "postgresql" else SQLITE
    for statement in statements:
        connection.exec_driver_sql(statement)


def remove_event_guards(connection) -> None:
    """Only for wiping a whole database (`demo-data --force`); guards go back right after."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(
            "DROP TRIGGER IF EXISTS problem_events_append_only ON problem_events")
    else:
        connection.exec_driver_sql("DROP TRIGGER IF EXISTS problem_events_no_update")
        connection.exec_driver_sql("DROP TRIGGER IF EXISTS problem_events_no_delete")


def listen(table: sa.Table) -> None:
    sa.event.listen(table, "after_create",
                    lambda target, connection, **kw: install_event_guards(connection))
