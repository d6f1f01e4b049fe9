"""Point lookups on the projections that handlers need to check a command against what is recorded."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Row, Table, and_, select

from claims.projections.tables import claim_versions, parties, sources, speakers, topics

REGISTRIES: dict[str, Table] = {"party": parties, "speaker": speakers, "source": sources, "topic": topics}


def registered(connection: Connection, kind: str, ident: str) -> Row[Any] | None:
    """The registry row of a party, speaker, source or topic, or None."""
    table = REGISTRIES[kind]
    return connection.execute(select(table).where(table.c.id == ident)).first()


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


def current_claim(connection: Connection, claim_id: str) -> Row[Any] | None:
    """The claim's fields as recorded now (its open version), or None when no such claim."""
    return connection.execute(
        select(claim_versions).where(and_(claim_versions.c.claim_id == claim_id, claim_versions.c.rec_to.is_(None)))
    ).first()
