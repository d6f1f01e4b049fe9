"""Rows are built as sequences in their table's column order (``bulk.insert_rows``), by positional
literals. These tests hold each builder to its table: every value of an event lands in the column
named for it, and a column added, removed or moved in a table fails them until its builder follows."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import Table

from claims.domain import events as ev
from claims.projections import projector
from claims.projections.tables import (
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
from claims.store.eventlog import Head, Pending
from claims.store.hashing import GENESIS, canonical_json, load_payload
from claims.store.schema import events


def named(table: Table, rows: list[Any]) -> list[dict[str, Any]]:
    assert all(len(row) == len(table.columns) for row in rows)
    return [dict(zip(table.columns.keys(), row, strict=True)) for row in rows]


def folded(*decoded: tuple[int, ev.Event]) -> projector.Batch:
    batch = projector.prepare(lambda: None, list(decoded), projector.Carryover())  # type: ignore[arg-type,return-value]
    batch.apply_all(decoded)
    return batch


ASSERTED = ev.ClaimAsserted(
    claim="c1",
    party="russia",
    topic="g20",
    said_on="2023-03",  # a month: its period ends on another day than it is written
    source="tass",
    text="The West derailed the meeting.",
    speaker="lavrov",
    quote="They wrecked it.",
    via=("reuters",),
    proposition="west-derailed-g20",
    stance="for",
    responds_to="c0",
    relation="contradicts",
)


def test_registry_rows_hold_each_value_in_its_column() -> None:
    batch = folded(
        (1, ev.PartyRegistered(party="russia", name="Russia", kind="state")),
        (2, ev.SpeakerRegistered(speaker="lavrov", name="Sergei Lavrov", party="russia", role="minister")),
        (3, ev.SourceRegistered(source="tass", name="TASS", kind="news-agency", url="https://t.ru", published="2023")),
        (4, ev.TopicRegistered(topic="g20", title="The G20 meeting")),
    )
    assert named(parties, batch.rows["parties"]) == [{"id": "russia", "name": "Russia", "kind": "state", "position": 1}]
    assert named(speakers, batch.rows["speakers"]) == [
        {"id": "lavrov", "name": "Sergei Lavrov", "party": "russia", "role": "minister", "position": 2}
    ]
    assert named(sources, batch.rows["sources"]) == [
        {
            "id": "tass",
            "name": "TASS",
            "kind": "news-agency",
            "url": "https://t.ru",
            "published": "2023",
            "position": 3,
        }
    ]
    assert named(topics, batch.rows["topics"]) == [{"id": "g20", "title": "The G20 meeting", "position": 4}]


def test_claim_rows_hold_each_value_in_its_column_and_a_change_closes_them_in_rec_to() -> None:
    batch = folded(
        (10, ASSERTED),
        (11, ev.ClaimReaffirmed(claim="c1", on="2023-04", source="ria")),
        (12, ev.ClaimCorrected(claim="c1", changes={"said_on": "2023-03-01", "text": "Fixed."}, reason="typo")),
        (13, ev.ClaimRetracted(claim="c1", on="2023-05-01T10:00+02:00", source="tass", reason="withdrawn")),
        (14, ev.VerdictRecorded(claim="c1", rating="false", by="factcheck", url="https://example.org/c1")),
    )
    versions = named(claim_versions, batch.rows["claim_versions"])
    assert versions[0] == {
        "claim_id": "c1",
        "rec_from": 10,
        "rec_to": 12,  # closed by the correction
        "party": "russia",
        "topic": "g20",
        "speaker": "lavrov",
        "said_on": "2023-03",
        "said_end": "2023-03-31",
        "source": "tass",
        "via": '["reuters"]',
        "text": "The West derailed the meeting.",
        "quote": "They wrecked it.",
        "proposition": "west-derailed-g20",
        "stance": "for",
        "responds_to": "c0",
        "relation": "contradicts",
        "asserted_at": 10,
        "correction": None,
        "said_key": "2023-03",
    }
    assert {k: versions[1][k] for k in ("rec_from", "rec_to", "said_on", "text", "asserted_at", "correction")} == {
        "rec_from": 12,
        "rec_to": None,
        "said_on": "2023-03-01",
        "text": "Fixed.",
        "asserted_at": 10,
        "correction": "typo",
    }
    assert named(claim_periods, batch.rows["claim_periods"]) == [
        {"claim_id": "c1", "rec_from": 10, "valid_from": "2023-03-31", "rec_to": 12, "valid_to": None},
        {"claim_id": "c1", "rec_from": 12, "valid_from": "2023-03-01", "rec_to": 13, "valid_to": None},
        {"claim_id": "c1", "rec_from": 13, "valid_from": "2023-03-01", "rec_to": None, "valid_to": "2023-05-01"},
    ]
    assert named(claim_acts, batch.rows["claim_acts"]) == [
        {
            "position": 11,
            "claim_id": "c1",
            "kind": "reaffirmed",
            "on_date": "2023-04",
            "on_end": "2023-04-30",
            "source": "ria",
            "reason": None,
            "on_key": "2023-04",
        },
        {
            "position": 13,
            "claim_id": "c1",
            "kind": "retracted",
            "on_date": "2023-05-01T10:00+02:00",
            "on_end": "2023-05-01",
            "source": "tass",
            "reason": "withdrawn",
            "on_key": "2023-05-01T115200.000000",  # 08:00 UTC: 115,200 s after the day before began
        },
    ]
    assert named(verdicts, batch.rows["verdicts"]) == [
        {"position": 14, "claim_id": "c1", "rating": "false", "by_source": "factcheck", "url": "https://example.org/c1"}
    ]


def test_the_logs_rows_hold_each_value_of_the_line_in_its_column() -> None:
    after = Head(41, "a" * 64, "2026-11-28T00:00:00.000000Z")
    prepared = eventlog.prepare(lambda: None, [Pending(ASSERTED, 0)], "ana", after=after)  # type: ignore[arg-type,return-value]
    (row,) = named(events, prepared.rows)
    assert row["position"] == 42 and row["prev_hash"] == "a" * 64 and row["recorded_by"] == "ana"
    assert (row["stream_id"], row["stream_version"], row["type"]) == ("claim:c1", 1, "ClaimAsserted")
    assert row["said_at"] == "2023-03" and row["schema_version"] == 1
    assert load_payload(row["payload"]) == ASSERTED.payload()
    # The hash is that of the line the row holds, each value in its place (SPEC section 6's recipe).
    line = {**row, "payload": load_payload(row["payload"])}
    del line["hash"]
    assert row["hash"] == hashlib.sha256(canonical_json(line).encode()).hexdigest() != GENESIS
    assert prepared.positions == [42] and prepared.head == Head(42, row["hash"], row["recorded_at"])
