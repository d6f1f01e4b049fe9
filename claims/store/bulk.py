"""Inserting many rows, and making a single add's reads, at the driver's own speed.

SQLAlchemy's executemany builds a parameter dictionary per row; for the log and the projections,
which write several rows per event, that alone costs more than the database. Here the rows are
built as sequences of values in their table's column order, and go to the driver that way:
SQLite's ``executemany`` of a statement compiled once by hand, and PostgreSQL's ``COPY … FROM
STDIN`` (psycopg), which is several times faster than its INSERTs (but for a few rows, which take
one INSERT in one round trip, where a COPY takes two). A few statements whose answers nobody
waits for can go to PostgreSQL together, in one round trip (``pipelined``). The reads a single
add makes before it writes go to the driver too, written by hand (``fetch_on_driver``). All run
inside the caller's transaction, and a failure surfaces as SQLAlchemy's own exception
(``IntegrityError`` for a duplicate), as ``Connection.execute`` would raise it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager, suppress
from functools import cache, lru_cache
from itertools import chain
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.exc import DBAPIError

_PLACEHOLDER = {"qmark": "?", "format": "%s", "pyformat": "%s", "numeric": ":{}", "named": ":{}"}


@cache
def _columns(table: Table) -> tuple[str, ...]:
    return tuple(column.name for column in table.columns)


# Not kept forever: a batch's last statement has as many rows as are left, and PostgreSQL's few
# rows (1 to FEW_ROWS) make a statement of each count for each table.
@lru_cache(maxsize=64)
def _insert(table: Table, paramstyle: str, rows: int = 1, verb: str = "INSERT") -> str:
    """The INSERT of ``rows`` rows of values into ``table`` in the driver's parameter style."""
    columns = _columns(table)
    marks = parameter_marks(paramstyle, len(columns) * rows)
    values = ", ".join(f"({', '.join(marks[at : at + len(columns)])})" for at in range(0, len(marks), len(columns)))
    quoted = ", ".join(f'"{name}"' for name in columns)
    return f'{verb} INTO "{table.name}" ({quoted}) VALUES {values}'


def parameter_marks(paramstyle: str, count: int) -> list[str]:
    """``count`` positional parameter marks in the driver's style (``?``, ``%s``, ``:1``…), for
    statements written by hand and run on the driver's own cursor."""
    mark = _PLACEHOLDER[paramstyle]
    return [mark.format(i + 1) if "{}" in mark else mark for i in range(count)]


@cache
def _copy(table: Table) -> str:
    quoted = ", ".join(f'"{name}"' for name in _columns(table))
    return f'COPY "{table.name}" ({quoted}) FROM STDIN'


def check_column_order(table: Table, names: Sequence[str]) -> None:
    """Refuse, when a module that builds rows from another list of names is imported (the log's
    lines, in the order the hash chain names their fields), a table whose columns are no longer
    those ``names``: a column added, removed or moved in the table would otherwise put values into
    the wrong columns. That each builder fills its columns in order is for tests to hold
    (tests/store/test_row_layout.py)."""
    if tuple(names) != _columns(table):
        raise RuntimeError(f"rows for {table.name} are built as {tuple(names)}, but its columns are {_columns(table)}")


def insert_rows(
    connection: Connection, table: Table, rows: Sequence[Sequence[Any]], *, many_per_statement: bool = False
) -> None:
    """Insert ``rows`` in one batch, each a sequence of a value (or None) for every column of
    ``table``, in the table's column order (``check_column_order``). Built that way rather than as
    dicts, a 1M-event import makes no dict per row on the importing thread and picks no values out
    of one on the writer thread (a 1M-event import on PostgreSQL, 53.9 s to 50.8 s, the means of
    two interleaved runs each; both threads need the interpreter lock for that work).

    ``many_per_statement`` asks SQLite for many rows per INSERT, for a writer thread that runs
    while another computes (``claims.store.background``): the driver lets go of the interpreter
    lock only while a statement runs, so with one row per statement such a writer would wait for
    the lock before every row (up to the 5 ms switch interval) and fall far behind.
    """
    if not rows:
        return
    if connection.dialect.driver == "psycopg":
        if len(rows) <= FEW_ROWS:
            _insert_on_driver(connection, table, rows)
        elif in_pipeline(connection):  # COPY cannot be pipelined; an executemany is, in one round trip
            run_on_driver(connection, _insert(table, connection.dialect.paramstyle), rows)
        else:
            _copy_rows(connection, table, rows)
    elif many_per_statement and len(rows) > 1:
        _insert_many_per_statement(connection, table, rows)
    else:
        # On the driver's own cursor: through SQLAlchemy's exec_driver_sql, a statement costs about
        # 27 µs against the driver's 3 to 5 (a single add makes three).
        run_on_driver(connection, _insert(table, connection.dialect.paramstyle), rows)


