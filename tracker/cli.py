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
