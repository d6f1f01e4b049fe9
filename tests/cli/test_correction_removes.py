"""A correction can remove a speaker or a quote wrongly recorded, and the relays.

A claim put in the wrong speaker's mouth, or given a quote that was not said, is our recording
error, which a correction exists to fix; but a correction could only replace a value, never
remove it (a document's null was dropped, and ``--quote ""`` stored an empty quote).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from claims.api import Tracker
from claims.cli import cli
from claims.domain.errors import DocumentError, ValidationError

CLAIM = "zakharova-no-real-meeting"


def run(tracker: Tracker, *args: str) -> tuple[int, str]:
    result = CliRunner(env={"CLAIMS_USER": "tester", "CLAIMS_DATABASE_URL": None}).invoke(
        cli, ["--db", tracker.url, *args]
    )
    return result.exit_code, result.stderr


def fields(tracker: Tracker, **times: str) -> tuple[object, object, object]:
    claim = tracker.show(CLAIM, **times)["claim"]
    return claim["speaker"], claim["quote"], claim["via"]


def test_the_command_line_removes_a_speaker_a_quote_and_the_relays(seeded: Tracker) -> None:
    before = fields(seeded)
    assert all(before)
    code, err = run(seeded, "correct", CLAIM, "--speaker", "", "--quote", "", "--no-via", "--reason", "not hers")
    assert code == 0, err
    assert fields(seeded) == (None, None, [])
    history = seeded.show(CLAIM)["history"]
    assert history[-1]["payload"]["changes"] == {"quote": None, "speaker": None, "via": []}
    assert run(seeded, "correct", CLAIM, "--via", "tass", "--no-via", "--reason", "x")[0] == 2
    code, err = run(seeded, "correct", CLAIM, "--speaker", "", "--reason", "again")
    assert code == 1 and "nothing to correct" in err
    seeded.rebuild_projections()
    assert fields(seeded) == (None, None, [])


def test_a_document_removes_them_with_null_and_refuses_to_remove_a_required_field(
    seeded: Tracker, tmp_path: Path
) -> None:
    document = tmp_path / "removed.yaml"
    document.write_text(
        f"format: claims/v1\nevents:\n  - {{correct: {CLAIM}, speaker: null, quote: null, via: [], reason: r}}\n",
        encoding="utf-8",
    )
    seeded.import_file(document)
    assert fields(seeded) == (None, None, [])
    assert seeded.import_file(document).nothing_new
    document.write_text(
        f"format: claims/v1\nevents:\n  - {{correct: {CLAIM}, text: null, source: null, via: null, reason: r}}\n",
        encoding="utf-8",
    )
    with pytest.raises(DocumentError) as refused:
        seeded.import_file(document)
    assert [line.strip() for line in str(refused.value).splitlines()[1:]] == [
        "events[0].text: cannot be removed (only quote and speaker can)",
        "events[0].source: cannot be removed (only quote and speaker can)",
        "events[0].via: is a list: give [] to remove the relays",
    ]


def test_the_api_removes_with_an_empty_value_and_leaves_none_alone(seeded: Tracker) -> None:
    speaker, _, via = fields(seeded)
    seeded.correct(CLAIM, quote="", text=None, reason="the quote was the agency's")
    assert fields(seeded) == (speaker, None, via)
    with pytest.raises(ValidationError, match="text is required"):
        seeded.correct(CLAIM, text="", reason="r")