# Rows per SQLite INSERT when many are asked for, at most: fewer statements are fewer waits for
# the interpreter lock; SQLite's own limit on parameters (32,766) caps the widest tables lower.
ROWS_PER_STATEMENT = 2000


def _insert_many_per_statement(connection: Connection, table: Table, values: Sequence[Sequence[Any]]) -> None:
    driver = connection.connection.driver_connection
    assert driver is not None
    limit = driver.getlimit(connection.dialect.loaded_dbapi.SQLITE_LIMIT_VARIABLE_NUMBER)
    per_statement = min(ROWS_PER_STATEMENT, limit // len(_columns(table)))
    for start in range(0, len(values), per_statement):
        chunk = values[start : start + per_statement]
        # OR FAIL: a constraint that fails keeps the statement's earlier rows instead of undoing
        # them, so SQLite needs no undo journal for the statement (a tenth of its time on the
        # projection tables; the log's triggers still ask for one). The unit of work rolls back
        # everything once any write has failed.
        statement = _insert(table, connection.dialect.paramstyle, len(chunk), "INSERT OR FAIL")
        connection.exec_driver_sql(statement, tuple(chain.from_iterable(chunk)))


# Up to this many rows, PostgreSQL gets one INSERT rather than a COPY: a COPY is two round trips
# (its start, then its data and end), an INSERT one, and a single add writes one row to each of
# three tables.
FEW_ROWS = 16


def run_on_driver(connection: Connection, statement: str, parameters: Sequence[Sequence[Any]]) -> None:
    """Run ``statement``, written in the driver's parameter style, once for each of ``parameters``
    on the driver's own cursor: a write whose result nobody reads, and which may run inside
    ``pipelined``."""
    with driver_of(connection, statement) as driver, closing(driver.cursor()) as cursor:
        if len(parameters) == 1:
            cursor.execute(statement, parameters[0])
        else:
            cursor.executemany(statement, parameters)


def fetch_on_driver(connection: Connection, statement: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """The rows of ``statement``, a read written in the driver's parameter style, as tuples from
    the driver's own cursor. Made for the reads a single add makes before it writes (the log's
    lock, check and head, its claim, a changed claim's stream and rows, read the same way by an
    import and a rebuild): through SQLAlchemy, a lookup by id on SQLite cost 47 to 62 µs against
    the driver's 9 to 10, and the log's check 54 to 56 µs against 9; on PostgreSQL, SQLAlchemy's
    reads were a third of an add. It may run inside ``pipelined``, where fetching its rows sends
    what is queued before it."""
    with driver_of(connection, statement) as driver, closing(driver.cursor()) as cursor:
        cursor.execute(statement, parameters)
        return list(cursor.fetchall())


def rows_on_driver(
    connection: Connection,
    table: Table,
    column: str,
    ids: Sequence[str],
    columns: tuple[str, ...] | None = None,
    *,
    open_only: bool = False,
) -> list[tuple[Any, ...]]:
    """The rows of ``table`` whose ``column`` is one of ``ids`` (at most a few hundred), as tuples
    of ``columns`` (the table's own, in its order, when None), read by ``fetch_on_driver``; with
    ``open_only``, only those whose ``rec_to`` is NULL. One id (a single add's lookup) is compared
    for equality."""
    if not ids:
        return []
    statement = _rows_in(table, column, len(ids), connection.dialect.paramstyle, columns, open_only)
    return fetch_on_driver(connection, statement, ids)


@lru_cache(maxsize=256)  # one for each table, columns and count of ids asked for
def _rows_in(
    table: Table, column: str, count: int, paramstyle: str, columns: tuple[str, ...] | None, open_only: bool
) -> str:
    named = ", ".join(f'"{table.c[name].name}"' for name in (columns or _columns(table)))  # a misspelt name fails here
    marks = ", ".join(parameter_marks(paramstyle, count))
    condition = f'"{table.c[column].name}" {"=" if count == 1 else "IN"} ({marks})'
    if open_only:
        condition += f' AND "{table.c.rec_to.name}" IS NULL'
    return f"SELECT {named} FROM {table.name} WHERE {condition}"


def _insert_on_driver(connection: Connection, table: Table, values: Sequence[Sequence[Any]]) -> None:
    statement = _insert(table, connection.dialect.paramstyle, len(values))
    with driver_of(connection, statement) as driver:
        driver.execute(statement, tuple(chain.from_iterable(values)))


def _copy_rows(connection: Connection, table: Table, values: Sequence[Sequence[Any]]) -> None:
    statement = _copy(table)
    with driver_of(connection, statement) as driver, driver.cursor() as cursor, cursor.copy(statement) as copy:
        for value in values:
            copy.write_row(value)


@contextmanager
def pipelined(connection: Connection) -> Iterator[None]:
    """Statements run inside go to PostgreSQL together (psycopg's pipeline mode): each is sent
    without waiting for the answer to the one before, so that those whose answers nobody asks for
    take one round trip in all. Answers are read as they arrive while later statements are sent,
    when one is asked for (a fetch, which waits for it) and at the end of the block; a statement's
    failure surfaces at one of those later points, as SQLAlchemy's exception (and the error names
    the statement then being sent, not the one refused), and the transaction can only be rolled
    back. Only statements run on the driver (``driver_of``) may run inside: SQLAlchemy reads a
    statement's columns as soon as it has run, and finds none yet. On SQLite, in the same process,
    there is no round trip to save, and with a libpq older than 14 (a system one, not psycopg's
    binary package) no pipeline mode: the block then runs as it is."""
    if connection.dialect.driver != "psycopg" or not connection.dialect.loaded_dbapi.Pipeline.is_supported():
        yield
        return
    with driver_of(connection, "(statements pipelined)") as driver:
        pipeline = driver.pipeline()
        pipeline.__enter__()
        try:
            yield
        except BaseException:
            # Ended without the failure: psycopg would log its own failure to end the pipeline
            # (a connection lost), a warning on standard error, under the one being raised.
            with suppress(connection.dialect.loaded_dbapi.Error):
                pipeline.__exit__(None, None, None)
            raise
        pipeline.__exit__(None, None, None)


def in_pipeline(connection: Connection) -> bool:
    """Whether ``connection`` is inside ``pipelined`` (always False on SQLite)."""
    if connection.dialect.driver != "psycopg":
        return False
    driver = connection.connection.driver_connection
    assert driver is not None
    return bool(driver.pgconn.pipeline_status)


@contextmanager
def driver_of(connection: Connection, statement: str) -> Iterator[Any]:
    """The driver's own connection under ``connection``, for work that SQLAlchemy's rows and
    parameters would slow down; the driver's errors inside the block are raised as SQLAlchemy's
    own, as ``Connection.execute`` would raise them. Like it, a connection lost, or interrupted
    (Ctrl-C) in the middle of the block, is invalidated: dropped from the pool, its transaction
    ended by the server, rather than handed back mid-statement or left to the garbage collector.
    It runs in the connection's transaction, begun here when none is, as SQLAlchemy begins one for
    its own statements: so the pages of one read see one snapshot on SQLite, as they did through
    SQLAlchemy."""
    if not connection.in_transaction():
        connection.begin()
    driver = connection.connection.driver_connection
    assert driver is not None
    failures = connection.dialect.loaded_dbapi.Error
    try:
        yield driver
    except BaseException as error:
        failed = isinstance(error, failures)
        lost = failed and connection.dialect.is_disconnect(error, driver, None)
        # (GeneratorExit: a generator that reads pages inside the block was closed between them.)
        if lost or not isinstance(error, Exception | GeneratorExit):
            connection.invalidate(error)
        if not failed:
            raise
        raise DBAPIError.instance(statement, None, error, failures, connection_invalidated=lost) from error
