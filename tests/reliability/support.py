"""What the reliability tests share: the scale knob, fresh databases, the one consistency check,
and a database as version 1 code left it (``write_as_version_1``).

``CLAIMS_STRESS_SCALE`` (default 1) scales the suite: 1 keeps ``make test`` quick; ``make stress``
runs 50 (2,000 claims per concurrent writer, 10 crash trials per backend, 4,000-claim documents,
more hypothesis examples). ``assert_consistent`` is what every test checks after it has done its
worst: positions 1..N without a gap, every stream's versions 1..n, the hash chain intact, the
projections equal to a rebuild from the log, and the append-only triggers still refusing rewrites.
"""

from __future__ import annotations

import contextlib
import math
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DBAPIError

from claims.api import Tracker
from claims.domain.dates import utc_now
from claims.store import eventlog
from claims.store.hashing import GENESIS, canonical_json, line_hash
from tests.conftest import new_database_url

SCALE = float(os.environ.get("CLAIMS_STRESS_SCALE", "1") or 1)
STRESS = SCALE >= 50
CLAIMS_BIN = Path(sys.executable).parent / "claims"
PYTHON = sys.executable
HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
NOT_PROJECTIONS = {"events", "alembic_version"}


def scaled(default: int, *, at_most: int | None = None) -> int:
    value = max(default, round(default * SCALE))
    return min(value, at_most) if at_most is not None else value


def trials(default: int, stress: int) -> int:
    """``default`` trials normally, up to ``stress`` at ``make stress`` scale."""
    return stress if STRESS else min(stress, max(default, math.ceil(default * SCALE)))


@contextlib.contextmanager
def fresh_database(backend: str, directory: Path) -> Iterator[str]:
    """An empty database on ``backend`` (a PostgreSQL one is dropped afterwards)."""
    directory.mkdir(parents=True, exist_ok=True)
    yield from new_database_url(backend, directory)


# -- the consistency check -------------------------------------------------------------------------


def event_count(tracker: Tracker) -> int:
    with tracker.engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM events")).scalar_one())


def projection_snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every projection table's rows, in a stable order."""
    with engine.connect() as connection:
        names = sorted(set(inspect(connection).get_table_names()) - NOT_PROJECTIONS)
        return {
            name: sorted((tuple(row) for row in connection.execute(text(f"SELECT * FROM {name}"))), key=repr)
            for name in names
        }


def log_rows(engine: Engine) -> list[tuple[Any, ...]]:
    """The whole event table, every column, in position order (to compare before and after)."""
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text("SELECT * FROM events ORDER BY position"))]


def assert_consistent(tracker: Tracker, expected_events: int | None = None) -> int:
    """Check the log and projections thoroughly; returns the number of events."""
    with tracker.engine.connect() as connection:
        positions = [row[0] for row in connection.execute(text("SELECT position FROM events ORDER BY position"))]
        broken_streams = connection.execute(
            text(
                "SELECT stream_id FROM events GROUP BY stream_id "
                "HAVING min(stream_version) <> 1 OR max(stream_version) <> count(*)"
            )
        ).all()
    assert positions == list(range(1, len(positions) + 1)), "positions are not 1..N without a gap"
    assert not broken_streams, f"streams whose versions are not 1..n: {broken_streams[:5]}"
    if expected_events is not None:
        assert len(positions) == expected_events
    report = tracker.verify()
    assert report.intact, f"chain broken at {report.broken_at}: {report.problem}"
    assert report.size == len(positions)
    incremental = projection_snapshot(tracker.engine)
    assert tracker.rebuild_projections() == len(positions)
    assert projection_snapshot(tracker.engine) == incremental, "projections differ from a rebuild"
    assert_rewrites_refused(tracker.engine)
    return len(positions)


def assert_rewrites_refused(engine: Engine) -> None:
    """The database itself refuses UPDATE and DELETE on the log, and the disguised forms of them:
    TRUNCATE and an upsert on PostgreSQL, INSERT OR REPLACE (a delete, then an insert) on SQLite."""
    with engine.connect() as connection:
        if not connection.execute(text("SELECT count(*) FROM events")).scalar_one():
            return  # row triggers have no row to refuse in an empty log
    statements = ["UPDATE events SET recorded_by = 'mallory'", "DELETE FROM events"]
    if engine.dialect.name == "postgresql":
        statements.append("TRUNCATE events")
        statements.append(
            "INSERT INTO events SELECT * FROM events WHERE position = 1 "
            "ON CONFLICT (position) DO UPDATE SET recorded_by = 'mallory'"
        )
    else:
        statements.append("INSERT OR REPLACE INTO events SELECT * FROM events WHERE position = 1")
    for statement in statements:
        with engine.connect() as connection:
            with pytest.raises(DBAPIError, match="append-only"):
                connection.execute(text(statement))
            connection.rollback()


# -- the command line ------------------------------------------------------------------------------


