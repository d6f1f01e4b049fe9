"""Running the Alembic migrations that ship inside the package, against the application's URL.

Imported only by the commands that need it (``init``, ``db``), so queries never pay for Alembic.
"""

from __future__ import annotations

import io
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine

from claims.domain.errors import StorageError, ValidationError
from claims.store.engine import begin_write, use_write_ahead_log


def migrations_dir() -> Path:
    """Where the migrations are: ``claims/migrations`` when installed, ``alembic/`` in a checkout.

    They are found by path rather than imported: a top-level package named ``alembic`` would
    shadow the Alembic library itself.
    """
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "migrations", package.parent / "alembic"):
        if (candidate / "env.py").is_file():
            return candidate
    raise StorageError("the schema migrations are missing from this installation")


def alembic_config(engine: Engine) -> Config:
    """An Alembic config pointing at the packaged migrations, with the engine's URL."""
    config = Config(stdout=io.StringIO())
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return config


def _check_revision(revision: str) -> None:
    """Refuse a target naming no revision before anything is opened, so that not even an SQLite
    file is made for it: one naming nothing (``''``, ``@``, ``head@``: nothing after a branch's
    ``@``), on which Alembic would stop on an ``assert`` (a traceback) rather than say it cannot
    find the revision, and an identifier no migration has (``0009``, ``nope@head``). A relative
    target (``-1``, ``head+1``) can only be resolved against the database's revision, by Alembic."""
    if not revision or revision.endswith("@"):
        raise _not_a_revision(revision)
    named = [part for part in revision.split("@") if part and part not in ("head", "heads", "base")]
    script = ScriptDirectory(str(migrations_dir()))
    for part in named:
        if "+" in part or "-" in part:
            continue
        try:
            script.get_revisions(part)
        except CommandError:
            raise _not_a_revision(revision) from None


def _not_a_revision(revision: str) -> ValidationError:
    return ValidationError(f"not a schema revision: {revision!r} (`claims db history` lists them)")


def _from_revision_map(error: AssertionError) -> bool:
    """Whether ``error`` is one of the asserts Alembic's revision map makes on a target it cannot
    resolve (``head+1``, ``@@-1``), raised before any migration runs, rather than a failed assert
    of our own or of a migration, which stays a bug to see."""
    frames = traceback.extract_tb(error.__traceback__)
    return bool(frames) and Path(frames[-1].filename).match("alembic/script/revision.py")


@contextmanager
def locked(engine: Engine) -> Iterator[Connection]:
    """A connection in one transaction holding the log's write lock (``BEGIN IMMEDIATE`` on SQLite,
    the advisory lock on PostgreSQL), committed when the block ends without an error.

    Migrations run on it, so the lock is taken before Alembic reads the revision the database is at:
    two ``claims init`` at once then run one after the other, and the second finds the schema at head
    and does nothing, where both would otherwise create the same tables (a duplicate key on
    PostgreSQL, ``database is locked`` on SQLite). Appends wait for a migration, and it for them."""
    with begin_write(engine) as connection:
        yield connection
        connection.commit()


def _migrate(engine: Engine, run: Callable[[Config, str], None], revision: str) -> None:
    """Run an Alembic command (``command.upgrade`` or ``command.downgrade``) to ``revision`` in one
    transaction holding the write lock (``locked``); a target Alembic cannot resolve is one clear
    error, and the transaction, rolled back, leaves the schema as it was."""
    config = alembic_config(engine)
    with locked(engine) as connection:
        config.attributes["connection"] = connection
        try:
            run(config, revision)
        except AssertionError as error:
            if not _from_revision_map(error):
                raise
            raise _not_a_revision(revision) from None


def upgrade(engine: Engine, revision: str = "head") -> None:
    _check_revision(revision)
    use_write_ahead_log(engine)
    _migrate(engine, command.upgrade, revision)


def downgrade(engine: Engine, revision: str) -> None:
    _check_revision(revision)
    _migrate(engine, command.downgrade, revision)


def current(engine: Engine) -> str | None:
    """The revision the database is at (None: no schema yet)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def history(engine: Engine) -> list[tuple[str, str | None, str]]:
    """Every revision, newest first: (revision, down revision, message)."""
    script = ScriptDirectory.from_config(alembic_config(engine))
    return [
        (rev.revision, rev.down_revision if isinstance(rev.down_revision, str) else None, rev.doc or "")
        for rev in script.walk_revisions()
    ]
