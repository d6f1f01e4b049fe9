"""Checking a hash chain: the database's log and a whole-log JSONL export are checked alike."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from claims.store.hashing import GENESIS, line_hash


@dataclass(frozen=True, slots=True)
class ChainReport:
    """``size`` lines checked; ``broken_at`` the first bad position (None when intact) and why."""

    size: int
    head_hash: str
    broken_at: int | None = None
    problem: str | None = None

    @property
    def intact(self) -> bool:
        return self.broken_at is None


def check_chain(lines: Iterable[dict[str, Any]]) -> ChainReport:
    """Walk the lines in order; stop at the first that does not extend the chain."""
    prev_hash, expected, recorded_at = GENESIS, 1, ""
    for line in lines:
        position = line.get("position")
        problem = None
        if position != expected:
            problem = f"expected position {expected}, found {position}"
        elif line.get("prev_hash") != prev_hash:
            problem = "prev_hash does not match the previous line's hash"
        elif not _hash_matches(line):
            problem = "hash does not match the line's content"
        elif str(line.get("recorded_at", "")) < recorded_at:
            problem = "recorded_at goes back in time"
        if problem:
            return ChainReport(expected - 1, prev_hash, expected, problem)
        prev_hash, expected, recorded_at = line["hash"], expected + 1, line["recorded_at"]
    return ChainReport(expected - 1, prev_hash)


def _hash_matches(line: dict[str, Any]) -> bool:
    """Whether the line's ``hash`` is that of its content. A line read from a file may hold what
    canonical JSON cannot encode (a lone surrogate, escaped as ``\\ud800``): no hash matches it."""
    try:
        return line_hash(line) == line.get("hash")
    except (TypeError, ValueError):
        return False
