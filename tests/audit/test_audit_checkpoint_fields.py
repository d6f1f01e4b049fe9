"""A checkpoint's ``recorded_at`` is held to the log, and ``verify --file`` names its file.

SPEC section 6: a checkpoint is ``{"size", "root", "recorded_at"}``, ``recorded_at`` being the
recorded time of the last event it covers. Nothing commits to it (the root covers the events), so
it was once never looked at: a checkpoint, or a filtered export's header, with ``"recorded_at":
"garbage"`` or another event's time passed as the log's. Now its form is checked wherever a
checkpoint is read, and its value wherever the covered event is at hand: in the database
(``verify --checkpoint``, ``prove --checkpoint``), in a whole-log export, and in a filtered
export's own lines. And a ``verify --file`` of bytes that are not UTF-8 names the file, as its
every other error does.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from claims.api import Tracker
from claims.cli import cli
from claims.domain import merkle
from claims.domain.errors import IntegrityError, ValidationError
from claims.io.report import render_report
from claims.service.audit import check_checkpoint
from tests.audit.helpers import ZAKHAROVA, Run, read_lines, runner, write_json, write_lines

ANOTHER_TIME = "2020-01-01T00:00:00.000000Z"  # in the log's form, but no event's time
LATER_TIME = "2999-01-01T00:00:00.000000Z"


@pytest.fixture
def reviewed(shared_reviewed: Tracker) -> Tracker:
    """The reviewed seed, one database per backend for the module: these tests only read."""
    return shared_reviewed


@pytest.fixture
def run(shared_url: str) -> Run:
    return runner(shared_url)


def _error_line(result: Any) -> str:
    """The one line a refused command writes, checked to be one ``Error:`` line and exit 1."""
    assert result.exit_code == 1, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.stderr
    return str(lines[0])


def _export(run: Run, path: Path, *options: str) -> Path:
    result = run("export", *options, "--out", str(path))
    assert result.exit_code == 0, result.stderr
    return path


# -- the form of recorded_at, wherever a checkpoint is read -----------------------------------------


@pytest.mark.parametrize(
    "recorded_at",
    [
        "garbage",
        "2026-11-27T10:00:00Z",  # no microseconds
        "2026-11-27T10:00:00.123456z",
        "2026-11-27 10:00:00.123456Z",
        "2026-11-27T10:00:00.123456+00:00",
        "2026-02-30T10:00:00.123456Z",  # no such day
        "２０２６-11-27T10:00:00.123456Z",  # digits that are not ASCII
        "",
        12345,
        ["2026-11-27T10:00:00.123456Z"],
    ],
)
def test_a_recorded_at_not_in_the_log_form_is_not_a_checkpoint(recorded_at: Any) -> None:
    given = {"size": 3, "root": "ab" * 32, "recorded_at": recorded_at}
    assert not merkle.is_checkpoint(given)
    with pytest.raises(ValidationError, match=r"^not a checkpoint: recorded_at .* is not a recorded time"):
        check_checkpoint(given)


def test_a_recorded_at_in_the_log_form_or_null_has_the_shape() -> None:
    assert merkle.is_checkpoint({"size": 3, "root": "ab" * 32, "recorded_at": "2026-11-27T10:00:00.123456Z"})
    assert merkle.is_checkpoint({"size": 0, "root": merkle.EMPTY_ROOT.hex(), "recorded_at": None})
    # A checkpoint of no event has no event's time.
    empty = {"size": 0, "root": merkle.EMPTY_ROOT.hex(), "recorded_at": "2026-11-27T10:00:00.123456Z"}
    assert not merkle.is_checkpoint(empty)
    with pytest.raises(ValidationError, match="a checkpoint of size 0 covers none"):
        check_checkpoint(empty)


def test_every_command_that_reads_a_checkpoint_refuses_a_bad_recorded_at(
    reviewed: Tracker, run: Run, tmp_path: Path
) -> None:
    garbage = write_json(tmp_path / "garbage.json", {**reviewed.checkpoint(), "recorded_at": "garbage"})
    trail = _export(run, tmp_path / "trail.jsonl")
    for args in (
        ("verify", "--checkpoint", garbage),
        ("verify", "--file", str(trail), "--checkpoint", garbage),
        ("prove", "--position", "3", "--checkpoint", garbage),
        ("prove", ZAKHAROVA, "--checkpoint", garbage),
        ("prove", "--consistency", "2", "--checkpoint", garbage),
    ):
        line = _error_line(run(*args))
        assert 'not a checkpoint: recorded_at "garbage" is not a recorded time' in line, args


# -- its value, against the database ----------------------------------------------------------------


def _changed(tmp_path: Path, checkpoint: dict[str, Any], recorded_at: str | None, name: str) -> str:
    return write_json(tmp_path / name, {**checkpoint, "recorded_at": recorded_at})


def test_verify_against_the_database_holds_the_checkpoint_to_its_last_event_time(
    reviewed: Tracker, run: Run, tmp_path: Path
) -> None:
    log = list(reviewed.log())
    for size in (len(log), 10):
        kept = reviewed.checkpoint(size)
        actual = log[size - 1]["recorded_at"]
        assert kept["recorded_at"] == actual
        true = write_json(tmp_path / f"true-{size}.json", kept)
        ok = run("verify", "--checkpoint", true)
        assert ok.exit_code == 0 and f"extends checkpoint {true} (size {size})" in ok.stderr

        other = _changed(tmp_path, kept, ANOTHER_TIME, f"other-{size}.json")
        line = _error_line(run("verify", "--checkpoint", other))
        assert f"does not extend checkpoint {other} (size {size}, root {kept['root'][:16]}…)" in line
        assert f"its event {size} was recorded at {actual}, not at {ANOTHER_TIME} as the checkpoint says" in line

        # One that states no time (saved as {"size", "root"}, as the report's footer once advised)
        # claims none: it is held to its root alone, and a wrong root still fails it.
        for stated in ({"recorded_at": None}, {}):
            rootonly = {"size": kept["size"], "root": kept["root"], **stated}
            found = run("verify", "--checkpoint", write_json(tmp_path / f"root-only-{size}.json", rootonly))
            assert found.exit_code == 0 and f"(size {size})" in found.stderr, found.stderr
        wrong = {"size": kept["size"], "root": "0" * 64}
        line = _error_line(run("verify", "--checkpoint", write_json(tmp_path / f"wrong-{size}.json", wrong)))
        assert "history was rewritten" in line

    # The time of the event after the last covered one is no more the checkpoint's.
    shifted = {**reviewed.checkpoint(10), "recorded_at": log[10]["recorded_at"]}
    if shifted["recorded_at"] != log[9]["recorded_at"]:  # events of one import may share a time
        with pytest.raises(IntegrityError, match="its event 10 was recorded at"):
            reviewed.verify_checkpoint(shifted, name="shifted.json")


def test_prove_against_a_checkpoint_holds_it_to_its_last_event_time(
    reviewed: Tracker, run: Run, tmp_path: Path
) -> None:
    kept = reviewed.checkpoint()
    actual = list(reviewed.log())[-1]["recorded_at"]
    true = write_json(tmp_path / "true.json", kept)
    other = _changed(tmp_path, kept, ANOTHER_TIME, "other.json")
    for args in (("--position", "3"), (ZAKHAROVA,), ("--consistency", "2")):
        assert run("prove", *args, "--checkpoint", true).exit_code == 0, args
        line = _error_line(run("prove", *args, "--checkpoint", other))
        assert f"does not extend checkpoint {other} (size {kept['size']}" in line, args
        assert f"was recorded at {actual}, not at {ANOTHER_TIME} as the checkpoint says" in line, args


# -- its value, against an export -------------------------------------------------------------------


def test_a_whole_log_export_holds_the_checkpoint_to_its_line_of_the_last_event(
    reviewed: Tracker, run: Run, tmp_path: Path
) -> None:
    trail = _export(run, tmp_path / "trail.jsonl")
    lines = read_lines(trail)
    kept = reviewed.checkpoint(12)
    true = write_json(tmp_path / "true.json", kept)
    assert run("verify", "--file", str(trail), "--checkpoint", true).exit_code == 0
    other = _changed(tmp_path, kept, ANOTHER_TIME, "other.json")
    line = _error_line(run("verify", "--file", str(trail), "--checkpoint", other))
    assert line.startswith(f"Error: {trail}: does not extend checkpoint {other} (size 12")
    assert f"its event 12 was recorded at {lines[11]['recorded_at']}, not at {ANOTHER_TIME}" in line


def _with_header_time(path: Path, recorded_at: Any) -> Path:
    lines = read_lines(path)
    lines[0]["checkpoint"]["recorded_at"] = recorded_at
    changed = path.with_name(f"changed-{path.name}")
    write_lines(changed, lines)
    return changed


def test_a_filtered_export_header_with_a_recorded_at_not_in_the_log_form_is_a_bad_header(
    reviewed: Tracker, run: Run, tmp_path: Path
) -> None:
    russia = _export(run, tmp_path / "russia.jsonl", "--party", "russia")
    assert run("verify", "--file", str(russia)).exit_code == 0
    for recorded_at in ("bogus", "2026-11-27T10:00:00Z", 7):
        changed = _with_header_time(russia, recorded_at)
        line = _error_line(run("verify", "--file", str(changed)))
        assert line.startswith(f"Error: {changed}: bad header: the header's checkpoint is not one: recorded_at")
        assert "is not a recorded time" in line
    changed = _with_header_time(russia, None)
    line = _error_line(run("verify", "--file", str(changed)))
    assert "bad header: the header's checkpoint covers" in line and "has no recorded_at" in line


def test_a_filtered_export_header_time_is_checked_against_its_lines(
    reviewed: Tracker, run: Run, tmp_path: Path
) -> None:
    log = list(reviewed.log())
    size = len(log)
    # Earlier than a line it covers: caught from the file alone, for any selection.
    russia = _export(run, tmp_path / "russia.jsonl", "--party", "russia")
    first = read_lines(russia)[1]
    line = _error_line(run("verify", "--file", str(_with_header_time(russia, ANOTHER_TIME))))
    assert f"bad header: its checkpoint's recorded_at is {ANOTHER_TIME}, before event {first['position']}" in line
    # Later than the last event: caught where the file holds the last event (a --since export).
    since = _export(run, tmp_path / "since.jsonl", "--since", str(size - 3))
    assert run("verify", "--file", str(since)).exit_code == 0
    line = _error_line(run("verify", "--file", str(_with_header_time(since, LATER_TIME))))
    assert f"bad header: its checkpoint's recorded_at is {LATER_TIME}, but event {size}, the last it covers" in line
    assert f"was recorded at {log[-1]['recorded_at']}" in line


def test_a_filtered_export_header_must_have_the_given_checkpoint_time(
    reviewed: Tracker, run: Run, tmp_path: Path
) -> None:
    """A party's file may not hold the last event; the checkpoint a reader trusts still tells."""
    kept = reviewed.checkpoint()
    trusted = write_json(tmp_path / "trusted.json", kept)
    india = _export(run, tmp_path / "india.jsonl", "--party", "india")
    assert read_lines(india)[-1]["position"] < kept["size"]  # so the file alone cannot tell
    assert run("verify", "--file", str(india)).exit_code == 0
    assert run("verify", "--file", str(india), "--checkpoint", trusted).exit_code == 0
    changed = _with_header_time(india, LATER_TIME)
    line = _error_line(run("verify", "--file", str(changed), "--checkpoint", trusted))
    assert f"its recorded_at is {LATER_TIME}, not {kept['recorded_at']}" in line


