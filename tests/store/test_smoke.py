"""The seed imports on both backends, re-imports as a no-op, and verifies."""

from __future__ import annotations

from pathlib import Path

from claims.api import Tracker


def test_seed_imports_reimports_as_noop_and_verifies(tracker: Tracker, seed_path: Path) -> None:
    first = tracker.import_file(seed_path)
    assert first.events > 0 and first.recorded["claim"] >= 15
    before = tracker.checkpoint()
    size = before["size"]
    assert size == first.events
    again = tracker.import_file(seed_path)
    assert again.nothing_new and again.skipped["claim"] == first.recorded["claim"]
    assert tracker.checkpoint() == before
    report = tracker.verify()
    assert report.intact and report.size == size
