"""Helpers of the audit-trail tests: the claims they use, trail files, and tampering with the log."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from sqlalchemy import text

from claims.api import Tracker
from claims.cli import cli
from claims.store.hashing import canonical_json, line_hash

ZAKHAROVA = "zakharova-no-real-meeting"
FARCE = "lavrov-west-turned-g20-into-farce"
CORRECTED_TEXT = "No talks, and no real meeting, took place between Lavrov and Blinken."

Run = Callable[..., Result]


def runner(url: str) -> Run:
    """``run(*args)`` invokes ``claims --db URL *args`` and returns the result (stderr kept apart)."""

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, ["--db", url, "--as-user", "tester", *args], catch_exceptions=False)

    return invoke


def add_reviews(tracker: Tracker) -> None:
    """Two fact-checkers, three verdicts, a correction and a retraction on top of the seed."""
    tracker.add_source("factcheck-org", name="FactCheck.org", kind="fact-checker", url="https://www.factcheck.org")
    tracker.add_source("stopfake", name="StopFake", kind="fact-checker")
    tracker.verdict(ZAKHAROVA, rating="misleading", by="factcheck-org", url="https://www.factcheck.org/zakharova")
    tracker.correct(ZAKHAROVA, text=CORRECTED_TEXT, reason="our paraphrase dropped 'real'")
    tracker.verdict(ZAKHAROVA, rating="false", by="stopfake")
    tracker.verdict(FARCE, rating="unsupported", by="factcheck-org")
    tracker.retract(FARCE, on="2023-03-10", source="tass", reason="walked back")


def write_json(path: Path, data: Any) -> str:
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def write_lines(path: Path, lines: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")


def allow_rewrites(tracker: Tracker) -> None:
    """What an attacker with database access does first: switch off the append-only triggers."""
    with tracker.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("ALTER TABLE events DISABLE TRIGGER USER"))
        else:
            names = connection.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'events'")
            ).scalars()
            for name in list(names):
                connection.execute(text(f'DROP TRIGGER "{name}"'))


def rewrite_payload(tracker: Tracker, position: int, change: Callable[[dict[str, Any]], None]) -> None:
    """Change one stored payload in place, leaving its hash as it was (triggers already off)."""
    line = next(tracker.log(since=position - 1, limit=1))
    change(line["payload"])
    with tracker.engine.begin() as connection:
        connection.execute(
            text("UPDATE events SET payload = :payload WHERE position = :position"),
            {"payload": canonical_json(line["payload"]), "position": position},
        )


def rehash_from(tracker: Tracker, position: int, change: Callable[[dict[str, Any]], None]) -> None:
    """Rewrite a payload and recompute every hash and prev_hash from there on: the chain stays intact."""
    lines = list(tracker.log())
    change(lines[position - 1]["payload"])
    prev_hash = lines[position - 2]["hash"] if position > 1 else "0" * 64
    with tracker.engine.begin() as connection:
        for line in lines[position - 1 :]:
            line["prev_hash"] = prev_hash
            line["hash"] = line_hash(line)
            prev_hash = line["hash"]
            connection.execute(
                text(
                    "UPDATE events SET payload = :payload, prev_hash = :prev, hash = :hash WHERE position = :position"
                ),
                {
                    "payload": canonical_json(line["payload"]),
                    "prev": line["prev_hash"],
                    "hash": line["hash"],
                    "position": line["position"],
                },
            )


def truncate(tracker: Tracker, keep: int) -> None:
    """Delete every event after position ``keep`` (triggers already off)."""
    with tracker.engine.begin() as connection:
        connection.execute(text("DELETE FROM events WHERE position > :keep"), {"keep": keep})


def position_of(tracker: Tracker, claim: str, type_: str = "ClaimAsserted") -> int:
    """The position of the first ``type_`` event in the claim's stream."""
    stream = f"claim:{claim}"
    return next(line["position"] for line in tracker.log() if line["stream_id"] == stream and line["type"] == type_)
