"""``claims init`` and ``claims db …``: the schema, through the migrations shipped in the package."""

from __future__ import annotations

import click

from claims.cli.context import tracker
from claims.cli.output import count_of, message, warning


@click.command()
def init() -> None:
    """Create the database, or upgrade it to the newest schema.

    \b
    Example:
      claims --db claims.db init
      claims --db postgresql+psycopg://postgres@127.0.0.1/claims init
    """
    revision = tracker().init()
    message(f"database ready at {tracker().display_url()} (schema {revision})")
    warn_of_claims_to_fold_again(revision)


def warn_of_claims_to_fold_again(revision: str | None) -> None:
    """Say, once the schema is at the code's revision, how many claims still have the status the
    projections folded before migration 0006 ordered a claim's acts of one day by their instants,
    and what folds them again (``Tracker.claims_folded_in_written_order``)."""
    from claims.store.schema import SCHEMA_REVISIONS  # not for `--help`, which imports no SQLAlchemy

    if revision != SCHEMA_REVISIONS[-1]:
        return
    count = tracker().claims_folded_in_written_order()
    if count:
        warning(
            f"{count_of(count, 'claim')} had {'its' if count == 1 else 'their'} acts of one day folded in the order "
            "written, not in the order of their times: run `claims projections rebuild` to give "
            f"{'it its' if count == 1 else 'them their'} status in time order"
        )


@click.group()
def db() -> None:
    """Run the schema migrations by hand (for operators).

    \b
    Example:
      claims db current
      claims db downgrade base
    """


@db.command()
@click.argument("revision", default="head")
def upgrade(revision: str) -> None:
    """Upgrade the schema to REVISION (default: head).

    \b
    Example:
      claims db upgrade
    """
    reached = tracker().upgrade(revision)
    message(f"schema at {reached}")
    warn_of_claims_to_fold_again(reached)


@db.command()
@click.argument("revision")
def downgrade(revision: str) -> None:
    """Downgrade the schema to REVISION (``base`` removes every table, the log included).

    \b
    Example:
      claims db downgrade base
    """
    message(f"schema at {tracker().downgrade(revision) or 'base (empty)'}")


@db.command()
def current() -> None:
    """Print the schema revision the database is at.

    \b
    Example:
      claims db current
    """
    now, newest = tracker().schema_revisions()
    click.echo(f"{now or 'base'}{' (head)' if now == newest else f' (head is {newest})'}")


@db.command()
def history() -> None:
    """List the schema revisions, newest first.

    \b
    Example:
      claims db history
    """
    for revision, down, doc in tracker().schema_history():
        click.echo(f"{down or 'base'} -> {revision}: {doc.splitlines()[0] if doc else ''}")


@db.command("grant-writer")
@click.argument("role")
def grant_writer(role: str) -> None:
    """Let an existing PostgreSQL ROLE append to the log and read it, and nothing more.

    The role gets SELECT and INSERT on the event log (UPDATE, DELETE and TRUNCATE are revoked),
    read and write access to the projection tables (they are rebuilt from the log), CONNECT on
    the database and USAGE on the schema. Run it as the owner of the tables, and again after an
    upgrade adds a table.

    \b
    Example:
      psql -c "CREATE ROLE claims_app LOGIN PASSWORD '…'"
      claims --db postgresql+psycopg://owner@db/claims db grant-writer claims_app
    """
    statements = tracker().grant_writer(role)
    message(f"role {role} can now append to and read the log ({len(statements)} grants and revokes)")


def register(group: click.Group) -> None:
    group.add_command(init)
    group.add_command(db)
