"""Keeping PostgreSQL's planner statistics in step with what one long transaction writes.

Rows a transaction writes reach the planner's statistics only when autovacuum analyzes them after
the commit. Until then a table that a large import fills from empty still looks empty, and the
planner answers each lookup in it with a scan of the whole table (comparing every row with every
id of the lookup): a million-event import became quadratic. ANALYZE counts the transaction's own
rows, so a large unit of work runs it on each table whose rows written have doubled since it was
last analyzed (from a thousand rows on): a few times per table, whatever the size of the import.

SQLite's planner prefers an index when it has no statistics, so nothing is done there. A
PostgreSQL role that does not own the tables gets a warning from ANALYZE, not an error.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import Connection

FIRST_ANALYZE_ROWS = 1000


class GrowingTables:
    """Rows written per table by one transaction, and the tables whose statistics lag behind them."""

    def __init__(self, dialect: str) -> None:
        self._analyzes = dialect == "postgresql"
        self._written: Counter[str] = Counter()
        self._analyzed: dict[str, int] = {}

    def wrote(self, rows_by_table: dict[str, int]) -> None:
        self._written.update(rows_by_table)

    def lagging(self) -> list[str]:
        """Tables written to at least FIRST_ANALYZE_ROWS rows and twice as many as when last
        analyzed (none on SQLite)."""
        if not self._analyzes:
            return []
        return sorted(
            name
            for name, rows in self._written.items()
            if rows >= max(FIRST_ANALYZE_ROWS, 2 * self._analyzed.get(name, 0))
        )

    def due(self) -> list[str]:
        """The lagging tables, counted as analyzed from now on: the caller runs ``analyze`` on them
        (a large unit of work hands that to its writer thread, after the rows it counts)."""
        lagging = self.lagging()
        self._analyzed.update({name: self._written[name] for name in lagging})
        return lagging

    def refresh(self, connection: Connection) -> list[str]:
        """ANALYZE the lagging tables on PostgreSQL now; returns the tables analyzed."""
        tables = self.due()
        analyze(connection, tables)
        return tables


def analyze(connection: Connection, tables: list[str]) -> None:
    """Bring the planner's statistics of ``tables`` up to the rows this transaction wrote."""
    if tables:
        connection.exec_driver_sql("ANALYZE " + ", ".join(f'"{name}"' for name in tables))
