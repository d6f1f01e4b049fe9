"""Filtered JSONL exports: a header checkpoint and an inclusion proof per line, checkable offline."""

from __future__ import annotations

import io
import itertools
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from claims.api import Tracker
from claims.domain import events as ev
from claims.domain import merkle
from claims.domain.errors import StorageError
from claims.io.trail import TRAIL_FORMAT, verify_trail
from claims.service.audit import TreeLevels
from claims.store.hashing import line_hash
from tests.audit.helpers import ZAKHAROVA, Run, read_lines, runner, write_json, write_lines


@pytest.fixture
def reviewed(shared_reviewed: Tracker) -> Tracker:
    return shared_reviewed


@pytest.fixture
def run(shared_url: str) -> Run:
    return runner(shared_url)


def _export(run: Run, tmp_path: Path, *options: str) -> Path:
    out = tmp_path / "filtered.jsonl"
    result = run("export", *options, "--out", str(out))
    assert result.exit_code == 0, result.stderr
    return out


def _verify(path: Path, checkpoint: dict[str, Any] | None = None) -> Any:
    with open(path, encoding="utf-8") as stream:
        return verify_trail(stream, str(path), checkpoint)


@pytest.mark.parametrize(
    "options",
    [
        ("--party", "russia"),
        ("--topic", "blinken-lavrov-encounter"),
        ("--party", "russia", "--topic", "blinken-lavrov-encounter"),
        ("--since", "40"),
        ("--party", "russia", "--since", "45"),
    ],
)
def test_filtered_export_has_header_and_proofs_and_verifies(
    reviewed: Tracker, run: Run, tmp_path: Path, options: tuple[str, ...]
) -> None:
    out = _export(run, tmp_path, *options)
    header, *lines = read_lines(out)
    checkpoint = reviewed.checkpoint()
    assert header["format"] == TRAIL_FORMAT and header["checkpoint"] == checkpoint
    given_filters = dict(zip(options[0::2], options[1::2], strict=True))
    assert header["filtered"] == {k.lstrip("-"): int(v) if k == "--since" else v for k, v in given_filters.items()}
    assert lines, "the selection is not empty"
    log = {line["position"]: line for line in reviewed.log()}
    for line in lines:
        proof = line.pop("inclusion")
        assert line == log[line["position"]]  # every original field and hash, unchanged
        assert proof["leaf_index"] == line["position"] - 1 and proof["tree_size"] == checkpoint["size"]
        assert merkle.verify_inclusion(
            merkle.event_leaf_hash(line["hash"]),
            proof["leaf_index"],
            proof["tree_size"],
            [merkle.from_hex(h) for h in proof["audit_path"]],
            merkle.from_hex(checkpoint["root"]),
        )
        assert proof == {k: v for k, v in reviewed.prove_inclusion(line["position"]).items() if k in proof}
    report = _verify(out)
    assert report.intact and report.kind == "filtered" and report.size == len(lines)
    result = run("verify", "--file", str(out))
    assert result.exit_code == 0 and f"intact, {len(lines)} events" in result.stderr


def test_party_selection_holds_the_party_its_speakers_and_its_claims(
    reviewed: Tracker, run: Run, tmp_path: Path
) -> None:
    out = _export(run, tmp_path, "--party", "russia")
    streams = {line["stream_id"] for line in read_lines(out)[1:]}
    assert {"party:russia", "speaker:maria-zakharova", "speaker:sergey-lavrov", f"claim:{ZAKHAROVA}"} <= streams
    assert not {s for s in streams if s.startswith(("source:", "topic:", "party:united"))}
    assert "claim:us-official-blinken-lavrov-spoke" not in streams


def test_a_changed_line_in_a_filtered_export_is_caught_by_position(reviewed: Tracker, run: Run, tmp_path: Path) -> None:
    out = _export(run, tmp_path, "--party", "russia")
    header, *lines = read_lines(out)
    victim = lines[3]
    victim["payload"]["text"] = victim["payload"].get("text", "") + " (edited)"
    write_lines(out, [header, *lines])
    result = run("verify", "--file", str(out))
    assert result.exit_code == 1
    assert f"broken at position {victim['position']}: hash does not match" in result.stderr


def test_a_rehashed_line_in_a_filtered_export_fails_its_inclusion_proof(
    reviewed: Tracker, run: Run, tmp_path: Path
) -> None:
    out = _export(run, tmp_path, "--topic", "blinken-lavrov-encounter")
    header, *lines = read_lines(out)
    victim = lines[-1]
    victim["payload"]["rating" if "rating" in victim["payload"] else "claim"] = "rewritten"
    victim["hash"] = line_hash({k: v for k, v in victim.items() if k != "inclusion"})
    write_lines(out, [header, *lines])
    result = run("verify", "--file", str(out))
    assert result.exit_code == 1
    assert f"broken at position {victim['position']}: the inclusion proof does not lead" in result.stderr


