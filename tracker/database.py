"""Engine set-up per database: SQLite gets foreign keys, WAL, a busy timeout and write locks
taken at the start of a write transaction; PostgreSQL sessions run without JIT."""
import sqlalchemy as sa
from flask import has_request_context, request
from sqlalchemy.engine import Engine

READ_METHODS = ("GET", "HEAD", "OPTIONS")


def configure_engine(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        @sa.event.listens_for(engine, "connect")
        def _no_jit(dbapi_connection, _record):
            # The figures' as-of queries carry subplans that rarely run but push the cost estimate
            # past jit_above_cost; compiling them costs ~1 s a statement (measured, docs/DEPLOY.md).
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SET jit = off")
            dbapi_connection.commit()
        return
    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy issue BEGIN itself (below) instead of pysqlite's deferred BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 10000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection):
        # A request that may write takes the write lock up front with BEGIN IMMEDIATE, so two
        # writers queue on the busy timeout instead of one failing with "database is locked"
        # halfway through. Reads (and commands outside a request) begin deferred; under WAL
        # readers never block the writer.
        if has_request_context() and request.method not in READ_METHODS:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")
