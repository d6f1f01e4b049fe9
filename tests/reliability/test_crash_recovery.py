"""``kill -9`` in the middle of a large import loses nothing that was committed and keeps nothing
that was not.

A document of many claims with their lifecycle events is imported by the installed ``claims``
command (in batches small enough that it writes them on its writer thread), which is killed with
SIGKILL at a random moment: before, during or after its one write transaction. One trial per
backend waits until the importer holds the write lock, so that at least one kill surely lands
inside the transaction (that importer waits 20 ms before writing each batch: on a fast machine the
whole transaction took less than the wait before the kill). Afterwards the database holds either
everything of the document or nothing of it (never a part), the chain verifies, the projections
equal a rebuild, and importing the same document again completes with exactly the events of a
clean import.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import time
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

import claims
from claims.store.engine import resolve_url
from tests.conftest import SEED
from tests.reliability.support import (
    CLAIMS_BIN,
    STRESS,
    assert_consistent,
    cli_environment,
    event_count,
    fresh_database,
    large_document,
    scaled,
    trials,
)

DOCUMENT_CLAIMS = scaled(600, at_most=4000)  # 4,000 under `make stress`
TRIALS = trials(3, 10)
BATCH = 97  # events a unit holds before it writes them (claims.service.uow.FLUSH_EVERY)


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """The large document, as JSON, and how many claims and lifecycle entries it holds."""
    data = large_document(DOCUMENT_CLAIMS)
    path = tmp_path_factory.mktemp("crash") / "large.json"
    path.write_text(json.dumps(data))
    return path, sum(len(data[section]) for section in ("parties", "topics", "sources", "claims", "events"))


def test_kill_9_during_a_large_import_leaves_all_or_nothing(
    backend: str, tmp_path: Path, document: tuple[Path, int]
) -> None:
    path, entries = document
    rng = random.Random(f"crash-{backend}")
    with fresh_database(backend, tmp_path / "clean") as url:
        seeded = _prepare(url)
        started = time.monotonic()
        clean = _import(url, path)
        assert clean.wait(timeout=600) == 0, clean.stderr.read() if clean.stderr else ""
        duration = time.monotonic() - started
        with claims.open_tracker(url) as tracker:
            clean_events = event_count(tracker) - seeded
    assert clean_events == entries

    outcomes = []
    for trial in range(TRIALS):
        with fresh_database(backend, tmp_path / f"trial-{trial}") as url:
            seeded = _prepare(url)
            importer = _import(url, path, slow=trial == 0)
            if trial == 0:
                _wait_until_writing(url, importer)
            else:
                time.sleep(rng.uniform(0.05, 1.0) * duration)
            importer.send_signal(signal.SIGKILL)
            importer.wait(timeout=60)
            with claims.open_tracker(url, user="tester") as tracker:
                after_crash = assert_consistent(tracker)
                assert after_crash in (seeded, seeded + clean_events), "a part of the import was kept"
                outcomes.append("kept whole" if after_crash > seeded else "rolled back")
                report = tracker.import_file(path)
                assert report.events == seeded + clean_events - after_crash
                assert assert_consistent(tracker) == seeded + clean_events
                if STRESS or trial == TRIALS - 1:
                    assert tracker.import_file(path).nothing_new
    assert "rolled back" in outcomes  # the first trial killed the importer inside its transaction


def _prepare(url: str) -> int:
    """Initialise the database and give it the seed, so that the crash hits a log that has a past."""
    with claims.open_tracker(url, user="tester") as tracker:
        tracker.init()
        return tracker.import_file(SEED).events


# The command's own entry point, with batches small enough that the import writes most of them on
# its writer thread (claims.store.background), so that kills land there too.
_SMALL_BATCHES = f"from claims.service import uow; uow.FLUSH_EVERY = {BATCH}; "
_SLOW_WRITES = (
    "import time; from claims.store import eventlog; _write = eventlog.write; "
    "eventlog.write = lambda *args, **options: (time.sleep(0.02), _write(*args, **options))[1]; "
)
_MAIN = "from claims.__main__ import main; main()"


def _import(url: str, path: Path, *, slow: bool = False) -> subprocess.Popen[bytes]:
    code = _SMALL_BATCHES + (_SLOW_WRITES if slow else "") + _MAIN
    return subprocess.Popen(
        [str(CLAIMS_BIN.parent / "python"), "-c", code, "--db", url, "--as-user", "importer", "import", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=cli_environment(),
    )


def _wait_until_writing(url: str, importer: subprocess.Popen[bytes]) -> None:
    """Return once the importer holds the log's write lock (its transaction is under way)."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and importer.poll() is None:
        if _write_lock_taken(url):
            time.sleep(random.uniform(0, 0.05))
            return
        time.sleep(0.002)
    raise AssertionError("the importer finished or never took the write lock")


def _write_lock_taken(url: str) -> bool:
    parsed = make_url(resolve_url(url))
    if parsed.get_backend_name() == "postgresql":
        dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(dsn, autocommit=True) as connection:
            row = connection.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = "
                "(SELECT oid FROM pg_database WHERE datname = current_database())"
            ).fetchone()
            return bool(row and row[0])
    import sqlite3

    probe = sqlite3.connect(parsed.database or "", timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True  # busy: someone holds the write lock
    finally:
        probe.close()