@pytest.mark.parametrize("how", ["path", "index", "size", "order", "root"])
def test_tampered_proofs_headers_and_order_are_caught(reviewed: Tracker, run: Run, tmp_path: Path, how: str) -> None:
    out = _export(run, tmp_path, "--party", "russia")
    header, *lines = read_lines(out)
    position = lines[2]["position"]
    if how == "path":
        lines[2]["inclusion"]["audit_path"][0] = "00" * 32
    elif how == "index":
        lines[2]["inclusion"]["leaf_index"] += 1
    elif how == "size":
        lines[2]["inclusion"]["tree_size"] += 1
    elif how == "order":
        lines[2], lines[3] = lines[3], lines[2]
        position = lines[3]["position"]
    else:
        header["checkpoint"]["root"] = "ab" * 32
        position = lines[0]["position"]
    write_lines(out, [header, *lines])
    report = _verify(out)
    assert not report.intact and report.broken_at == position, report


def test_since_export_is_complete_so_a_dropped_line_is_caught(reviewed: Tracker, run: Run, tmp_path: Path) -> None:
    out = _export(run, tmp_path, "--since", "40")
    header, *lines = read_lines(out)
    assert [line["position"] for line in lines] == list(range(41, header["checkpoint"]["size"] + 1))
    write_lines(out, [header, *lines[:5], *lines[6:]])
    report = _verify(out)
    assert report.broken_at == 46 and "missing" in (report.problem or "")
    write_lines(out, [header, *lines[:-1]])
    report = _verify(out)
    assert report.broken_at == header["checkpoint"]["size"] and "ends at position" in (report.problem or "")


def test_an_event_taken_out_of_a_claims_history_is_caught(tracker: Tracker, tmp_path: Path) -> None:
    """A selection holds whole streams (or their tails after ``since``), and a stream's versions
    are gapless: a retraction, a correction or a verdict taken out of a party's export, with the
    claim's later events kept, is caught at the next one, however the header is trusted. A
    stream's last events, or the first of its tail after ``since``, only the log can show missing."""
    tracker.add_party("north", name="North")
    tracker.add_topic("talks", title="Talks")
    tracker.add_source("wire", name="Wire")
    tracker.add_claim(id="k", party="north", topic="talks", said_on="2023-01-01", source="wire", text="X happened.")
    tracker.retract("k", on="2023-01-05", source="wire", reason="withdrawn")
    tracker.correct("k", text="X happened, they said.", reason="our typo")
    tracker.verdict("k", rating="false", by="wire")
    run = runner(tracker.url)
    for options in (("--party", "north"), ("--topic", "talks"), ("--party", "north", "--since", "4")):
        header, *lines = read_lines(_export(run, tmp_path, *options))
        history = [line for line in lines if line["stream_id"] == "claim:k"]
        assert [line["stream_version"] for line in history] == list(range(history[0]["stream_version"], 5))
        out = tmp_path / "taken.jsonl"
        if "--since" in options:  # the tail's first event: only the log can tell
            write_lines(out, [header, *(line for line in lines if line is not history[0])])
            assert _verify(out).intact
            history = history[1:]
        for taken, following in itertools.pairwise(history):
            write_lines(out, [header, *(line for line in lines if line is not taken)])
            report = _verify(out)
            assert report.broken_at == following["position"], (options, taken["type"])
            missing = f"claim:k version {taken['stream_version']} is missing"
            if taken["type"] == "ClaimAsserted":
                missing = "an event of claim k, whose assertion the file does not hold"
            assert missing in (report.problem or "")
        write_lines(out, [header, *(line for line in lines if line is not history[-1])])
        assert _verify(out).intact  # the last event of a stream: only the log can tell
    header, *lines = read_lines(_export(run, tmp_path, "--party", "north"))
    write_lines(out, [header, *(line for line in lines if line["type"] != "PartyRegistered")])
    assert _verify(out).intact  # a whole stream: only the log can tell
    result = run("verify", "--file", str(out))
    assert result.exit_code == 0, result.stderr
    write_lines(out, [header, *(line for line in lines if line["type"] != "ClaimRetracted")])
    result = run("verify", "--file", str(out))
    assert result.exit_code == 1
    assert "claim:k version 2 is missing: the file holds its version 3 after 1" in result.stderr


