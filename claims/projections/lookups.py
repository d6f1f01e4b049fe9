"""Which ids are recorded: the registry tables by kind, a bulk existence check for references, and
the statement that reads the rows of given ids."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from sqlalchemy import Connection, Select, Table, bindparam, select

from claims.projections.tables import claim_versions, parties, sources, speakers, topics

REGISTRIES: dict[str, Table] = {"party": parties, "speaker": speakers, "source": sources, "topic": topics}


def known_ids(connection: Connection, kind: str, idents: Iterable[str]) -> set[str]:
    """Which of ``idents`` are recorded as ``kind`` (party, speaker, source, topic or claim)."""
    wanted = sorted(set(idents))
    if not wanted:
        return set()
    table = claim_versions if kind == "claim" else REGISTRIES[kind]
    column = table.c.claim_id if kind == "claim" else table.c.id
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update(connection.execute(select(column).where(column.in_(chunk)).distinct()).scalars())
    return found


def rows_with(table: Table, column: str, ids: list[str]) -> tuple[Select[Any], dict[str, Any]]:
    """The statement and parameters that read the rows of ``table`` whose ``column`` is one of
    ``ids``. One id (a single add's lookup) is compared for equality: an expanding list is rendered
    into the SQL at each execution. The statements are built once: building one costs more than
    running it on SQLite."""
    if len(ids) == 1:
        return _equal_to(table, column), {"id": ids[0]}
    return _one_of(table, column), {"ids": ids}


@cache
def _equal_to(table: Table, column: str) -> Select[Any]:
    return select(table).where(table.c[column] == bindparam("id"))


@cache
def _one_of(table: Table, column: str) -> Select[Any]:
    return select(table).where(table.c[column].in_(bindparam("ids", expanding=True)))
