"""Which ids are recorded: the registry tables by kind, and a bulk existence check for references."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, Table, select

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
