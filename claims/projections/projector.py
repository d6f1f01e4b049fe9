"""Folding events into the projection tables, incrementally or from scratch.

``fold`` runs inside the appending transaction, so projections are never behind a committed event;
``rebuild`` drops them and replays the log, and must give exactly the same tables.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict

from sqlalchemy import Connection, and_, delete, func, insert, select, update

from claims.domain import events as ev
from claims.domain.claim import Act, ClaimFields, apply_correction, standing_periods
from claims.domain.dates import parse_said_date
from claims.projections.tables import (
    checkpoints,
    claim_acts,
    claim_periods,
    claim_versions,
    parties,
    sources,
    speakers,
    topics,
    verdicts,
)
from claims.store import eventlog
from claims.store.eventlog import StoredEvent

PROJECTION = "claims"
TABLES = (parties, speakers, sources, topics, claim_versions, claim_periods, claim_acts, verdicts)


def fold(connection: Connection, stored: Sequence[StoredEvent]) -> None:
    """Apply freshly appended events to every projection and move the checkpoint."""
    for record in stored:
        _apply(connection, record.position, record.event())
    if stored:
        _set_checkpoint(connection, stored[-1].position)


def checkpoint(connection: Connection) -> int:
    value = connection.execute(select(checkpoints.c.position).where(checkpoints.c.name == PROJECTION)).scalar()
    return int(value or 0)


def rebuild(connection: Connection, progress: Callable[[int], None] | None = None) -> int:
    """Drop every projection row and replay the whole log; returns the number of events folded."""
    for table in reversed(TABLES):
        connection.execute(delete(table))
    connection.execute(delete(checkpoints))
    count = 0
    batch: list[StoredEvent] = []
    for record in eventlog.read(connection):
        batch.append(record)
        if len(batch) >= 5000:
            fold(connection, batch)
            count += len(batch)
            batch = []
            if progress:
                progress(count)
    fold(connection, batch)
    count += len(batch)
    if progress:
        progress(count)
    return count


def _set_checkpoint(connection: Connection, position: int) -> None:
    updated = connection.execute(
        update(checkpoints).where(checkpoints.c.name == PROJECTION).values(position=position)
    ).rowcount
    if not updated:
        connection.execute(insert(checkpoints).values(name=PROJECTION, position=position))


def _apply(connection: Connection, position: int, event: ev.Event) -> None:
    match event:
        case ev.PartyRegistered():
            connection.execute(
                insert(parties).values(id=event.party, name=event.name, kind=event.kind, position=position)
            )
        case ev.SpeakerRegistered():
            connection.execute(
                insert(speakers).values(
                    id=event.speaker, name=event.name, party=event.party, role=event.role, position=position
                )
            )
        case ev.SourceRegistered():
            connection.execute(
                insert(sources).values(
                    id=event.source,
                    name=event.name,
                    kind=event.kind,
                    url=event.url,
                    published=event.published,
                    position=position,
                )
            )
        case ev.TopicRegistered():
            connection.execute(insert(topics).values(id=event.topic, title=event.title, position=position))
        case ev.ClaimAsserted():
            _assert(connection, position, event)
        case ev.ClaimReaffirmed() | ev.ClaimRetracted():
            _act(connection, position, event)
        case ev.ClaimCorrected():
            _correct(connection, position, event)
        case ev.VerdictRecorded():
            connection.execute(
                insert(verdicts).values(
                    position=position,
                    claim_id=event.claim,
                    rating=event.rating,
                    by_source=event.by,
                    url=event.url,
                )
            )


def _assert(connection: Connection, position: int, event: ev.ClaimAsserted) -> None:
    fields = ClaimFields(
        claim=event.claim,
        party=event.party,
        topic=event.topic,
        said_on=event.said_on,
        said_end=parse_said_date(event.said_on, allow_future=True).end,
        source=event.source,
        text=event.text,
        speaker=event.speaker,
        quote=event.quote,
        via=tuple(event.via),
        proposition=event.proposition,
        stance=event.stance,
        responds_to=event.responds_to,
        relation=event.relation,
    )
    _insert_version(connection, position, fields, asserted_at=position, correction=None)
    _refresh_periods(connection, position, event.claim, fields.said_end)


def _act(connection: Connection, position: int, event: ev.ClaimReaffirmed | ev.ClaimRetracted) -> None:
    kind = "retracted" if isinstance(event, ev.ClaimRetracted) else "reaffirmed"
    connection.execute(
        insert(claim_acts).values(
            position=position,
            claim_id=event.claim,
            kind=kind,
            on_date=event.on,
            on_end=parse_said_date(event.on, allow_future=True).end,
            source=event.source,
            reason=getattr(event, "reason", None),
        )
    )
    said_end = connection.execute(select(claim_versions.c.said_end).where(_current_version(event.claim))).scalar_one()
    _refresh_periods(connection, position, event.claim, said_end)


def _correct(connection: Connection, position: int, event: ev.ClaimCorrected) -> None:
    row = connection.execute(select(claim_versions).where(_current_version(event.claim))).one()
    current = version_fields(row)
    corrected = apply_correction(current, event.changes)
    connection.execute(update(claim_versions).where(_current_version(event.claim)).values(rec_to=position))
    _insert_version(connection, position, corrected, asserted_at=row.asserted_at, correction=event.reason)
    if corrected.said_end != current.said_end:
        _refresh_periods(connection, position, event.claim, corrected.said_end)


def version_fields(row: object) -> ClaimFields:
    """The ClaimFields of a claim_versions row."""
    values = {name: getattr(row, name) for name in ClaimFields.__dataclass_fields__ if name != "claim"}
    values["via"] = tuple(json.loads(values["via"]))
    return ClaimFields(claim=row.claim_id, **values)  # type: ignore[attr-defined]


def _insert_version(
    connection: Connection, position: int, fields: ClaimFields, *, asserted_at: int, correction: str | None
) -> None:
    values = asdict(fields)
    values["claim_id"] = values.pop("claim")
    values["via"] = json.dumps(list(fields.via))
    connection.execute(
        insert(claim_versions).values(
            **values, rec_from=position, rec_to=None, asserted_at=asserted_at, correction=correction
        )
    )


def _refresh_periods(connection: Connection, position: int, claim_id: str, said_end: str) -> None:
    """Recompute the claim's standing periods; when they change, close the old rows and open new ones."""
    acts = [
        Act(row.kind, row.on_end, row.position)
        for row in connection.execute(
            select(claim_acts.c.kind, claim_acts.c.on_end, claim_acts.c.position).where(
                claim_acts.c.claim_id == claim_id
            )
        )
    ]
    wanted = standing_periods(said_end, acts)
    current_rows = and_(claim_periods.c.claim_id == claim_id, claim_periods.c.rec_to.is_(None))
    have = [
        (row.valid_from, row.valid_to)
        for row in connection.execute(
            select(claim_periods.c.valid_from, claim_periods.c.valid_to)
            .where(current_rows)
            .order_by(claim_periods.c.valid_from)
        )
    ]
    if have == wanted:
        return
    connection.execute(update(claim_periods).where(current_rows).values(rec_to=position))
    if wanted:
        connection.execute(
            insert(claim_periods),
            [
                {
                    "claim_id": claim_id,
                    "rec_from": position,
                    "rec_to": None,
                    "valid_from": start,
                    "valid_to": end,
                }
                for start, end in wanted
            ],
        )


def _current_version(claim_id: str):  # type: ignore[no-untyped-def]
    return and_(claim_versions.c.claim_id == claim_id, claim_versions.c.rec_to.is_(None))


def projection_counts(connection: Connection) -> Iterable[tuple[str, int]]:
    """Row counts of every projection table (for ``projections status``)."""
    for table in TABLES:
        yield table.name, int(connection.execute(select(func.count()).select_from(table)).scalar() or 0)
