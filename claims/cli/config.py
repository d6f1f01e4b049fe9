"""``claims config``: the settings in force, and where each came from (flag, environment or default)."""

from __future__ import annotations

import click

from claims.cli.context import Settings, pass_settings
from claims.cli.output import format_option, render

_ORIGINS = {
    "db": {"flag": "--db", "env": "CLAIMS_DATABASE_URL", "default": "default (./claims.db)"},
    "user": {"flag": "--as-user", "env": "CLAIMS_USER", "default": "default (your login name)"},
}


@click.command()
@format_option
@pass_settings
def config(settings: Settings, fmt: str | None) -> None:
    """Show the database and recorder in force, and where each came from.

    Each is taken from its flag, else its environment variable, else the default. A password in the
    database URL is shown as ***.

    \b
    Example:
      claims config
      CLAIMS_DATABASE_URL=postgresql+psycopg://ana:secret@db/claims claims config --format json
    """
    opened = settings.tracker()
    url = opened.display_url()
    database = {"value": url, "from": _ORIGINS["db"][settings.db_from]}
    if (file := opened.database_file()) is not None:
        database["note"] = "" if file.exists() else "no such file yet: run `claims init`"
    recorder = {"value": opened.user, "from": _ORIGINS["user"][settings.user_from]}
    rows = [{"setting": "database", **database}, {"setting": "recorder", **recorder}]
    render(fmt, rows, ("setting", "value", "from", "note"), json_data={"database": database, "recorder": recorder})


def register(group: click.Group) -> None:
    group.add_command(config)
