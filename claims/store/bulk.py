"""Inserting many rows at the driver's own speed.

SQLAlchemy's executemany builds a parameter dictionary per row; for the log and the projections,
which write several rows per event, that alone costs more than the database. Here the statement is
compiled once by hand and the rows go to the DBAPI ``executemany`` as tuples.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import Connection, Table

_PLACEHOLDER = {"qmark": "?", "format": "%s", "pyformat": "%s", "numeric": ":{}", "named": ":{}"}


@cache
def _statement(table: Table, paramstyle: str) -> tuple[str, tuple[str, ...]]:
    columns = tuple(column.name for column in table.columns)
    mark = _PLACEHOLDER[paramstyle]
    marks = ", ".join(mark.format(i + 1) if "{}" in mark else mark for i in range(len(columns)))
    quoted = ", ".join(f'"{name}"' for name in columns)
    return f'INSERT INTO "{table.name}" ({quoted}) VALUES ({marks})', columns


def insert_rows(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with a value, or None, for every column of ``table``) in one executemany."""
    if not rows:
        return
    statement, columns = _statement(table, connection.dialect.paramstyle)
    connection.exec_driver_sql(statement, [tuple(row.get(name) for name in columns) for row in rows])
