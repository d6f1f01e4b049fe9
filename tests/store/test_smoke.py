"""The seed imports on both backends, re-imports as a no-op, and verifies."""

from __future__ import annotations

from claims.api import Tracker
from tests.conftest import SEED


def test_seed_imports_reimports_as_noop_and_verifies(tracker: Tracker) -> None:
    first = tracker.import_file(SEED)
    assert first.events > 0 and first.recorded["claim"] >= 15
    size = tracker.checkpoint()["size"]
    assert size == first.events
    again = tracker.import_file(SEED)
    assert again.nothing_new and again.skipped["claim"] == first.recorded["claim"]
    assert tracker.checkpoint()["size"] == size
    report = tracker.verify()
    assert report.intact and report.size == size
