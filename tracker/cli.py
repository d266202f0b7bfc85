"""flask commands; each one a few lines around a service."""
import click
from flask import Flask

from .extensions import db


def register(app: Flask) -> None:
    @app.cli.command("create-user")
    @click.argument("username")
    @click.option("--role", required=True,
                  type=click.Choice(["admin", "supervisor", "department", "viewer"]))
    @click.option("--department", "department_code", help="department code (department users)")
    @click.option("--password", help="asked for when not given")
    @click.option("--name", default="", help="display name")
    def create_user(username, role, department_code, password, name):
        """Create a user."""
        from .services.users import UserError, create_user as create

        if password is None:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        try:
            user = create(username, role, password, name=name, department_code=department_code)
        except UserError as error:
            db.session.rollback()
            raise click.ClickException(error.message) from None
        db.session.commit()
        click.echo(f"created user {user.username} ({user.role.value})")

    @app.cli.command("backup")
    @click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
                  help="file to write")
    def backup_command(out):
        """A consistent copy of the database while the app runs."""
        from .services.backup import BackupError, backup

        try:
            click.echo(backup(db.engine, out))
        except BackupError as error:
            raise click.ClickException(str(error)) from None

    @app.cli.command("verify-log")
    def verify_log():
        """Check the hash chain of every problem's event log; name the first broken link."""
        from .services.integrity import verify_chain

        report = verify_chain()
        if not report.ok:
            raise click.ClickException(
                f"broken link at problem event {report.broken_event_id}: {report.reason} "
                f"(after {report.events - 1} good events)")
        click.echo(f"ok: {report.events} events of {report.problems} problems verified")

    @app.cli.command("send-reminders")
    @click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), default=None,
                  help="the day to remind for (default: today in Asia/Shanghai)")
    def send_reminders(day):
        """Remind whoever holds the ball of problems due within one working day or overdue
        (in the app, and by e-mail when MAIL_SERVER is set); run daily, repeats nothing."""
        import smtplib

        from flask import current_app

        from .services import reminders

        today = day.date() if day else None
        run = reminders.create_reminders(today)
        db.session.commit()
        click.echo(f"{run.day.isoformat()}: {len(run.created)} reminders to {run.recipients} "
                   f"people ({run.skipped} already sent today)")
        try:
            emailed = reminders.email_pending(current_app.config, run.day)
        except (smtplib.SMTPException, OSError) as error:
            db.session.commit()  # keep the marks of the messages that did go out
            raise click.ClickException(f"e-mail failed: {error}") from None
        db.session.commit()
        if current_app.config.get("MAIL_SERVER"):
            click.echo(f"{emailed} e-mail messages sent")

    @app.cli.command("demo-data")
    @click.option("--force", is_flag=True, help="replace whatever the database holds")
    @click.option("--if-empty", is_flag=True, help="do nothing (and succeed) when not empty")
    def demo_data(force, if_empty):
        """Load the demo county: 84 key projects, people, three months of history."""
        from .services import demo

        if not force and not demo.database_is_empty():
            if if_empty:
                click.echo("the database already holds data; demo data not loaded\n"
                           + demo.demo_logins())
                return
            raise click.ClickException(
                "the database is not empty; use --force to replace it with the demo data")
        summary = demo.load(force=force)
        db.session.commit()
        click.echo(summary)

    @app.cli.command("import-projects")
    @click.argument("file", type=click.Path(dir_okay=False))
    @click.option("--update", is_flag=True, help="update projects whose code exists")
    @click.option("--user", "username", help="the admin recorded as importing (default: the first)")
    @click.option("--template", is_flag=True,
                  help="write the import template workbook to FILE instead of importing")
    def import_projects_command(file, update, username, template):
        """Import key projects from .xlsx or .csv: all rows or none."""
        from pathlib import Path

        from flask_babel import gettext

        from .services import importer, projects

        if template:
            Path(file).write_bytes(importer.template_workbook())
            click.echo(f"wrote the import template to {file}")
            return
        try:
            data = Path(file).read_bytes()
        except OSError as error:
            raise click.ClickException(f"cannot read {file}: {error.strerror}") from None
        actor = projects.import_actor(username)
        if actor is None:
            raise click.ClickException("no active admin user" + (f" named {username}" if username else "")
                                       + "; create one with create-user --role admin")
        result = importer.import_projects(actor, Path(file).name, data, update=update)
        if not result.ok:
            db.session.rollback()
            for error in result.errors:
                click.echo(str(error), err=True)
            raise click.ClickException(gettext("%(n)s 处错误，未导入任何项目", n=len(result.errors)))
        db.session.commit()
        click.echo(f"imported {result.rows} rows: {result.created} created, {result.updated} updated, "
                   f"{result.unchanged} unchanged")

    @app.cli.command("export-weekly")
    @click.option("--week", help="ISO week such as 2026-W47 (default: the last full week)")
    @click.option("--out", "out_dir", default=".", show_default=True,
                  type=click.Path(file_okay=False), help="directory to write the files to")
    def export_weekly(week, out_dir):
        """Write the weekly charts (PNG), PDF report and Excel ledger of an ISO week."""
        from pathlib import Path

        from .reports import metrics, stored

        try:
            monday = metrics.parse_iso_week(week) if week else metrics.last_full_week()
        except ValueError:
            raise click.BadParameter("expected an ISO week such as 2026-W47",
                                     param_hint="--week") from None
        week, pack = stored.weekly_zip(None, monday)
        target = Path(out_dir)
        target.mkdir(parents=True, exist_ok=True)
        for name, data in stored.files_of(week, pack).items():
            (target / name).write_bytes(data)
            click.echo(str(target / name))

    @app.cli.command("seed-bench")
    @click.option("--projects", type=click.IntRange(min=1), default=10_000, show_default=True)
    @click.option("--problems", type=click.IntRange(min=0), default=1_000_000, show_default=True)
    @click.option("--seed", type=int, default=9, show_default=True, help="random seed")
    def seed_bench(projects, problems, seed):
        """Fill an empty database with a large synthetic history for benchmarks."""
        from .services import bench

        try:
            summary = bench.seed(projects, problems, seed=seed)
        except bench.BenchError as error:
            db.session.rollback()
            raise click.ClickException(str(error)) from None
        db.session.commit()
        click.echo(summary)
