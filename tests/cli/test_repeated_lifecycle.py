"""A correction or a verdict of the same content as one recorded is skipped only while it stands.

A lifecycle entry already recorded is skipped, so that a command run again, or a document
imported again, adds nothing. But the latest correction of a field and a reviewer's latest
verdict are the ones that stand: a correction back to an earlier text, a reviewer returning to an
earlier rating, were skipped as "already recorded" and lost, from the command line and inside a
document alike. In a document the k-th entry of the same content is skipped when the log holds k
such events, so that re-importing [A, B, A] still adds nothing.
"""

from __future__ import annotations

import json

import pytest

from claims.api import Tracker
from claims.domain.errors import ValidationError


@pytest.fixture
def story(tracker: Tracker) -> Tracker:
    tracker.add_party("north", name="North")
    tracker.add_topic("talks", title="Talks")
    tracker.add_source("wire", name="Wire")
    tracker.add_source("checker", name="Checker")
    tracker.add_claim(id="k", party="north", topic="talks", said_on="2023-01-01", source="wire", text="Original.")
    return tracker


def _text(tracker: Tracker) -> str:
    return str(tracker.show("k")["claim"]["text"])


def _ratings(tracker: Tracker) -> list[str]:
    return [v["rating"] for v in tracker.show("k")["claim"]["verdicts"]]


def _events(tracker: Tracker) -> list[str]:
    return [line["type"] for line in tracker.log() if line["stream_id"] == "claim:k"]


def test_a_correction_back_to_an_earlier_text_is_recorded_and_the_same_one_again_is_skipped(story: Tracker) -> None:
    recorded = [story.correct("k", text=text, reason="our typo").recorded for text in ("A.", "B.", "A.")]
    assert recorded == [True, True, True] and _text(story) == "A."
    assert story.correct("k", text="A.", reason="our typo").recorded is False  # run again: nothing added
    with pytest.raises(ValidationError, match="nothing to correct"):
        story.correct("k", text="A.", reason="another reason")
    assert _events(story) == ["ClaimAsserted", *["ClaimCorrected"] * 3]


def test_a_reviewer_returning_to_an_earlier_rating_is_recorded(story: Tracker) -> None:
    recorded = [story.verdict("k", rating=rating, by="checker").recorded for rating in ("false", "true", "false")]
    assert recorded == [True, True, True] and _ratings(story) == ["false", "true", "false"]
    assert story.verdict("k", rating="false", by="checker").recorded is False
    assert story.verdict("k", rating="false", by="wire").recorded is True  # another reviewer's
    assert _ratings(story) == ["false", "true", "false", "false"]


def _document(events: list[dict[str, object]]) -> str:
    return json.dumps({"format": "claims/v1", "events": events})


def test_a_document_records_each_entry_of_a_history_and_imports_again_as_nothing_new(story: Tracker) -> None:
    history = [
        {"correct": "k", "text": "A.", "reason": "our typo"},
        {"verdict": "k", "rating": "false", "by": "checker"},
        {"correct": "k", "text": "B.", "reason": "our typo"},
        {"verdict": "k", "rating": "true", "by": "checker"},
        {"correct": "k", "text": "A.", "reason": "our typo"},
        {"verdict": "k", "rating": "false", "by": "checker"},
        {"retract": "k", "on": "2023-02-01", "source": "wire"},
        {"retract": "k", "on": "2023-02-01", "source": "wire"},  # the same act twice changes nothing
    ]
    report = story.import_text(_document(history))
    assert sum(report.recorded.values()) == 7 and sum(report.skipped.values()) == 1
    assert _text(story) == "A." and _ratings(story) == ["false", "true", "false"]
    again = story.import_text(_document(history))
    assert again.nothing_new and sum(again.skipped.values()) == len(history)
    assert _events(story).count("ClaimCorrected") == 3 and _events(story).count("VerdictRecorded") == 3
    # Recorded from the command line first, the same history is still recognised.
    assert story.import_text(_document(history[:4])).nothing_new


def test_the_same_correction_twice_in_a_row_in_a_document_is_recorded_once(story: Tracker) -> None:
    twice = [{"correct": "k", "text": "A.", "reason": "our typo"}] * 2 + [
        {"verdict": "k", "rating": "false", "by": "checker"}
    ] * 2
    report = story.import_text(_document(twice))
    assert sum(report.recorded.values()) == 2 and sum(report.skipped.values()) == 2
    assert story.import_text(_document(twice)).nothing_new
    assert _events(story) == ["ClaimAsserted", "ClaimCorrected", "VerdictRecorded"]


def test_an_entry_recorded_before_does_not_swallow_a_later_one_of_the_same_content(story: Tracker) -> None:
    """A correction or verdict recorded earlier, by another document or a command, matches an entry
    of a new document only in order: [B, A] after A records both and ends at A, as the same
    commands would (counting A's in the log skipped the second entry, and the claim kept B)."""
    story.import_text(_document([{"correct": "k", "text": "A.", "reason": "our typo"}]))
    story.verdict("k", rating="false", by="checker")
    later = [
        {"correct": "k", "text": "B.", "reason": "our typo"},
        {"correct": "k", "text": "A.", "reason": "our typo"},
        {"verdict": "k", "rating": "true", "by": "checker"},
        {"verdict": "k", "rating": "false", "by": "checker"},
    ]
    report = story.import_text(_document(later))
    assert sum(report.recorded.values()) == 4 and not report.skipped
    assert _text(story) == "A." and _ratings(story) == ["false", "true", "false"]
    assert story.import_text(_document(later)).nothing_new
