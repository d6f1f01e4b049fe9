"""The physical limit: the same event rows our import produced, written by the bare drivers.

Each baseline takes the rows of our own ``events`` table (``SELECT *``) and writes them into a
fresh table of the same shape (columns, primary key, unique constraints and indexes; not our
append-only triggers, which are part of what claims pays for) with nothing but the driver:
``sqlite3`` ``executemany`` in one transaction, psycopg ``COPY``, and one transaction per row
for the one-claim-at-a-time comparison. SQLite runs with the pragmas claims uses (WAL,
``synchronous=NORMAL``), so both sides promise the same durability.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

Row = tuple[Any, ...]


# -- SQLite ---------------------------------------------------------------------------------------


def sqlite_rows(path: Path, limit: int | None = None, where: str = "") -> tuple[list[str], list[Row]]:
    """Column names and rows of the ``events`` table of the claims database at ``path``."""
    with sqlite3.connect(path) as connection:
        cursor = connection.execute(
            f"SELECT * FROM events {where} ORDER BY position" + (f" LIMIT {int(limit)}" if limit else "")
        )
        return [d[0] for d in cursor.description], cursor.fetchall()


def _sqlite_shape(source: Path) -> list[str]:
    """CREATE statements of the events table and its indexes (triggers left out)."""
    with sqlite3.connect(source) as connection:
        found = connection.execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name = 'events' AND type IN ('table', 'index') AND sql IS NOT NULL"
            " ORDER BY type DESC"
        ).fetchall()
    return [sql for (sql,) in found]


def _fresh_sqlite(source: Path, target: Path) -> sqlite3.Connection:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    connection = sqlite3.connect(target, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    for statement in _sqlite_shape(source):
        connection.execute(statement)
    return connection


def _insert_sql(columns: Sequence[str], mark: str) -> str:
    return f"INSERT INTO events ({', '.join(columns)}) VALUES ({', '.join(mark for _ in columns)})"


def sqlite_executemany(source: Path, target: Path, columns: list[str], rows: list[Row]) -> float:
    """Seconds to insert ``rows`` with one ``executemany`` in one transaction, commit included."""
    connection = _fresh_sqlite(source, target)
    statement = _insert_sql(columns, "?")
    try:
        start = time.perf_counter()
        connection.execute("BEGIN")
        connection.executemany(statement, rows)
        connection.execute("COMMIT")
        return time.perf_counter() - start
    finally:
        connection.close()


def sqlite_per_row(source: Path, target: Path, columns: list[str], rows: list[Row]) -> float:
    """Seconds to insert ``rows`` one transaction each (BEGIN IMMEDIATE, INSERT, COMMIT)."""
    connection = _fresh_sqlite(source, target)
    statement = _insert_sql(columns, "?")
    try:
        start = time.perf_counter()
        for row in rows:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute(statement, row)
            connection.execute("COMMIT")
        return time.perf_counter() - start
    finally:
        connection.close()


# -- PostgreSQL -----------------------------------------------------------------------------------


def pg_rows(url: str, limit: int | None = None, where: str = "") -> tuple[list[str], list[Row]]:
    """Column names and rows of the ``events`` table of the claims database at psycopg ``url``."""
    import psycopg

    with psycopg.connect(url) as connection:
        cursor = connection.execute(
            f"SELECT * FROM events {where} ORDER BY position" + (f" LIMIT {int(limit)}" if limit else "")
        )
        return [d.name for d in cursor.description or ()], cursor.fetchall()


def _fresh_pg_table(connection: Any, name: str) -> None:
    connection.execute(f"DROP TABLE IF EXISTS {name}")
    connection.execute(f"CREATE TABLE {name} (LIKE events INCLUDING ALL)")
    connection.commit()


def pg_copy(url: str, columns: list[str], rows: list[Row]) -> float:
    """Seconds to COPY ``rows`` into a fresh table shaped like ``events``, in one transaction."""
    import psycopg

    with psycopg.connect(url) as connection:
        _fresh_pg_table(connection, "bench_copy")
        start = time.perf_counter()
        with connection.cursor() as cursor, cursor.copy(f"COPY bench_copy ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        connection.commit()
        seconds = time.perf_counter() - start
        connection.execute("DROP TABLE bench_copy")
        connection.commit()
    return seconds


def pg_per_row(url: str, columns: list[str], rows: list[Row]) -> float:
    """Seconds to INSERT ``rows`` into a fresh table shaped like ``events``, one transaction each."""
    import psycopg

    with psycopg.connect(url) as connection:
        _fresh_pg_table(connection, "bench_rows")
        statement = _insert_sql(columns, "%s").replace("INTO events", "INTO bench_rows")
        start = time.perf_counter()
        for row in rows:
            connection.execute(statement, row)
            connection.commit()
        seconds = time.perf_counter() - start
        connection.execute("DROP TABLE bench_rows")
        connection.commit()
    return seconds