def test_a_header_that_states_another_selection_than_its_lines_is_caught(
    reviewed: Tracker, run: Run, tmp_path: Path
) -> None:
    """The header's filter is checked against the lines, as far as lines can show it: relabelled,
    a party's export or a --since export (whose completeness check a party label would switch off)
    fails at the first line that cannot belong to the stated selection."""
    out = _export(run, tmp_path, "--party", "russia")
    header, *lines = read_lines(out)
    write_lines(out, [{**header, "filtered": {"party": "united-states"}}, *lines])
    report = _verify(out)
    assert report.broken_at == lines[0]["position"] and "not of the selection" in (report.problem or "")
    since = _export(run, tmp_path, "--since", "40")
    header, *lines = read_lines(since)
    write_lines(since, [{**header, "filtered": {"party": "russia"}}, *lines[1:]])  # and the first line dropped
    report = _verify(since)
    assert not report.intact and report.broken_at is not None and "selection" in (report.problem or "")
    result = run("verify", "--file", str(since))
    assert result.exit_code == 1 and "not of the selection the header states" in result.stderr
    # A header that names no selection, or an empty one, would switch the --since check off too.
    for filtered in ({"since": 40, "party": None}, {"since": 40, "note": "x"}, {"since": 0}, {}):
        write_lines(since, [{**header, "filtered": filtered}, *lines[1:]])
        report = _verify(since)
        assert not report.intact and "bad header" in (report.problem or ""), filtered


def test_another_partys_line_with_a_valid_proof_is_caught_in_a_party_export(
    reviewed: Tracker, run: Run, tmp_path: Path
) -> None:
    """A line taken from another export of the same log carries a valid proof against the same
    checkpoint: another party's assertion is still refused, and so is a later event of a claim
    whose assertion the file does not hold."""
    party = read_lines(_export(run, tmp_path, "--party", "russia"))
    everything = read_lines(_export(run, tmp_path, "--since", "1"))
    header, ours = party[0], party[1:]
    held = {line["stream_id"] for line in ours}
    intruder = next(
        line for line in everything[1:] if line["type"] == "ClaimAsserted" and line["stream_id"] not in held
    )
    out = tmp_path / "intruded.jsonl"
    write_lines(out, [header, *sorted([*ours, intruder], key=lambda line: line["position"])])
    report = _verify(out)
    assert report.broken_at == intruder["position"] and "is not of the selection" in (report.problem or ""), report
    later = next(line for line in ours if line["stream_id"].startswith("claim:") and line["type"] != "ClaimAsserted")
    without_assertion = [
        line for line in ours if not (line["stream_id"] == later["stream_id"] and line["type"] == "ClaimAsserted")
    ]
    write_lines(out, [header, *without_assertion])
    report = _verify(out)
    assert report.broken_at == later["position"] and "whose assertion the file does not hold" in (report.problem or "")
    write_lines(out, [{**header, "filtered": {**header["filtered"], "since": 0}}, *without_assertion])
    assert not _verify(out).intact  # no since of 0 excuses it: such a header is refused


def test_filtered_export_against_a_given_checkpoint(reviewed: Tracker, run: Run, tmp_path: Path) -> None:
    current = write_json(tmp_path / "now.json", reviewed.checkpoint())
    older = write_json(tmp_path / "older.json", reviewed.checkpoint(40))
    out = _export(run, tmp_path, "--party", "russia")
    result = run("verify", "--file", str(out), "--checkpoint", current)
    assert result.exit_code == 0 and "matches checkpoint" in result.stderr
    result = run("verify", "--file", str(out), "--checkpoint", older)
    assert result.exit_code == 1
    assert f"is not checkpoint {older} (size 40" in result.stderr and "prove --consistency 40" in result.stderr


def test_verify_trail_reads_a_header_only_by_its_format() -> None:
    bad = io.StringIO('{"format": "something-else/v9", "filtered": {}, "checkpoint": {"size": 0, "root": ""}}\n')
    report = verify_trail(bad, "bad.jsonl")
    assert not report.intact and "unknown trail format" in (report.problem or "")


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=1, max_value=300), st.data())
def test_tree_levels_give_the_rfc6962_root_and_paths(size: int, data: st.DataObject) -> None:
    leaves = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(size)]
    levels = TreeLevels.of(leaves)
    assert levels.size == size and levels.root() == merkle.root(leaves)
    for index in {0, size - 1, data.draw(st.integers(min_value=0, max_value=size - 1))}:
        assert levels.leaf(index) == leaves[index]
        assert levels.path(index) == merkle.inclusion_proof(leaves, index)


def test_tree_levels_of_nothing() -> None:
    levels = TreeLevels(b"")
    assert levels.size == 0 and levels.root() == merkle.EMPTY_ROOT
    with pytest.raises(ValueError):
        levels.path(0)


