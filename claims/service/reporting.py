"""Read models for the command line's comforts: the narrative report's data and shell completion.

Both only read the projections. The report gathers, for the claims it shows, what
``claims.io.report`` draws: each claim as every output shows it, its reaffirmations and
retractions, our corrections of its record (with what changed) and the verdicts on it, plus the
registries that name parties, speakers, sources and topics.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, select

from claims.domain.dates import period_end
from claims.domain.errors import ValidationError
from claims.projections import lookups, queries
from claims.projections.queries import Times
from claims.projections.tables import claim_acts, claim_versions, verdicts

CORRECTABLE = ("text", "quote", "said_on", "speaker", "source", "via")
_CHUNK = 500


def report_data(
    connection: Connection,
    times: Times,
    *,
    topic: str | None = None,
    parties: list[str] | None = None,
    max_claims: int | None = None,
) -> dict[str, Any]:
    """The claims of ``parties`` (default: all) on ``topic`` at both times, with their history.

    Claims said after ``times.as_of`` are left out. ``lanes`` are the parties asked for, in the
    order asked, or else every party with a claim here, in registration order. Contradictions are
    those of the standing claims, as ``claims compare`` finds them.

    A report of more than ``max_claims`` claims is refused (ValidationError) before their history
    is read: at most ``max_claims + 1`` claims are read, then the rest counted.
    """
    if max_claims is not None and max_claims < 1:
        raise ValidationError(f"the largest report must be of at least 1 claim, not {max_claims}")
    lanes_asked = parties or None
    limit = None if max_claims is None else max_claims + 1
    found = queries.list_claims(connection, times, topic=topic, parties=lanes_asked, limit=limit)
    if max_claims is not None and len(found) > max_claims:
        total = queries.count_claims(connection, times, topic=topic, parties=lanes_asked)
        raise ValidationError(
            f"the report would show {total:,} claims, more than the limit of {max_claims:,} (--max-claims),"
            " too many for a browser; narrow it with --topic, --party or --as-of, or raise the limit"
        )
    for item in found:
        item["said_end"] = period_end(item["said_on"])  # claims said after as_of: left out by list_claims
    attach_history(connection, found, times)
    names = registries(connection)
    speaking = {c["party"] for c in found}
    lanes = list(dict.fromkeys(parties)) if parties else [p for p in names["parties"] if p in speaking]
    standing = [c for c in found if c["status"] == "standing"]
    return {"lanes": lanes, "claims": found, "contradictions": queries.contradictions(standing), **names}


def attach_history(connection: Connection, found: list[dict[str, Any]], times: Times) -> None:
    """Give each claim its ``acts``, ``corrections`` and ``verdicts`` as recorded at ``times``."""
    by_id = {c["id"]: c for c in found}
    for item in found:
        item.update(acts=[], corrections=[], verdicts=[])
    ids = sorted(by_id)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        acts = select(claim_acts).where(claim_acts.c.claim_id.in_(chunk)).order_by(claim_acts.c.position)
        versions = (
            select(claim_versions).where(claim_versions.c.claim_id.in_(chunk)).order_by(claim_versions.c.rec_from)
        )
        rated = select(verdicts).where(verdicts.c.claim_id.in_(chunk)).order_by(verdicts.c.position)
        if times.known_at is not None:
            acts = acts.where(claim_acts.c.position <= times.known_at)
            versions = versions.where(claim_versions.c.rec_from <= times.known_at)
            rated = rated.where(verdicts.c.position <= times.known_at)
        for row in connection.execute(acts):
            if times.as_of is None or row.on_end <= times.as_of:
                act = {"kind": row.kind, "on": row.on_date, "on_end": row.on_end, "source": row.source}
                by_id[row.claim_id]["acts"].append({**act, "reason": row.reason})
        previous: dict[str, Any] = {}
        for row in connection.execute(versions):
            before = previous.get(row.claim_id)
            if before is not None and row.correction is not None:
                entry = {"position": row.rec_from, "reason": row.correction, "changes": _changes(before, row)}
                by_id[row.claim_id]["corrections"].append(entry)
            previous[row.claim_id] = row
        for row in connection.execute(rated):
            by_id[row.claim_id]["verdicts"].append({"rating": row.rating, "by": row.by_source, "url": row.url})


def _changes(before: Any, after: Any) -> dict[str, list[Any]]:
    """``{field: [old, new]}`` for each field a correction changed (``via`` as a list)."""

    def shown(name: str, value: Any) -> Any:
        return json.loads(value) if name == "via" else value

    return {
        name: [shown(name, getattr(before, name)), shown(name, getattr(after, name))]
        for name in CORRECTABLE
        if getattr(before, name) != getattr(after, name)
    }


def registries(connection: Connection) -> dict[str, dict[str, dict[str, Any]]]:
    """Every party, speaker, source and topic by id (``parties``, ``speakers``, …), in registration order."""
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for kind, table in lookups.REGISTRIES.items():
        rows = connection.execute(select(table).order_by(table.c.position))
        found["parties" if kind == "party" else f"{kind}s"] = {
            row.id: {k: v for k, v in row._mapping.items() if k not in ("id", "position")} for row in rows
        }
    return found


def ids_with_prefix(connection: Connection, kind: str, prefix: str, limit: int = 100) -> list[tuple[str, str]]:
    """Up to ``limit`` recorded ids of ``kind`` (party, speaker, source, topic or claim) starting
    with ``prefix``, in order, each with its name, title or text."""
    if kind == "claim":
        column, described = claim_versions.c.claim_id, claim_versions.c.text
        query = select(column, described).where(claim_versions.c.rec_to.is_(None))
    else:
        table = lookups.REGISTRIES[kind]
        column = table.c.id
        described = table.c.title if kind == "topic" else table.c.name
        query = select(column, described)
    query = query.where(column.startswith(prefix, autoescape=True)).order_by(column).limit(limit)
    return [(str(ident), str(text or "")) for ident, text in connection.execute(query)]
