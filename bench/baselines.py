"""The physical limit: the same rows our import and rebuild produced, written by the bare drivers.

Each baseline takes the rows of our own tables (``SELECT *``) and writes them into fresh tables of
the same shape (columns, primary key, unique constraints and indexes; not our append-only
triggers, which are part of what claims pays for) with nothing but the driver: ``sqlite3``
``executemany`` in one transaction, psycopg ``COPY``, and one transaction per row for the
one-claim-at-a-time comparison. The hash-chain baseline first hashes every event line (orjson
canonical JSON and SHA-256), the work no importer of a chained log can skip; the projection
baseline writes the rows a rebuild writes. SQLite runs with the pragmas claims uses (WAL,
``synchronous=NORMAL``), so both sides promise the same durability.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

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


def remove_sqlite(path: Path) -> None:
    """Delete an SQLite database with its write-ahead log and shared-memory files."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _fresh_sqlite(source: Path, target: Path) -> sqlite3.Connection:
    remove_sqlite(target)
    connection = sqlite3.connect(target, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    for statement in _sqlite_shape(source):
        connection.execute(statement)
    return connection


def _insert_sql(columns: Sequence[str], mark: str) -> str:
    return f"INSERT INTO events ({', '.join(columns)}) VALUES ({', '.join(mark for _ in columns)})"


def sqlite_executemany(
    source: Path, target: Path, columns: list[str], rows: list[Row], *, chained: bool = False
) -> float:
    """Seconds to insert ``rows`` with one ``executemany`` in one transaction, commit included.

    With ``chained``, every row is first hashed into the chain inside the timed span (``_chained``):
    the ceiling of any importer that keeps a hash chain, before validation and projections.
    """
    connection = _fresh_sqlite(source, target)
    statement = _insert_sql(columns, "?")
    try:
        start = time.perf_counter()
        written = _chained(columns, rows) if chained else rows
        connection.execute("BEGIN")
        connection.executemany(statement, written)
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


def _chained(columns: list[str], rows: list[Row]) -> list[Row]:
    """The rows with each hash computed again, as the chain requires: the line's canonical JSON
    (orjson, keys sorted; the payload parsed first) and its SHA-256, event by event."""
    payload_at, hash_at = columns.index("payload"), columns.index("hash")
    chained = []
    for row in rows:
        line = dict(zip(columns, row, strict=True))
        del line["hash"]
        line["payload"] = orjson.loads(row[payload_at])
        values = list(row)
        values[hash_at] = hashlib.sha256(orjson.dumps(line, option=orjson.OPT_SORT_KEYS)).hexdigest()
        chained.append(tuple(values))
    return chained


def sqlite_projection_rows(source: Path, target: Path, tables: Sequence[str]) -> tuple[int, float]:
    """Rows in ``tables`` of the claims database at ``source``, and the seconds to write them again
    with one ``executemany`` per table, in one transaction, into fresh tables of the same shape
    (keys and indexes): the ceiling of a projection rebuild."""
    remove_sqlite(target)
    with sqlite3.connect(source) as reading:
        marks = ", ".join("?" for _ in tables)
        shape = reading.execute(
            f"SELECT sql FROM sqlite_master WHERE tbl_name IN ({marks}) AND type IN ('table', 'index')"
            " AND sql IS NOT NULL ORDER BY type DESC",
            list(tables),
        ).fetchall()
        contents = {table: reading.execute(f'SELECT * FROM "{table}"').fetchall() for table in tables}
    connection = sqlite3.connect(target, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        for (statement,) in shape:
            connection.execute(statement)
        start = time.perf_counter()
        connection.execute("BEGIN")
        for table, rows in contents.items():
            if rows:
                marks = ", ".join("?" for _ in rows[0])
                connection.executemany(f'INSERT INTO "{table}" VALUES ({marks})', rows)
        connection.execute("COMMIT")
        return sum(len(rows) for rows in contents.values()), time.perf_counter() - start
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


def pg_copy(url: str, columns: list[str], rows: list[Row], *, chained: bool = False) -> float:
    """Seconds to COPY ``rows`` into a fresh table shaped like ``events``, in one transaction
    (with ``chained``, hashing them into the chain first, as ``sqlite_executemany``)."""
    import psycopg

    with psycopg.connect(url) as connection:
        _fresh_pg_table(connection, "bench_copy")
        start = time.perf_counter()
        written = _chained(columns, rows) if chained else rows
        with connection.cursor() as cursor, cursor.copy(f"COPY bench_copy ({', '.join(columns)}) FROM STDIN") as copy:
            for row in written:
                copy.write_row(row)
        connection.commit()
        seconds = time.perf_counter() - start
        connection.execute("DROP TABLE bench_copy")
        connection.commit()
    return seconds


def pg_projection_rows(url: str, tables: Sequence[str]) -> tuple[int, float]:
    """As ``sqlite_projection_rows``, with one COPY per table into copies of the tables (LIKE …
    INCLUDING ALL: the same keys and indexes), in one transaction."""
    import psycopg

    with psycopg.connect(url) as connection:
        contents = {table: connection.execute(f'SELECT * FROM "{table}"').fetchall() for table in tables}
        for table in tables:
            connection.execute(f'DROP TABLE IF EXISTS "bench_{table}"')
            connection.execute(f'CREATE TABLE "bench_{table}" (LIKE "{table}" INCLUDING ALL)')
        connection.commit()
        start = time.perf_counter()
        with connection.cursor() as cursor:
            for table, rows in contents.items():
                with cursor.copy(f'COPY "bench_{table}" FROM STDIN') as copy:
                    for row in rows:
                        copy.write_row(row)
        connection.commit()
        seconds = time.perf_counter() - start
        for table in tables:
            connection.execute(f'DROP TABLE "bench_{table}"')
        connection.commit()
    return sum(len(rows) for rows in contents.values()), seconds


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
