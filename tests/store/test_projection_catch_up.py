"""An event appended to the log other than through claims is folded by the next writer.

Every unit of work folds what it appends in its own transaction, so the projections are never
behind a committed event that claims wrote. But a writer role holds the INSERT privilege on the
log, and a client of its own can append a well-chained line without folding it. The next unit of
work then folds the events the projections lack before its own (``projector.unfolded``), where it
moved their checkpoint past them: the claim was unknown to `show` while `projections status`
said they were up to date, and only a rebuild found it. Beyond ``CATCH_UP_LIMIT`` events it
refuses, naming the rebuild.
"""

from __future__ import annotations

from typing import Any

import pytest

from claims.api import Tracker
from claims.domain import events as ev
from claims.domain.errors import StorageError
from claims.projections import projector
from claims.store import eventlog
from claims.store.engine import begin_write
from claims.store.eventlog import Pending

CLAIM = {"party": "russia", "topic": "g20-joint-statement", "said_on": "2023-03-02", "source": "tass"}


def append_outside(tracker: Tracker, *claim_ids: str) -> None:
    """Append assertions to the log alone, hash-chained as SPEC section 6 says, as a client that
    is not claims would: no projection row, no checkpoint moved."""
    connection = begin_write(tracker.engine)
    try:
        pending = [
            Pending(ev.ClaimAsserted(claim=i, text=f"Appended outside claims: {i}.", **CLAIM), 0) for i in claim_ids
        ]
        eventlog.append(connection, pending, "outsider")
        connection.commit()
    finally:
        connection.close()


def answers(tracker: Tracker) -> list[dict[str, Any]]:
    return list(tracker.claims())


def test_an_event_appended_outside_claims_is_folded_by_the_next_add(seeded: Tracker) -> None:
    append_outside(seeded, "outside-1", "outside-2")
    status = seeded.projections_status()
    assert status["head"] - status["checkpoint"] == 2  # behind, and saying so
    added = seeded.add_claim(text="Added through claims after them.", **CLAIM)
    status = seeded.projections_status()
    assert status["checkpoint"] == status["head"]
    assert [seeded.show(claim)["claim"]["id"] for claim in ("outside-1", "outside-2", added.id)] == [
        "outside-1",
        "outside-2",
        added.id,
    ]
    incremental = answers(seeded)
    seeded.rebuild_projections()
    assert answers(seeded) == incremental  # SPEC section 6: a rebuild gives the same answers
    chain = seeded.verify()
    assert chain.intact and chain.size == status["head"]


def test_an_import_folds_them_too(seeded: Tracker, tmp_path: Any) -> None:
    append_outside(seeded, "outside-3")
    document = tmp_path / "doc.yaml"
    document.write_text(
        "format: claims/v1\nclaims:\n  - {id: in-doc, party: russia, topic: g20-joint-statement,"
        " said_on: 2023-03-02, source: tass, text: In the document.}\n"
    )
    seeded.import_file(document)
    status = seeded.projections_status()
    assert status["checkpoint"] == status["head"]
    assert seeded.show("outside-3")["claim"]["id"] == "outside-3"


def test_too_far_behind_is_refused_with_the_rebuild_named(seeded: Tracker, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(projector, "CATCH_UP_LIMIT", 1)
    append_outside(seeded, "outside-4", "outside-5")
    before = seeded.projections_status()
    with pytest.raises(StorageError, match=r"the projections are 2 events behind the log .*claims projections rebuild"):
        seeded.add_claim(text="Refused until the rebuild.", **CLAIM)
    assert seeded.projections_status() == before  # nothing written
    seeded.rebuild_projections()
    seeded.add_claim(text="Recorded after the rebuild.", **CLAIM)
    status = seeded.projections_status()
    assert status["checkpoint"] == status["head"] == before["head"] + 1
