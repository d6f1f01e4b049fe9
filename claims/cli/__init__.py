"""The ``claims`` command line: the only layer that knows Click.

Each command group lives in its own module; every command reaches the database through
:class:`claims.api.Tracker`, imported lazily so that ``claims --help`` stays fast.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click
from click.exceptions import NoArgsIsHelpError

from claims import __version__
from claims.cli import audit, claims_cmds, completion, config, reading, registry, report, schema, similar
from claims.cli.context import Settings, origin
from claims.cli.errors import Explained, OneLineUsageError, translate


class ClaimsGroup(click.Group):
    """The root group: turns ClaimsError and database failures into one line and exit 1, a
    mistake in the command line itself into one line and exit 2, and a reader that closes the
    pipe early (``| head``) into a quiet exit 0."""

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as error:  # an option of the group itself (``claims --nope``)
            raise _shown(error) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as error:
            raise _shown(error) from None
        except click.ClickException as error:
            notes = getattr(error, "__notes__", None)  # Click would show the message alone
            if notes:
                raise Explained(error.format_message(), [], notes) from None
            raise
        except BrokenPipeError:  # `claims log | head`: the reader had enough, which is no error
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more to flush
            sys.exit(0)
        except Exception as error:
            shown = translate(error)
            if shown is None:
                raise
            raise shown from None


def _shown(error: click.UsageError) -> click.UsageError:
    """A mistake in the command line, in one line; but a group given nothing to do (``claims``,
    ``claims db``) shows its help, as Click does."""
    return error if isinstance(error, NoArgsIsHelpError) else OneLineUsageError(error)


@click.group(cls=ClaimsGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    envvar="CLAIMS_DATABASE_URL",
    metavar="URL_OR_PATH",
    help="Database: an SQLite path (default ./claims.db) or postgresql+psycopg://… [env: CLAIMS_DATABASE_URL]",
)
@click.option(
    "--as-user",
    "user",
    envvar="CLAIMS_USER",
    metavar="NAME",
    help="Recorder written on every event [env: CLAIMS_USER; default: your login].",
)
@click.option("--quiet", "-q", is_flag=True, help="No messages or progress on standard error; errors still show.")
@click.version_option(__version__, prog_name="claims")
@click.pass_context
def cli(ctx: click.Context, db: str | None, user: str | None, quiet: bool) -> None:
    """Track who asserted what, when, and through which source.

    \b
    Example:
      claims init
      claims import seeds/g20-new-delhi-2023-03-02.yaml
      claims compare russia united-states
    """
    # An empty value would otherwise pass for no value at all (the default database, the login
    # name) while `claims config` said it came from the flag: a mistake, most often an unset
    # shell variable (`--db "$DB"`). An empty environment variable is no value, as Click reads it.
    if db is not None and not db.strip():  # blanks too: a file named " " is no one's intent
        raise click.ClickException("--db needs a database path or URL, not an empty one")
    if user == "":
        raise click.ClickException("--as-user needs a name, not an empty one")
    settings = Settings(db=db, user=user, quiet=quiet, db_from=origin(ctx, "db"), user_from=origin(ctx, "user"))
    ctx.obj = settings
    ctx.call_on_close(settings.close)


for module in (schema, registry, claims_cmds, reading, audit, report, similar, config, completion):
    module.register(cli)
# Every --party, --topic, --source, CLAIM … completes ids from the database (see claims.cli.completion).
completion.install(cli)


def main() -> None:
    cli(prog_name="claims")
