"""The events of one transaction share one recorded time.

A large import is written in batches inside one transaction, and each batch was stamped with its
own time: ``--known-at`` an instant between two batches showed half of an import that no reader
ever saw (a claim standing whose retraction the same document holds). A transaction commits whole,
so it is recorded at one time, that of its first batch.
"""

from __future__ import annotations

import json

import pytest

from claims.api import Tracker
from claims.service import uow as unit_of_work


def test_an_import_written_in_several_batches_is_recorded_at_one_time(
    tracker: Tracker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(unit_of_work, "FLUSH_EVERY", 5)
    tracker.add_party("north", name="North")
    document = {
        "format": "claims/v1",
        "topics": [{"id": "talks", "title": "Talks"}],
        "sources": [{"id": "wire", "name": "Wire"}],
        "claims": [
            {"id": "big", "party": "north", "topic": "talks", "said_on": "2023-03-01", "source": "wire", "text": "X."}
        ],
        "events": [{"verdict": "big", "rating": f"r{i}", "by": "wire"} for i in range(23)]
        + [{"retract": "big", "on": "2023-03-10", "source": "wire"}],
    }
    tracker.import_text(json.dumps(document))
    tracker.add_party("south", name="South")
    lines = list(tracker.log())
    imported = [line["recorded_at"] for line in lines[1:-1]]
    assert len(imported) == 27 and len(set(imported)) == 1, sorted(set(imported))
    assert lines[0]["recorded_at"] <= imported[0] <= lines[-1]["recorded_at"]
    assert tracker.verify().intact
    # Known at the import's time, all of it; just before, none of it.
    assert tracker.show("big", known_at=imported[0])["claim"]["status"] == "retracted"
    assert tracker.narrative("north", known_at=lines[0]["recorded_at"]) == []
