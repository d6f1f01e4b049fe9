"""Concurrent writers never lose an event, never fork the chain, never leave a gap a reader sees.

Four writer processes add claims through the public API at the same time while a reader follows
the log by position (``WHERE position > last ORDER BY position``), as a projector or a feed
consumer would. Event stores that take positions from a sequence fail this: a transaction that
got a lower position but commits later is skipped by a reader that has already moved past it.
The reader must see every event exactly once, in position order, each linking to the one before;
afterwards the chain verifies and positions are 1..N. Run on PostgreSQL and on SQLite.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from itertools import pairwise
from pathlib import Path

from sqlalchemy import text

from claims.api import Tracker
from claims.store.engine import open_engine

WRITERS = 4
CLAIMS_PER_WRITER = 50
GIVE_UP_AFTER = 120.0  # seconds: only so that a broken lock fails the test instead of hanging it

WRITER = """
import os, sys, time
import claims

url, worker, count, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
tracker = claims.open_tracker(url, user=f"writer-{worker}")
with tracker.engine.connect():
    pass  # connect before the start signal, so the writers really start together
while not os.path.exists(go):
    time.sleep(0.005)
with tracker:
    for number in range(count):
        tracker.add_claim(
            party="russia",
            topic="g20",
            said_on="2023-03-02",
            source="tass",
            text=f"claim {number} of writer {worker}",
        )
"""


def test_concurrent_writers_and_a_reader_following_the_log(tracker: Tracker, tmp_path: Path) -> None:
    tracker.add_party("russia", name="Russia", kind="state")
    tracker.add_topic("g20", title="G20")
    tracker.add_source("tass", name="TASS")
    expected = 3 + WRITERS * CLAIMS_PER_WRITER

    go = tmp_path / "go"
    env = {key: value for key, value in os.environ.items() if key != "CLAIMS_DATABASE_URL"}
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, tracker.url, str(worker), str(CLAIMS_PER_WRITER), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for worker in range(WRITERS)
    ]

    reader = open_engine(tracker.url)
    seen: list[tuple[int, str, str, str]] = []  # (position, prev_hash, hash, recorded_by)
    batches: list[list[int]] = []
    last = 0
    try:
        go.touch()
        deadline = time.monotonic() + GIVE_UP_AFTER
        while len(seen) < expected and time.monotonic() < deadline:
            # A new connection (so a new snapshot on SQLite) for every poll, as a follower would.
            with reader.connect() as connection:
                rows = connection.execute(
                    text(
                        "SELECT position, prev_hash, hash, recorded_by FROM events "
                        "WHERE position > :last ORDER BY position"
                    ),
                    {"last": last},
                ).all()
            if rows:
                batches.append([row.position for row in rows])
                seen.extend((row.position, row.prev_hash, row.hash, row.recorded_by) for row in rows)
                last = rows[-1].position
            elif all(writer.poll() is not None for writer in writers):
                break
            else:
                time.sleep(0.002)
    finally:
        outputs = [writer.communicate(timeout=GIVE_UP_AFTER) for writer in writers]
        reader.dispose()

    for writer, (_, stderr) in zip(writers, outputs, strict=True):
        assert writer.returncode == 0, stderr[-3000:]
        assert "Traceback" not in stderr

    positions = [position for position, *_ in seen]
    # Every event exactly once, in order, with no gap: a skipped position never comes back.
    assert positions == list(range(1, expected + 1))
    for batch in batches:
        assert batch == list(range(batch[0], batch[0] + len(batch)))
    # The chain never forked: each event the reader saw links to the one it saw before.
    for (_, _, previous_hash, _), (_, prev_hash, _, _) in pairwise(seen):
        assert prev_hash == previous_hash
    writers_seen = [by for *_, by in seen[3:]]
    assert sorted(set(writers_seen)) == [f"writer-{worker}" for worker in range(WRITERS)]
    assert all(writers_seen.count(f"writer-{worker}") == CLAIMS_PER_WRITER for worker in range(WRITERS))

    report = tracker.verify()
    assert report.intact and report.size == expected
    assert len(tracker.list_claims(party="russia")) == WRITERS * CLAIMS_PER_WRITER
    with tracker.engine.connect() as connection:
        stored = connection.execute(text("SELECT position FROM events ORDER BY position")).scalars().all()
    assert stored == list(range(1, expected + 1))
