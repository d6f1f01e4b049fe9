"""The server ending the writer's session in the middle of a write (PostgreSQL).

Another connection makes the writer wait at a chosen point: holding the log's advisory lock (the
writer waits before it has written anything), or holding the projection checkpoint's row (the
writer has inserted its events and waits to fold them). Then ``pg_terminate_backend`` ends the
writer's session and the other connection lets go. The writer, the installed ``claims`` command or
the Python API, reports one clear error (no traceback) saying nothing was recorded; nothing is half
written (the log and projections are as before, the chain verifies); and the next command works.
"""

from __future__ import annotations

import gc
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from claims.api import Tracker
from claims.domain.errors import StorageError
from claims.store import engine as engine_module
from claims.store.engine import begin_write
from tests.reliability.support import (
    CLAIMS_BIN,
    assert_consistent,
    assert_one_clear_error,
    claims_command,
    cli_environment,
    event_count,
    projection_snapshot,
)

ADD = ["add", "--party", "north", "--topic", "summit", "--said-on", "2023-03-02", "--source", "wire"]


@pytest.fixture
def backend() -> str:
    """PostgreSQL only: SQLite has no server that could end the session."""
    return "postgresql"


@pytest.fixture
def ready(tracker: Tracker) -> Tracker:
    tracker.add_party("north", name="North")
    tracker.add_topic("summit", title="Summit")
    tracker.add_source("wire", name="Wire")
    return tracker


def admin(tracker: Tracker) -> psycopg.Connection:
    url = make_url(tracker.url).set(drivername="postgresql")
    return psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)


def hold_the_write_lock(other: psycopg.Connection, tracker: Tracker) -> Callable[[], None]:
    """The writer will wait for the log's lock, before it has written anything."""
    holder = begin_write(tracker.engine)
    return lambda: (holder.rollback(), holder.close())  # type: ignore[func-returns-value]


def hold_the_checkpoint_row(other: psycopg.Connection, tracker: Tracker) -> Callable[[], None]:
    """The writer will insert its events, then wait to move the projections' checkpoint."""
    other.execute("BEGIN")
    other.execute("SELECT * FROM projection_checkpoints FOR UPDATE")
    return lambda: other.execute("ROLLBACK")  # type: ignore[func-returns-value]


WAITS = {"before-writing": hold_the_write_lock, "after-inserting-events": hold_the_checkpoint_row}
# How the end of the session reads: the server's own message, or libpq's when a pipeline was
# sending as the server closed it.
SERVER_ENDED = ("terminating connection due to administrator command", "server closed the connection unexpectedly")


def terminate_the_waiting_writer(tracker: Tracker, wait_event: str) -> int:
    """Watch from a connection of its own (pg_stat_activity is a snapshot per transaction)."""
    deadline = time.monotonic() + 60
    with admin(tracker) as watcher:
        while time.monotonic() < deadline:
            row = watcher.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND wait_event = %s",
                (wait_event,),
            ).fetchone()
            if row:
                watcher.execute("SELECT pg_terminate_backend(%s)", (row[0],))
                return int(row[0])
            time.sleep(0.01)
    raise AssertionError("the writer never started waiting")


@pytest.mark.parametrize("where", WAITS)
def test_the_command_line_writer_killed_by_the_server_says_so_and_writes_nothing(ready: Tracker, where: str) -> None:
    before, projections = event_count(ready), projection_snapshot(ready.engine)
    with admin(ready) as other:
        release = WAITS[where](other, ready)
        writer = subprocess.Popen(
            [str(CLAIMS_BIN), "--db", ready.url, *ADD, "--text", "Cut off."],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=cli_environment(),
        )
        terminate_the_waiting_writer(ready, "advisory" if where == "before-writing" else "transactionid")
        release()
        _, stderr = writer.communicate(timeout=60)
    assert_one_clear_error(stderr, writer.returncode)
    assert b"lost the connection to the database during the write" in stderr
    assert b"nothing was recorded" in stderr
    assert event_count(ready) == before and projection_snapshot(ready.engine) == projections
    assert_consistent(ready, expected_events=before)
    after = claims_command(ready.url, *ADD, "--text", "The next command works.")
    assert after.returncode == 0, after.stderr
    assert_consistent(ready, expected_events=before + 1)


@pytest.mark.parametrize("where", WAITS)
def test_the_python_api_writer_killed_by_the_server_gets_a_storage_error(
    ready: Tracker, where: str, capfd: pytest.CaptureFixture[str]
) -> None:
    """With the server's reason, and the connection given back. The lock and the projections'
    writes run on the driver's own cursor: their failure must still drop the connection, as
    SQLAlchemy does for its own statements, or the unit's rollback on it would hide the reason and
    the collector would complain on standard error when it frees the connection."""
    before = event_count(ready)
    failures: list[BaseException] = []

    def write() -> None:
        try:
            ready.add_claim(party="north", topic="summit", said_on="2023-03-02", source="wire", text="Cut off.")
        except BaseException as error:
            failures.append(error)

    with admin(ready) as other:
        release = WAITS[where](other, ready)
        writer = threading.Thread(target=write)
        writer.start()
        terminate_the_waiting_writer(ready, "advisory" if where == "before-writing" else "transactionid")
        release()
        writer.join(timeout=60)
    assert len(failures) == 1 and isinstance(failures[0], StorageError), failures
    # the server's reason as libpq reads it, not the rollback's "the connection is lost" on it
    assert any(reason in str(failures[0]) for reason in SERVER_ENDED), failures[0]
    assert "nothing was recorded" in str(failures[0])
    assert ready.engine.pool.checkedout() == 0
    gc.collect()  # a connection left checked out would complain now, as the collector frees it
    assert capfd.readouterr().err == ""
    assert_consistent(ready, expected_events=before)
    ready.add_claim(party="north", topic="summit", said_on="2023-03-02", source="wire", text="Works again.")
    assert_consistent(ready, expected_events=before + 1)


def test_an_interrupt_once_the_lock_is_granted_leaves_no_lock_held(
    ready: Tracker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C between the lock and the unit of work that would end its transaction: the connection
    is given back at once, and the lock with it, not when the collector frees it (every other
    writer would wait until then)."""
    take_lock = engine_module.fetch_on_driver

    def interrupted(*args: Any) -> list[tuple[Any, ...]]:
        take_lock(*args)
        raise KeyboardInterrupt

    monkeypatch.setattr(engine_module, "fetch_on_driver", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ready.add_claim(party="north", topic="summit", said_on="2023-03-02", source="wire", text="Interrupted.")
    monkeypatch.undo()
    assert ready.engine.pool.checkedout() == 0
    with admin(ready) as other:
        held = other.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ).fetchone()
    assert held == (0,)
    ready.add_claim(party="north", topic="summit", said_on="2023-03-02", source="wire", text="Works again.")
