"""Running the Alembic migrations that ship inside the package, against the application's URL.

Imported only by the commands that need it (``init``, ``db``), so queries never pay for Alembic.
"""

from __future__ import annotations

import io
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from claims.domain.errors import StorageError
from claims.store.engine import use_write_ahead_log


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


def upgrade(engine: Engine, revision: str = "head") -> None:
    use_write_ahead_log(engine)
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


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