def claims_command(
    url: str, *args: str | bytes, user: str = "tester", input: bytes | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[bytes]:
    """Run the installed ``claims`` command (a real process, not CliRunner)."""
    return subprocess.run(
        [str(CLAIMS_BIN), "--db", url, "--as-user", user, *args],
        input=input,
        capture_output=True,
        timeout=timeout,
        check=False,
        env=cli_environment(),
    )


def cli_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMS_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def assert_one_clear_error(stderr: str | bytes, exit_code: int) -> None:
    """A failure is a non-zero exit and an ``Error:`` line; never a traceback."""
    shown = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else stderr
    assert exit_code != 0
    assert "Traceback" not in shown, shown
    lines = shown.strip().splitlines()
    assert lines, "no message on standard error"
    assert lines[0].startswith("Error:"), shown  # a usage error (exit 2) too, in one line
    # One line; an invalid document is a summary line and then one indented line per problem.
    assert len(lines) == 1 or ("invalid claims document" in lines[0] and all(x.startswith("  ") for x in lines[1:]))


# -- documents -------------------------------------------------------------------------------------

PARTIES = ("north", "south", "east")
TOPICS = ("summit", "pipeline")
SOURCES = ("wire", "paper", "fact-check")


def registry_document() -> dict[str, Any]:
    """The parties, topics and sources every generated claim refers to."""
    return {
        "format": "claims/v1",
        "parties": [{"id": p, "name": p.title(), "kind": "state"} for p in PARTIES],
        "topics": [{"id": t, "title": t.title()} for t in TOPICS],
        "sources": [{"id": s, "name": s.title(), "kind": "newspaper"} for s in SOURCES],
    }


def claim_entry(claim_id: str, number: int, *, explicit_id: bool = True) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "party": PARTIES[number % len(PARTIES)],
        "topic": TOPICS[number % len(TOPICS)],
        "said_on": f"2023-0{1 + number % 9}-{1 + number % 28:02d}",
        "source": SOURCES[number % 2],
        "text": f"{claim_id}: the delegation said thing number {number}, and meant it.",
    }
    if number % 5 == 0:
        entry["quote"] = f"'We said {number}'; -- DROP TABLE events; \"quoted\" ünïcödé ✓"
    if number % 3 == 0:
        entry["proposition"] = f"point-{number % 7}"
        entry["stance"] = "affirms" if number % 2 else "denies"
    if explicit_id:
        entry["id"] = claim_id
    return entry


def large_document(claims: int, *, prefix: str = "bulk") -> dict[str, Any]:
    """A document with ``claims`` claims and about a fifth as many lifecycle events."""
    document = registry_document()
    document["claims"] = [claim_entry(f"{prefix}-{n}", n) for n in range(claims)]
    events: list[dict[str, Any]] = []
    for n in range(0, claims, 7):
        events.append({"retract": f"{prefix}-{n}", "on": "2023-12-20", "source": "wire", "reason": f"withdrew {n}"})
    for n in range(3, claims, 11):
        events.append({"reaffirm": f"{prefix}-{n}", "on": "2023-12-21", "source": "paper"})
    for n in range(5, claims, 13):
        events.append({"correct": f"{prefix}-{n}", "text": f"{prefix}-{n}: corrected", "reason": "our typo"})
    for n in range(2, claims, 17):
        events.append({"verdict": f"{prefix}-{n}", "rating": "misleading", "by": "fact-check"})
    document["events"] = events
    return document


def document_events(document: dict[str, Any]) -> int:
    """How many events a clean import of ``document`` into an empty database records."""
    return sum(len(document.get(section, [])) for section in ("parties", "topics", "sources", "claims", "events"))


# -- a database as version 1 code left it (schema evolution) ------------------------------------

V1_SOURCES = [
    {"source": "old-wire", "name": "Old wire service", "kind": None, "url": None, "published": None},
    {
        "source": "old-paper",
        "name": "Old paper",
        "kind": "newspaper",
        "url": "https://paper.example",
        "published": "1999",
    },
]


def write_as_version_1(tracker: Tracker, payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Append version 1 SourceRegistered events and their projection rows, as 0001-era code did."""
    with tracker.engine.begin() as connection:
        head = eventlog.head(connection)
        prev_hash, position = head.hash or GENESIS, head.position
        lines = []
        for payload in payloads:
            position += 1
            line = {
                "position": position,
                "event_id": str(uuid.uuid4()),
                "stream_id": f"source:{payload['source']}",
                "stream_version": 1,
                "type": "SourceRegistered",
                "schema_version": 1,
                "said_at": None,
                "recorded_at": max(utc_now(), head.recorded_at),
                "recorded_by": "version-1",
                "payload": payload,
                "prev_hash": prev_hash,
            }
            line["hash"] = prev_hash = line_hash(line)
            lines.append(line)
            connection.execute(
                text(
                    "INSERT INTO events (position, event_id, stream_id, stream_version, type, schema_version, said_at, "
                    "recorded_at, recorded_by, payload, prev_hash, hash) VALUES (:position, :event_id, :stream_id, "
                    ":stream_version, :type, :schema_version, :said_at, :recorded_at, :recorded_by, :payload, "
                    ":prev_hash, :hash)"
                ),
                {**line, "payload": canonical_json(payload)},
            )
            connection.execute(
                text(
                    "INSERT INTO sources (id, name, kind, url, published, position) "
                    "VALUES (:source, :name, :kind, :url, :published, :position)"
                ),
                {**payload, "position": position},
            )
        updated = connection.execute(
            text("UPDATE projection_checkpoints SET position = :p WHERE name = 'claims'"), {"p": position}
        ).rowcount
        if not updated:
            connection.execute(
                text("INSERT INTO projection_checkpoints (name, position) VALUES ('claims', :p)"), {"p": position}
            )
    return lines
