"""Consistent copies of the database while the app runs: SQLite's online backup API, or
pg_dump (custom format, one consistent snapshot) for PostgreSQL."""
import shutil
import sqlite3
# Only pg_dump is run, with a fixed argument list and no shell.
import subprocess  # nosec B404
from pathlib import Path

from sqlalchemy.engine import Engine, make_url


class BackupError(RuntimeError):
    pass


def backup(engine: Engine, out: Path) -> str:
    url = engine.url
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise BackupError("an in-memory SQLite database cannot be backed up")
        source = sqlite3.connect(f"file:{url.database}?mode=ro", uri=True)
        target = sqlite3.connect(out)
        try:
            with target:
                source.backup(target)  # page by page, consistent even while others write
        finally:
            source.close()
            target.close()
        return f"SQLite online backup written to {out}"
    if url.get_backend_name() == "postgresql":
        pg_dump = shutil.which("pg_dump")
        if pg_dump is None:
            raise BackupError("pg_dump not found; install the PostgreSQL client (see README)")
        plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        args = [pg_dump, "--format=custom", "--no-owner", f"--file={out}", plain]
        done = subprocess.run(args, capture_output=True, text=True)  # nosec B603
        if done.returncode != 0:
            raise BackupError(done.stderr.strip() or "pg_dump failed")
        return f"pg_dump (custom format) written to {out}; restore with pg_restore -d DB {out}"
    raise BackupError(f"no backup method for {url.get_backend_name()}")