def test_the_report_footer_gives_a_checkpoint_verify_accepts(reviewed: Tracker, run: Run, tmp_path: Path) -> None:
    page = render_report(reviewed.report_data())
    shown = re.search(r"save <code>(.*?)</code> to a file", page)
    assert shown is not None
    kept = tmp_path / "from-report.json"
    kept.write_text(shown.group(1).replace("&quot;", '"'), encoding="utf-8")
    result = run("verify", "--checkpoint", str(kept))
    assert result.exit_code == 0, result.stderr
    assert f"extends checkpoint {kept} (size {reviewed.checkpoint()['size']})" in result.stderr


# -- a file that is not UTF-8 -----------------------------------------------------------------------


def _verify_file(path: Path) -> Any:
    return CliRunner().invoke(cli, ["verify", "--file", str(path)], catch_exceptions=False)


@pytest.mark.parametrize("before", [b"", b'{"position": 1}\n', b"\n" * 20000])
def test_verify_file_names_a_file_that_is_not_utf8(tmp_path: Path, before: bytes) -> None:
    path = tmp_path / "bin.jsonl"
    path.write_bytes(before + b"\xff\n")
    line = _error_line(_verify_file(path))
    assert line == f"Error: {path}: not UTF-8 text (byte b'\\xff')"


def test_verify_file_names_a_filtered_export_that_is_not_utf8(reviewed: Tracker, run: Run, tmp_path: Path) -> None:
    russia = _export(run, tmp_path / "russia.jsonl", "--party", "russia")
    data = russia.read_bytes()
    cut = data.index(b"\n") + 1
    russia.write_bytes(data[:cut] + b"\xc3\x28" + data[cut:])
    line = _error_line(_verify_file(russia))
    assert line == f"Error: {russia}: not UTF-8 text (byte b'\\xc3')"