def test_a_selection_is_the_events_its_rules_name_whatever_the_texts_quote(tracker: Tracker) -> None:
    """A filtered export looks for the selection's ids in the stored payloads before it parses
    them. An id that is also another kind's (a source named like a topic) passes that look and must
    still be told apart; a text quoting an id is escaped in the payload and does not pass it."""
    tracker.add_party("russia", name="Russia", kind="state")
    tracker.add_party("china", name="China", kind="state")
    tracker.add_speaker("lavrov", name="Sergey Lavrov", party="russia")
    tracker.add_speaker("wang", name="Wang Yi", party="china")
    tracker.add_topic("g20", title="G20")
    tracker.add_topic("ukraine", title="Ukraine")
    tracker.add_source("tass", name="TASS")
    tracker.add_source("ukraine", name="A source named like a topic")
    claims = []
    for number, (party, speaker, topic) in enumerate(
        [("russia", "lavrov", "g20"), ("china", "wang", "ukraine"), ("russia", None, "ukraine"), ("china", None, "g20")]
    ):
        quoted = '"china" "g20" "russia" "ukraine" "party":"china","topic":"g20"'
        outcome = tracker.add_claim(
            party=party, speaker=speaker, topic=topic, said_on="2023-03-02", source="ukraine", via=["tass"],
            text=f"claim {number} quoting {quoted}", quote=quoted,
        )  # fmt: skip
        claims.append(outcome.id)
    tracker.retract(claims[0], on="2023-03-05", source="tass")
    tracker.correct(claims[1], reason="typo", text="claim 1, corrected")
    lines = list(tracker.log())
    asserted = {
        line["stream_id"]: line["payload"] for line in lines if line["type"] == "ClaimAsserted"
    }  # the claims' party and topic, as their assertions record them

    def expected(party: str | None, topic: str | None) -> list[int]:
        def wanted(line: dict[str, Any]) -> bool:
            kind, _, ident = line["stream_id"].partition(":")
            if kind == "claim":
                payload = asserted[line["stream_id"]]
                return party in (None, payload["party"]) and topic in (None, payload["topic"])
            return (
                (kind == "party" and ident == party)
                or (kind == "speaker" and party is not None and line["payload"]["party"] == party)
                or (kind == "topic" and ident == topic)
            )

        return [line["position"] for line in lines if wanted(line)]

    for party, topic in [
        ("russia", None),
        (None, "g20"),
        ("china", "g20"),
        ("russia", "ukraine"),
        ("china", "ukraine"),
    ]:
        out = io.StringIO()
        tracker.export("jsonl", out, party=party, topic=topic)
        _, *selected = (json.loads(text) for text in out.getvalue().splitlines())
        assert [line["position"] for line in selected] == expected(party, topic), (party, topic)
        assert any(line["stream_id"].startswith("claim:") for line in selected)


def test_a_filtered_exports_progress_counts_the_events_read_past(
    reviewed: Tracker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database leaves most rows out of a party's export; its progress still counts the events
    of the log read past, every PROGRESS_EVERY of them and all of them at the end, as a whole-log
    export's does."""
    from claims.service import audit

    monkeypatch.setattr(audit, "PROGRESS_EVERY", 7)
    size = reviewed.checkpoint()["size"]
    told: list[int] = []
    reviewed.export("jsonl", io.StringIO(), party="russia", progress=told.append)
    assert told[-1] == size
    steps = told[:-1]
    assert len(steps) >= size // 7 - 2 and steps == sorted(set(steps))
    assert all(b // 7 > a // 7 for a, b in zip([0, *steps], steps, strict=False))


def test_a_filtered_export_still_refuses_an_assertion_of_a_newer_schema(tracker: Tracker) -> None:
    """An assertion of a schema version newer than this code is read whole, whatever the selection,
    and refused as every other reader refuses it, not passed over as naming another topic."""
    tracker.add_party("russia", name="Russia", kind="state")
    tracker.add_topic("g20", title="G20")
    tracker.add_topic("ukraine", title="Ukraine")
    tracker.add_source("tass", name="TASS")
    tracker.add_claim(party="russia", topic="g20", said_on="2023-03-02", source="tass", text="Said once.")
    with tracker.engine.begin() as connection:
        row = dict(connection.execute(text("SELECT * FROM events ORDER BY position DESC LIMIT 1")).mappings().one())
        row.update(
            position=row["position"] + 1,
            event_id=str(uuid.uuid4()),
            stream_id="claim:from-a-newer-claims",
            schema_version=ev.ClaimAsserted.SCHEMA_VERSION + 1,
        )
        columns = ", ".join(row)
        connection.execute(text(f"INSERT INTO events ({columns}) VALUES ({', '.join(':' + k for k in row)})"), row)
    with pytest.raises(StorageError, match="upgrade claims"):
        tracker.export("jsonl", io.StringIO(), topic="ukraine")
