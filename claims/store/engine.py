"""Connecting to a backend: URL resolution, engine set-up and the write lock.

SQLite writes start with ``BEGIN IMMEDIATE`` and PostgreSQL writes take a transaction-scoped
advisory lock, so appends are serialised: the chain never forks and positions become visible in
commit order, with no gap a reader following the log could skip.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus, urlsplit

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError, SAWarning

from claims.domain.errors import StorageError, ValidationError
from claims.store.bulk import fetch_on_driver, parameter_marks

DEFAULT_DATABASE = "claims.db"
URL_ENVIRONMENT = "CLAIMS_DATABASE_URL"
# Any constant works; it names the lock every writer of the log takes on PostgreSQL.
_ADVISORY_LOCK_KEY = 0x0C1A1135
_WRITE = "claims_write"


def resolve_url(db: str | None) -> str:
    """``--db`` or ``CLAIMS_DATABASE_URL`` or ``claims.db``; a plain path means an SQLite file."""
    value = db or os.environ.get(URL_ENVIRONMENT) or DEFAULT_DATABASE
    if "://" in value:
        return value
    return f"sqlite:///{Path(value).expanduser().resolve()}"


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def sqlite_file(url: str) -> Path | None:
    """The file an SQLite URL names, as given (not resolved); None for any other database, for an
    in-memory SQLite, and for a URL that does not parse (which opening it refuses). With
    ``?uri=true`` the database is an SQLite URI filename (``file:claims.db``, ``file:///srv/x.db``)
    whose path is the file."""
    if not is_sqlite(url):
        return None
    try:
        return _file_of(make_url(url))
    except (ArgumentError, ValueError):
        return None


def _file_of(parsed: URL) -> Path | None:
    """``sqlite_file`` of a URL parsed already."""
    database = parsed.database
    if database and str(parsed.query.get("uri", "")).lower() in ("true", "1") and database.startswith("file:"):
        if "mode=memory" in database or parsed.query.get("mode") == "memory":
            return None
        database = urlsplit(database).path
    return Path(database) if database and database != ":memory:" else None


def open_engine(url: str, *, may_create: Callable[[], bool] = lambda: True) -> Engine:
    """An engine for ``url`` with the settings claims relies on for each backend. ``may_create``
    says, at each new connection, whether an SQLite file that is not there may be created; when it
    may not, connecting is refused as a database that was never initialised, and no file is left
    behind (sqlite3 would create an empty one)."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is no number
        raise ValidationError(f"not a database URL: {display_url(url)}") from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ValidationError(f"unsupported database (use an SQLite path or postgresql+psycopg://): {display_url(url)}")
    if backend == "postgresql" and parsed.get_driver_name() != "psycopg":  # no other driver comes with claims
        raise ValidationError(
            f"claims reaches PostgreSQL through psycopg: write postgresql+psycopg://…, not {parsed.drivername}://"
        )
    try:
        with warnings.catch_warnings():
            # An option of the URL the driver would ignore (``sqlite:///x.db?timeuot=5``) is a
            # mistake in it, refused in one line as a value that cannot be read is (``?timeout=abc``),
            # rather than warned about in two of Python's and ignored.
            warnings.simplefilter("error", SAWarning)
            return _sqlite_engine(url, parsed, may_create) if backend == "sqlite" else _postgresql_engine(url)
    except (ValueError, TypeError, SAWarning) as error:
        message = str(error).split(" (Background on this")[0]  # SQLAlchemy's link to its own docs
        raise ValidationError(f"not a usable database URL: {display_url(url)} ({message})") from None


# A pooled PostgreSQL connection idle for longer than this is asked whether it is still there
# before it is used again (a round trip): a server's ``idle_session_timeout``, a connection
# pooler or a firewall may have ended it while its reader took its time (``claims compare |
# less`` reads a group of topics at a time, each on a connection from the pool). Pinging at
# every checkout instead would add a round trip to every add (about 10% of one on PostgreSQL).
IDLE_BEFORE_PING = 1.0  # seconds


def _postgresql_engine(url: str) -> Engine:
    # No hstore: SQLAlchemy would otherwise look its type up in the catalogue on the first
    # connection of every process (a round trip, 1.5 to 2.4 ms of a connection's 5 to 7).
    engine = create_engine(url, pool_pre_ping=False, use_native_hstore=False)

    @event.listens_for(engine, "checkin")
    def _idle_from_now(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _still_there(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since <= IDLE_BEFORE_PING:
            return
        try:
            ended = not engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error:
            ended = True
        if ended:  # the pool then connects afresh
            raise DisconnectionError("the server ended this idle connection")

    return engine


# The password of the userinfo, split off as SQLAlchemy's own URL parser splits it: after the user
# name (no ``:`` or ``/``), up to the first ``@`` (it may hold a ``/``, a ``?`` or a ``#``); and on
# to a later ``@`` before the path or the query, which SQLAlchemy would take into the host name but
# which is, more likely, a password's ``@`` left unescaped.
_USERINFO_PASSWORD = re.compile(r"(://[^:/]*):[^@]*@(?:[^/?@]*@)*")


def display_url(url: str) -> str:
    """``url`` as claims shows it anywhere (``claims config``, ``claims init``, an error): every
    password in it masked as ``***``, in the userinfo (``ana:***@db``) and in the query string
    (``?password=***``) alike. Worked on the text, so that a URL that does not parse is masked too,
    and is shown otherwise as it was given."""
    masked = _USERINFO_PASSWORD.sub(r"\1:***@", url, count=1)
    head, mark, query = masked.partition("?")
    if not mark:
        return masked
    return f"{head}?{'&'.join(_masked_option(option) for option in query.split('&'))}"


def _masked_option(option: str) -> str:
    """One ``name=value`` of a URL's query, its value masked when the name is a password's.

    The name is read as SQLAlchemy reads it (``parse_qsl``: percent escapes and ``+`` decoded), so
    that ``pass%77ord=`` is caught as well; ``password`` and ``sslpassword`` are libpq's (psycopg
    takes any of its connection options from the query), and any name ending so is masked, in any
    case, as the price of a false alarm is only a value shown as ``***``."""
    name, equals, _ = option.partition("=")
    if equals and unquote_plus(name).strip().lower().endswith("password"):
        return f"{name}=***"
    return option


def _refuse_to_create(engine: Engine, file: Path, url: str, may_create: Callable[[], bool]) -> None:
    """Refuse a new connection to ``file`` while it is not there and may not be created (sqlite3
    would create an empty one)."""

    @event.listens_for(engine, "do_connect")
    def _missing(*_: Any) -> None:
        if not file.exists() and not may_create():
            raise StorageError(f"no claims database at {display_url(url)}: run `claims init` first")


# The oldest SQLite claims runs on: the projections' checkpoint is written with an upsert
# (``INSERT … ON CONFLICT … DO UPDATE``), which SQLite has had since 3.24.0 (June 2018).
MINIMUM_SQLITE = (3, 24, 0)


_HOLDS_THE_LOG = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'"


def _sqlite_engine(url: str, parsed: URL, may_create: Callable[[], bool]) -> Engine:
    file = _file_of(parsed)
    if file is not None and not file.parent.is_dir():
        raise ValidationError(f"no such directory for the database: {file.parent}")
    if file is not None and file.is_dir():
        raise ValidationError(f"{file} is a directory, not a database file")
    # Wait for the write lock a minute (sqlite3's default is 5 s), unless the URL says how long.
    engine = create_engine(url, connect_args={} if "timeout" in parsed.query else {"timeout": 60})
    driver = engine.dialect.dbapi  # sqlite3.dbapi2, imported by SQLAlchemy for the engine
    if driver is not None and driver.sqlite_version_info < MINIMUM_SQLITE:
        needed = ".".join(map(str, MINIMUM_SQLITE))
        raise StorageError(
            f"claims needs SQLite {needed} or later; this Python's sqlite3 module uses SQLite {driver.sqlite_version}"
        )

    if file is not None:
        _refuse_to_create(engine, file, url, may_create)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event emit BEGIN itself, so writers can ask for IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # Nothing here is kept in the file (WAL is: ``use_write_ahead_log``), so a command that
        # finds another program's database there refuses it having changed nothing; but a claims
        # database that lost WAL mode (restored from ``VACUUM INTO`` or a dump) is put back in it.
        journal = cursor.execute("PRAGMA journal_mode").fetchone()[0]
        if journal not in ("wal", "memory") and cursor.execute(_HOLDS_THE_LOG).fetchone():
            _switch_to_write_ahead_log(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        # The log's append-only triggers make each INSERT into events keep a statement journal
        # (the undo of that one statement); in a temporary file, that is ten writes to disk per
        # event (220k pwrite calls for 20k events, 10 µs an event). In memory it is a copy.
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = "IMMEDIATE" if connection.get_execution_options().get(_WRITE) else "DEFERRED"
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _switch_to_write_ahead_log(cursor: Any) -> None:
    """Put back in WAL mode a claims database that lost it, if no other connection holds a lock on
    it now (the switch needs the file to itself): asked without waiting, so that a reader of the
    file left open elsewhere, in rollback-journal mode, neither keeps this command waiting for the
    busy timeout nor fails it with "database is locked". A later connection switches it."""
    waited = cursor.execute("PRAGMA busy_timeout").fetchone()[0]
    cursor.execute("PRAGMA busy_timeout = 0")
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
    except sqlite3.OperationalError as error:
        if "locked" not in str(error) and "busy" not in str(error):
            raise
    finally:
        cursor.execute(f"PRAGMA busy_timeout = {int(waited)}")


def use_write_ahead_log(engine: Engine) -> None:
    """Put an SQLite database in write-ahead-log mode, so that readers never wait for a writer and
    a writer never waits for readers. The mode is kept in the file: ``claims init`` (and
    ``claims db upgrade``) set it once, told to the driver outside any transaction, where SQLite
    allows the change."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as connection:
        _driver(connection).execute("PRAGMA journal_mode=WAL")


# A large write into SQLite inserts into a dozen B-trees keyed by random ids; with SQLite's default
# 2 MB page cache their pages are evicted and written to the WAL again and again (a 1M-event
# import: 126 s with it; with this cache and two smaller changes, 113 s). Only large writes widen
# it, and only while they run.
LARGE_WRITE_CACHE_KIB = 128 * 1024


def widen_page_cache(connection: Connection) -> int | None:
    """Give a connection about to write a lot a larger SQLite page cache; returns the setting to
    restore afterwards (``restore_page_cache``), or None when nothing was changed."""
    if connection.dialect.name != "sqlite":
        return None
    driver = _driver(connection)
    previous = int(driver.execute("PRAGMA cache_size").fetchone()[0])
    driver.execute(f"PRAGMA cache_size = -{LARGE_WRITE_CACHE_KIB}")
    return previous


def restore_page_cache(connection: Connection, previous: int) -> None:
    """Undo ``widen_page_cache``. Told to the driver's connection itself: through SQLAlchemy a
    statement after the commit would begin a transaction, and a writer's begins with BEGIN
    IMMEDIATE, which waits for any other writer."""
    _driver(connection).execute(f"PRAGMA cache_size = {int(previous)}")


def _driver(connection: Connection) -> Any:
    driver = connection.connection.driver_connection
    assert driver is not None
    return driver


def begin_write(engine: Engine) -> Connection:
    """A connection inside a transaction that holds the log's write lock until commit or rollback."""
    connection = engine.connect().execution_options(**{_WRITE: True})
    try:
        connection.begin()
        if connection.dialect.name == "postgresql":  # on the driver, as the add's reads after it
            (key,) = parameter_marks(connection.dialect.paramstyle, 1)
            fetch_on_driver(connection, f"SELECT pg_advisory_xact_lock({key})", (_ADVISORY_LOCK_KEY,))
    except BaseException:
        # No unit of work holds the connection yet to end it: a wait for the lock that was
        # interrupted, timed out or lost its server gives the connection back now, not whenever
        # the collector frees it (another writer would wait for a lock granted at the last moment).
        connection.close()
        raise
    return connection
