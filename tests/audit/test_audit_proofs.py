"""Checkpoints and proofs from the command line, checked as an outsider would: with merkle only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from claims.api import Tracker
from claims.domain import merkle
from claims.service import audit
from tests.audit.helpers import ZAKHAROVA, Run, runner, write_json


def _json(output: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(output)
    return loaded


def test_checkpoint_is_deterministic_and_names_its_last_event(seeded: Tracker, run: Run) -> None:
    first, second = run("checkpoint"), run("checkpoint")
    assert first.exit_code == 0 and first.stdout == second.stdout
    checkpoint = _json(first.stdout)
    log = list(seeded.log())
    assert checkpoint == {
        "size": len(log),
        "root": merkle.to_hex(merkle.root([merkle.event_leaf_hash(line["hash"]) for line in log])),
        "recorded_at": log[-1]["recorded_at"],
    }


def test_consistency_proofs_between_checkpoints_taken_at_different_times(
    seeded: Tracker, run: Run, tmp_path: Path
) -> None:
    early = _json(run("checkpoint").stdout)
    seeded.add_source("checker", name="Checker", kind="fact-checker")
    seeded.verdict(ZAKHAROVA, rating="false", by="checker")
    middle = _json(run("checkpoint").stdout)
    middle_file = write_json(tmp_path / "middle.json", middle)
    seeded.retract(ZAKHAROVA, on="2023-03-05")
    late = _json(run("checkpoint").stdout)
    assert early["size"] < middle["size"] < late["size"]

    def check(old: dict[str, Any], new: dict[str, Any], *extra: str) -> None:
        result = run("prove", "--consistency", str(old["size"]), *extra)
        assert result.exit_code == 0, result.stderr
        proof = _json(result.stdout)
        assert set(proof) == {"old_size", "new_size", "old_root", "new_root", "proof"}
        assert (proof["old_size"], proof["new_size"]) == (old["size"], new["size"])
        assert (proof["old_root"], proof["new_root"]) == (old["root"], new["root"])
        hashes = [merkle.from_hex(h) for h in proof["proof"]]
        assert merkle.verify_consistency(
            old["size"], new["size"], merkle.from_hex(old["root"]), merkle.from_hex(new["root"]), hashes
        )
        assert not merkle.verify_consistency(
            old["size"],
            new["size"],
            merkle.from_hex(old["root"]),
            merkle.from_hex(late["root"] if new is not late else middle["root"]),
            hashes,
        )

    check(early, late)
    check(middle, late)
    check(early, middle, "--checkpoint", middle_file)  # against a checkpoint the log has since grown past
    same = _json(run("prove", "--consistency", str(late["size"])).stdout)
    assert same["proof"] == [] and same["old_root"] == same["new_root"] == late["root"]


def test_every_consistency_proof_of_the_seed_verifies(seeded: Tracker) -> None:
    current = seeded.checkpoint()
    for old_size in range(1, current["size"] + 1):
        proof = seeded.prove_consistency(old_size)
        old_root = merkle.from_hex(seeded.checkpoint(old_size)["root"])
        assert merkle.verify_consistency(
            old_size,
            current["size"],
            old_root,
            merkle.from_hex(current["root"]),
            [merkle.from_hex(h) for h in proof["proof"]],
        ), old_size


@pytest.mark.parametrize("page_height", [0, 1, 2, 3])
def test_checkpoints_and_proofs_read_in_pages_equal_the_tree_over_every_leaf(
    seeded: Tracker, monkeypatch: pytest.MonkeyPatch, page_height: int
) -> None:
    """Leaves are read a page at a time, and a checkpoint takes each full page as one subtree; with
    pages of 1 to 8 leaves on the seed's log, every prefix still has the root of all its leaves,
    and every inclusion proof its path (the real pages hold 4,096)."""
    monkeypatch.setattr(audit, "PAGE_HEIGHT", page_height)
    monkeypatch.setattr(audit, "PAGE_LEAVES", 1 << page_height)
    leaves = [merkle.event_leaf_hash(line["hash"]) for line in seeded.log()]
    for size in range(len(leaves) + 1):
        checkpoint = seeded.checkpoint(size)
        assert checkpoint["root"] == merkle.to_hex(merkle.root(leaves[:size])), size
    for position in range(1, len(leaves) + 1):
        proof = seeded.prove_inclusion(position)
        assert [merkle.from_hex(h) for h in proof["audit_path"]] == merkle.inclusion_proof(leaves, position - 1)


def test_inclusion_proofs_of_a_claim_and_a_position(seeded: Tracker, run: Run, tmp_path: Path) -> None:
    then = seeded.checkpoint()
    then_file = write_json(tmp_path / "then.json", then)
    seeded.add_source("checker", name="Checker", kind="fact-checker")
    seeded.verdict(ZAKHAROVA, rating="false", by="checker")
    log = {line["position"]: line for line in seeded.log()}
    asserted = next(p for p, line in log.items() if line["stream_id"] == f"claim:{ZAKHAROVA}")

    for args, size, root in (
        ((ZAKHAROVA,), len(log), seeded.checkpoint()["root"]),
        (("--position", str(asserted)), len(log), seeded.checkpoint()["root"]),
        ((ZAKHAROVA, "--checkpoint", then_file), then["size"], then["root"]),
    ):
        result = run("prove", *args)
        assert result.exit_code == 0, result.stderr
        proof = _json(result.stdout)
        assert set(proof) == {"position", "leaf_index", "tree_size", "leaf_hash", "audit_path", "root"}
        assert proof["position"] == asserted and proof["leaf_index"] == asserted - 1
        assert (proof["tree_size"], proof["root"]) == (size, root)
        leaf = merkle.event_leaf_hash(log[asserted]["hash"])
        assert proof["leaf_hash"] == merkle.to_hex(leaf)
        path = [merkle.from_hex(h) for h in proof["audit_path"]]
        assert merkle.verify_inclusion(leaf, asserted - 1, size, path, merkle.from_hex(root))
        assert not merkle.verify_inclusion(leaf, asserted, size, path, merkle.from_hex(root))


def test_proof_errors_say_what_is_wrong(seeded: Tracker, run: Run, tmp_path: Path) -> None:
    size = seeded.checkpoint()["size"]
    usage = run("prove")
    assert usage.exit_code == 2 and "exactly one of CLAIM, --position or --consistency" in usage.stderr
    assert run("prove", ZAKHAROVA, "--position", "3").exit_code == 2
    unknown = run("prove", "no-such-claim")
    assert unknown.exit_code == 1 and "unknown claim: no-such-claim" in unknown.stderr
    beyond = run("prove", "--position", str(size + 1))
    assert beyond.exit_code == 1 and f"position {size + 1} is not in a tree of {size} events" in beyond.stderr
    too_big = run("prove", "--consistency", str(size + 5))
    assert too_big.exit_code == 1 and f"no consistency proof from size {size + 5}" in too_big.stderr
    future = write_json(tmp_path / "future.json", {"size": size + 10, "root": "ab" * 32, "recorded_at": None})
    ahead = run("prove", "--consistency", "2", "--checkpoint", future)
    assert ahead.exit_code == 1
    assert f"does not extend checkpoint {future} (size {size + 10}" in ahead.stderr and "truncated" in ahead.stderr
    one = run("prove", "--consistency", "2", "--checkpoint", write_json(tmp_path / "one.json", seeded.checkpoint(1)))
    assert one.exit_code == 1 and "the tree has 1 event (old size must be between 1 and 1)" in one.stderr
    garbage = tmp_path / "garbage.json"
    garbage.write_text('{"size": "many"}', encoding="utf-8")
    bad = run("verify", "--checkpoint", str(garbage))
    assert bad.exit_code == 1 and "not a checkpoint" in bad.stderr


def test_verify_with_a_checkpoint_of_today_and_of_the_past(seeded: Tracker, run: Run, tmp_path: Path) -> None:
    past = write_json(tmp_path / "past.json", seeded.checkpoint(10))
    now = write_json(tmp_path / "now.json", seeded.checkpoint())
    for checkpoint, size in ((past, 10), (now, seeded.checkpoint()["size"])):
        result = run("verify", "--checkpoint", checkpoint)
        assert result.exit_code == 0
        assert f"extends checkpoint {checkpoint} (size {size})" in result.stderr


def test_a_consistency_proof_of_an_empty_log_says_it_is_empty(tracker: Tracker) -> None:
    result = runner(tracker.url)("prove", "--consistency", "1")
    assert result.exit_code == 1
    assert result.stderr == "Error: no consistency proof from size 1: the log is empty\n"
