"""Tampering is detected and named: the position for a chain, the checkpoint and its size otherwise.

(a) a changed line in an export; (b) a row rewritten in the database with its triggers switched
off; (c) a truncated log, caught with a checkpoint taken before; (d) a rewritten and fully
re-hashed history, whose chain is intact again, caught only with a checkpoint taken before.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from sqlalchemy import text

from claims.api import Tracker
from tests.audit.helpers import (
    ZAKHAROVA,
    Run,
    allow_rewrites,
    position_of,
    read_lines,
    rehash_from,
    rewrite_payload,
    truncate,
    write_json,
    write_lines,
)


def _deny(payload: dict[str, Any]) -> None:
    payload["text"] = "A real meeting took place."


def test_a_changed_line_in_an_export_is_named(seeded: Tracker, run: Run, tmp_path: Path) -> None:
    out = tmp_path / "trail.jsonl"
    assert run("export", "--out", str(out)).exit_code == 0
    lines = read_lines(out)
    position = position_of(seeded, ZAKHAROVA)
    _deny(lines[position - 1]["payload"])
    write_lines(out, lines)
    result = run("verify", "--file", str(out))
    assert result.exit_code == 1
    assert f"broken at position {position}: hash does not match the line's content" in result.stderr


def test_a_dropped_or_reordered_export_line_is_named(seeded: Tracker, run: Run, tmp_path: Path) -> None:
    out = tmp_path / "trail.jsonl"
    assert run("export", "--out", str(out)).exit_code == 0
    lines = read_lines(out)
    write_lines(out, lines[:9] + lines[10:])
    result = run("verify", "--file", str(out))
    assert result.exit_code == 1 and "broken at position 10: expected position 10, found 11" in result.stderr


def test_a_truncated_export_is_caught_only_with_a_checkpoint(seeded: Tracker, run: Run, tmp_path: Path) -> None:
    checkpoint = write_json(tmp_path / "checkpoint.json", seeded.checkpoint())
    size = seeded.checkpoint()["size"]
    out = tmp_path / "trail.jsonl"
    assert run("export", "--out", str(out)).exit_code == 0
    write_lines(out, read_lines(out)[:-3])
    assert run("verify", "--file", str(out)).exit_code == 0
    result = run("verify", "--file", str(out), "--checkpoint", checkpoint)
    assert result.exit_code == 1
    assert f"does not extend checkpoint {checkpoint} (size {size}," in result.stderr
    assert f"only {size - 3} events (truncated)" in result.stderr


def test_an_export_covers_an_older_checkpoint_as_a_prefix(seeded: Tracker, run: Run, tmp_path: Path) -> None:
    older = write_json(tmp_path / "older.json", seeded.checkpoint(20))
    out = tmp_path / "trail.jsonl"
    assert run("export", "--out", str(out)).exit_code == 0
    result = run("verify", "--file", str(out), "--checkpoint", older)
    assert result.exit_code == 0 and "matches checkpoint" in result.stderr


def test_a_row_rewritten_in_the_database_is_named(seeded: Tracker, run: Run) -> None:
    assert run("verify").exit_code == 0
    position = position_of(seeded, ZAKHAROVA)
    allow_rewrites(seeded)
    rewrite_payload(seeded, position, _deny)
    assert seeded.verify().broken_at == position
    result = run("verify")
    assert result.exit_code == 1
    assert f"the log: chain broken at position {position}: hash does not match" in result.stderr


def test_a_truncated_log_is_caught_with_a_checkpoint_taken_before(seeded: Tracker, run: Run, tmp_path: Path) -> None:
    taken = seeded.checkpoint()
    checkpoint = write_json(tmp_path / "before.json", taken)
    allow_rewrites(seeded)
    truncate(seeded, taken["size"] - 4)
    plain = run("verify")  # what is left is a perfectly good chain, but the projections remember more
    assert plain.exit_code == 1 and "4 events were deleted from its end" in plain.stderr
    assert run("projections", "rebuild").exit_code == 0  # and now they forget it: only the checkpoint knows
    assert run("verify").exit_code == 0
    result = run("verify", "--checkpoint", checkpoint)
    assert result.exit_code == 1
    assert f"does not extend checkpoint {checkpoint} (size {taken['size']}, root {taken['root'][:16]}" in result.stderr
    assert f"only {taken['size'] - 4} events (truncated)" in result.stderr
    proof = run("prove", "--position", "1", "--checkpoint", checkpoint)
    assert proof.exit_code == 1 and f"checkpoint {checkpoint} (size {taken['size']}" in proof.stderr


def test_a_rehashed_history_passes_the_chain_but_not_the_checkpoint(seeded: Tracker, run: Run, tmp_path: Path) -> None:
    taken = seeded.checkpoint()
    old = write_json(tmp_path / "old.json", taken)
    position = position_of(seeded, ZAKHAROVA)
    allow_rewrites(seeded)
    rehash_from(seeded, position, _deny)

    assert seeded.verify().intact
    plain = run("verify")
    assert plain.exit_code == 0 and "chain intact" in plain.stderr
    result = run("verify", "--checkpoint", old)
    assert result.exit_code == 1
    assert f"does not extend checkpoint {old} (size {taken['size']}, root {taken['root'][:16]}" in result.stderr
    assert "history was rewritten" in result.stderr

    # an export of the rewritten log is a good chain too, and fails against the old checkpoint
    out = tmp_path / "rewritten.jsonl"
    assert run("export", "--out", str(out)).exit_code == 0
    assert run("verify", "--file", str(out)).exit_code == 0
    against = run("verify", "--file", str(out), "--checkpoint", old)
    assert against.exit_code == 1 and f"checkpoint {old} (size {taken['size']}" in against.stderr

    # and no consistency proof can be had from the old checkpoint's tree
    consistency = run("prove", "--consistency", "3", "--checkpoint", old)
    assert consistency.exit_code == 1
    assert f"does not extend checkpoint {old} (size {taken['size']}" in consistency.stderr


def test_a_rehash_after_the_checkpoint_is_no_tampering(seeded: Tracker, run: Run, tmp_path: Path) -> None:
    """Only history the checkpoint covers is protected by it; later events still need the chain."""
    taken = write_json(tmp_path / "early.json", seeded.checkpoint(20))
    allow_rewrites(seeded)
    rehash_from(seeded, position_of(seeded, ZAKHAROVA), _deny)
    assert run("verify", "--checkpoint", taken).exit_code == 0


def test_a_payload_stored_in_other_bytes_of_the_same_meaning_is_named(seeded: Tracker) -> None:
    """verify hashes the stored payload text itself: re-serialised with spaces (a JSON value equal
    to the original), it is no longer what was hashed, and the whole-log export writes it as stored."""
    position = position_of(seeded, ZAKHAROVA)
    original = next(seeded.log(since=position - 1, limit=1))["payload"]
    allow_rewrites(seeded)
    with seeded.engine.begin() as connection:
        connection.execute(
            text("UPDATE events SET payload = :payload WHERE position = :position"),
            {"payload": json.dumps(original, sort_keys=True, separators=(", ", ": ")), "position": position},
        )
    assert seeded.verify().broken_at == position
    out = io.StringIO()
    seeded.export("jsonl", out)
    exported = json.loads(out.getvalue().splitlines()[position - 1])
    assert exported["payload"] == original


def _export_text(run: Run, tmp_path: Path) -> tuple[Path, list[str]]:
    out = tmp_path / "trail.jsonl"
    assert run("export", "--out", str(out)).exit_code == 0
    return out, out.read_text(encoding="utf-8").splitlines(keepends=True)


def test_a_line_with_a_repeated_key_is_refused_though_its_last_value_hashes(
    seeded: Tracker, run: Run, tmp_path: Path
) -> None:
    """JSON parsers keep the last of a repeated key, people and other parsers may read the first:
    a forged first ``payload`` would show one text while the hashed one verifies."""
    out, lines = _export_text(run, tmp_path)
    position = position_of(seeded, ZAKHAROVA)
    lines[position - 1] = '{"payload":{"text":"A real meeting took place."},' + lines[position - 1][1:]
    out.write_text("".join(lines), encoding="utf-8")
    result = run("verify", "--file", str(out))
    assert result.exit_code == 1
    assert f"line {position}: not valid JSON: duplicate key 'payload'" in result.stderr


def test_nan_in_place_of_null_is_refused(seeded: Tracker, run: Run, tmp_path: Path) -> None:
    """orjson writes NaN as null, so the line would hash as it did: NaN is not JSON, and is refused."""
    out, lines = _export_text(run, tmp_path)
    assert '"said_at":null' in lines[0]
    for constant in ("NaN", "-Infinity"):
        out.write_text("".join([lines[0].replace('"said_at":null', f'"said_at":{constant}'), *lines[1:]]))
        result = run("verify", "--file", str(out))
        assert result.exit_code == 1 and f"line 1: not valid JSON: {constant}" in result.stderr


def test_a_lone_surrogate_escaped_into_a_line_breaks_the_chain_there(seeded: Tracker, run: Run, tmp_path: Path) -> None:
    out, lines = _export_text(run, tmp_path)
    position = position_of(seeded, ZAKHAROVA)
    line = json.loads(lines[position - 1])
    word = line["payload"]["text"].split()[0]
    lines[position - 1] = lines[position - 1].replace(word, "\\ud800" + word[1:], 1)
    out.write_text("".join(lines), encoding="utf-8")
    result = run("verify", "--file", str(out))
    assert result.exit_code == 1
    assert f"broken at position {position}: hash does not match" in result.stderr


def test_deep_nesting_and_endless_numbers_are_one_error_line(seeded: Tracker, run: Run, tmp_path: Path) -> None:
    deep = tmp_path / "deep.jsonl"
    deep.write_text("[" * 100_000 + "]" * 100_000 + "\n")
    long_number = tmp_path / "number.jsonl"
    long_number.write_text('{"position": ' + "9" * 5000 + "}\n")
    nested_checkpoint = tmp_path / "checkpoint.json"
    nested_checkpoint.write_text("[" * 5000 + "]" * 5000)
    long_checkpoint = tmp_path / "long.json"
    long_checkpoint.write_text('{"size": ' + "9" * 5000 + "}")
    for args, expected in [
        (("verify", "--file", str(deep)), "line 1: nested too deeply"),
        (("verify", "--file", str(long_number)), "line 1: a value cannot be read"),
        (("verify", "--checkpoint", str(nested_checkpoint)), "nested too deeply"),
        (("prove", "--position", "1", "--checkpoint", str(nested_checkpoint)), "nested too deeply"),
        (("verify", "--checkpoint", str(long_checkpoint)), "a value cannot be read"),
    ]:
        result = run(*args)
        assert result.exit_code == 1 and "Traceback" not in result.output, result.output
        [line] = result.stderr.strip().splitlines()
        assert line.startswith("Error: ") and expected in line


def test_a_checkpoint_root_in_capitals_is_the_same_root(seeded: Tracker, run: Run, tmp_path: Path) -> None:
    checkpoint = seeded.checkpoint()
    capitals = write_json(tmp_path / "capitals.json", {**checkpoint, "root": checkpoint["root"].upper()})
    out = tmp_path / "trail.jsonl"
    assert run("export", "--out", str(out)).exit_code == 0
    assert run("verify", "--checkpoint", capitals).exit_code == 0
    assert run("verify", "--file", str(out), "--checkpoint", capitals).exit_code == 0
    assert run("prove", "--position", "1", "--checkpoint", capitals).exit_code == 0
    # bytes.fromhex skips spaces: a root with one is not 64 hex digits, so no checkpoint at all
    spaced = write_json(tmp_path / "spaced.json", {**checkpoint, "root": checkpoint["root"][:62] + " " + "ab"})
    result = run("verify", "--checkpoint", spaced)
    assert result.exit_code == 1 and "not a checkpoint" in result.stderr
