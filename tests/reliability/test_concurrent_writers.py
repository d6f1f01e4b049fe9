"""Concurrent writers, through the command line and the Python API, lose nothing and fork nothing.

Four writer processes on SQLite (WAL) and eight on PostgreSQL add claims to one database at the
same time and retract some of them at random; half are Python API writers, half drive the
installed ``claims`` command (``add``, ``retract``, ``import -``). Every writer also retracts one
shared claim, so several processes append to one stream at once. A reader process follows the log
by position meanwhile. Afterwards: exactly the events the writers say they recorded, positions
1..N without a gap, every stream's versions 1..n, the chain intact, the projections equal to a
rebuild; the reader saw every event exactly once, in order, each linking to the one before; and
no writer ever saw an error: busy or locked answers are waited for or retried inside ``claims``.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import text

import claims
from claims.api import Tracker
from tests.reliability.support import HERE, PYTHON, REPO, SCALE, assert_consistent, registry_document, scaled

CLAIMS_PER_WRITER = scaled(40)  # 2,000 under `make stress`
WRITERS = {"sqlite": 4, "postgresql": 8}
GIVE_UP_AFTER = 300 + 20 * SCALE  # seconds: only so that a broken lock fails the test instead of hanging it


def test_concurrent_cli_and_api_writers_with_a_reader_following_the_log(
    backend: str, tracker: Tracker, tmp_path: Path
) -> None:
    tracker.import_text(json.dumps(registry_document()), name="registry.json")
    tracker.add_claim(
        id="shared-claim", party="north", topic="summit", said_on="2023-01-05", source="wire", text="Shared."
    )
    setup_events = tracker.checkpoint()["size"]
    go, stop = tmp_path / "go", tmp_path / "stop"
    writers = []
    for number in range(WRITERS[backend]):
        mode = "cli" if number % 2 else "api"
        out = tmp_path / f"{mode}-{number}.json"
        args = [mode, tracker.url, f"w{number}", str(CLAIMS_PER_WRITER), str(out), str(go)]
        writers.append((out, _start(*args)))
    reader_out = tmp_path / "tail.json"
    reader = _start("tail", tracker.url, str(reader_out), str(stop))
    go.touch()
    started = time.monotonic()
    for _, process in writers:
        _finish(process, started)
    stop.touch()
    _finish(reader, started)

    results = [json.loads(out.read_text()) for out, _ in writers]
    failures = [failure for result in results for failure in result["failures"]]
    assert not failures, "a writer saw an error:\n" + "\n".join(failures[:5])
    recorded = [claim for result in results for claim in result["claims"]]
    retracted = [claim for result in results for claim in result["retracted"]]
    shared = sum(result["shared"] for result in results)
    assert len(recorded) == len(set(recorded)) == WRITERS[backend] * CLAIMS_PER_WRITER
    assert shared == WRITERS[backend]

    expected = setup_events + len(recorded) + len(retracted) + shared
    size = assert_consistent(tracker, expected_events=expected)
    with tracker.engine.connect() as connection:
        types = Counter(dict(connection.execute(text("SELECT type, count(*) FROM events GROUP BY type")).all()))
        asserted = set(
            connection.execute(text("SELECT substr(stream_id, 7) FROM events WHERE type = 'ClaimAsserted'")).scalars()
        )
        shared_versions = connection.execute(
            text("SELECT max(stream_version) FROM events WHERE stream_id = 'claim:shared-claim'")
        ).scalar_one()
    assert types["ClaimAsserted"] == len(recorded) + 1
    assert types["ClaimRetracted"] == len(retracted) + shared
    assert asserted == {*recorded, "shared-claim"}
    assert shared_versions == 1 + WRITERS[backend]

    reader_saw = json.loads(reader_out.read_text())
    assert not reader_saw["problems"], reader_saw["problems"][:5]
    log = [[line["position"], line["event_id"]] for line in tracker.log()]
    assert reader_saw["seen"] == log and len(log) == size

    with claims.open_tracker(tracker.url, user="tester") as again:  # a fresh connection agrees
        assert again.verify().size == size


def _start(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [PYTHON, str(HERE / "workers.py"), *args], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _finish(process: subprocess.Popen[bytes], started: float) -> None:
    try:
        _, stderr = process.communicate(timeout=max(1.0, GIVE_UP_AFTER - (time.monotonic() - started)))
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError(f"a worker did not finish within {GIVE_UP_AFTER} s") from None
    assert process.returncode == 0, stderr.decode("utf-8", "replace")
