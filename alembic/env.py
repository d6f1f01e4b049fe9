"""Alembic environment for claims: the URL comes from the application, never from alembic.ini.

``claims init`` and ``claims db …`` pass the URL of ``--db``/``CLAIMS_DATABASE_URL`` and a connection
that holds the write lock already; a bare ``alembic`` run from the repository uses
``CLAIMS_DATABASE_URL`` or ``claims.db`` and takes the same lock. Either way every migration runs in
one transaction, under the lock. SQLite runs in batch mode so that later migrations can alter tables.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

import claims.projections.tables  # noqa: F401  (registers the projection tables on the metadata)
from claims.store.engine import open_engine, resolve_url, use_write_ahead_log
from claims.store.migrations import locked
from claims.store.schema import metadata

config = context.config


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url") or resolve_url(None),
        target_metadata=metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection: Connection | None = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = open_engine(config.get_main_option("sqlalchemy.url") or resolve_url(None))
    try:
        # As ``claims init`` migrates: in WAL mode, which SQLite cannot switch to while another
        # connection holds a lock, and under the write lock (``locked``), so that an ``alembic
        # upgrade`` run by hand waits for a migration or an append under way rather than racing it.
        use_write_ahead_log(engine)
        with locked(engine) as connection:
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
