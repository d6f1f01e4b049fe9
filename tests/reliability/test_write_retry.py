"""Busy and locked answers are retried inside ``claims``; a real conflict is one clear error.

A write waits for another writer that holds the log's lock (SQLite's busy handler, PostgreSQL's
advisory lock) and then succeeds. When the database does answer "busy" (SQLite ``database is
locked``, PostgreSQL serialization failure or deadlock), the whole unit of work runs again with
backoff, a bounded number of times, and then fails with one StorageError; a stale expected version
or an id already taken is a ConflictError at once, never retried. A connection lost in the middle
of a write says nothing was recorded; lost while committing, it says the outcome is unknown.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import DBAPIError, OperationalError

from claims.api import Tracker
from claims.domain import events as ev
from claims.domain.errors import ConflictError, StorageError
from claims.service import retry, uow
from claims.store.engine import begin_write
from tests.reliability.support import assert_consistent, event_count


@pytest.fixture
def ready(tracker: Tracker) -> Tracker:
    tracker.add_party("north", name="North")
    tracker.add_topic("summit", title="Summit")
    tracker.add_source("wire", name="Wire")
    return tracker


def add(tracker: Tracker, number: int, **extra: Any) -> str:
    fields = {"party": "north", "topic": "summit", "said_on": "2023-03-02", "source": "wire"}
    return tracker.add_claim(text=f"Claim {number}", **fields, **extra).id


def test_a_writer_waits_for_the_lock_another_writer_holds(ready: Tracker) -> None:
    holder = begin_write(ready.engine)  # BEGIN IMMEDIATE on SQLite, the advisory lock on PostgreSQL
    released = threading.Timer(0.6, holder.rollback)
    released.start()
    started = time.monotonic()
    try:
        add(ready, 1)
    finally:
        released.join()
        holder.close()
    assert time.monotonic() - started >= 0.5
    assert_consistent(ready, expected_events=4)


def real_busy_error(tracker: Tracker) -> DBAPIError:
    """What the driver really raises when the database is busy, wrapped as SQLAlchemy wraps it."""
    if tracker.engine.dialect.name == "postgresql":
        return OperationalError("SELECT 1", {}, psycopg.errors.SerializationFailure("could not serialize access"))
    impatient = create_engine(tracker.engine.url, connect_args={"timeout": 0})
    holder = begin_write(tracker.engine)
    try:
        with impatient.connect() as connection:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
    except DBAPIError as error:
        return error
    finally:
        holder.rollback()
        holder.close()
        impatient.dispose()
    raise AssertionError("BEGIN IMMEDIATE did not report busy")


@pytest.fixture
def no_pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    pauses: list[float] = []
    monkeypatch.setattr(retry, "_pause", pauses.append)
    return pauses


def failing_begin(monkeypatch: pytest.MonkeyPatch, error: BaseException, times: int) -> list[int]:
    """Make the unit of work's BEGIN fail with ``error`` the first ``times`` times."""
    calls: list[int] = []

    def begin(engine: Any) -> Any:
        calls.append(1)
        if len(calls) <= times:
            raise error
        return begin_write(engine)

    monkeypatch.setattr(uow, "begin_write", begin)
    return calls


def test_a_busy_database_is_retried_with_backoff_and_the_write_lands_once(
    ready: Tracker, monkeypatch: pytest.MonkeyPatch, no_pauses: list[float]
) -> None:
    busy = real_busy_error(ready)
    assert retry.is_transient(busy)
    calls = failing_begin(monkeypatch, busy, times=3)
    add(ready, 1)
    assert len(calls) == 4
    assert len(no_pauses) == 3 and no_pauses[0] < no_pauses[-1] <= retry.MAX_DELAY
    assert_consistent(ready, expected_events=4)


def test_an_import_is_retried_as_a_whole(
    ready: Tracker, monkeypatch: pytest.MonkeyPatch, no_pauses: list[float]
) -> None:
    calls = failing_begin(monkeypatch, real_busy_error(ready), times=2)
    document = "format: claims/v1\ntopics: [{id: pipeline, title: Pipeline}]\n"
    assert ready.import_text(document).events == 1
    assert len(calls) == 3
    assert_consistent(ready, expected_events=4)


def test_a_database_busy_for_too_long_is_one_clear_error_and_writes_nothing(
    ready: Tracker, monkeypatch: pytest.MonkeyPatch, no_pauses: list[float]
) -> None:
    calls = failing_begin(monkeypatch, real_busy_error(ready), times=1000)
    with pytest.raises(StorageError, match=f"stayed busy after {retry.ATTEMPTS} attempts.*nothing was recorded"):
        add(ready, 1)
    assert len(calls) == retry.ATTEMPTS
    assert event_count(ready) == 3


@pytest.mark.parametrize(
    "original",
    [psycopg.errors.DeadlockDetected("deadlock detected"), psycopg.errors.LockNotAvailable("could not lock")],
    ids=["deadlock", "lock-not-available"],
)
def test_postgresql_contention_classes_are_transient(original: Exception) -> None:
    assert retry.is_transient(OperationalError("SELECT 1", {}, original))


def test_other_database_errors_are_not_retried() -> None:
    assert not retry.is_transient(OperationalError("SELECT 1", {}, psycopg.errors.UndefinedTable("no table")))
    assert not retry.is_transient(OperationalError("SELECT 1", {}, psycopg.errors.AdminShutdown("terminating")))


def test_a_stale_expected_version_is_one_conflict_not_retried(ready: Tracker, no_pauses: list[float]) -> None:
    claim = add(ready, 1)
    attempts: list[int] = []

    def stale(unit: uow.UnitOfWork) -> Any:
        attempts.append(1)
        unit.append(ev.ClaimRetracted(claim=claim, on="2023-03-03"), expected_version=0)  # it is at 1
        unit.commit()

    with pytest.raises(ConflictError, match="changed since it was read"):
        ready._write(stale)
    assert attempts == [1] and not no_pauses
    assert_consistent(ready, expected_events=4)


def test_an_id_already_taken_is_one_conflict(ready: Tracker, no_pauses: list[float]) -> None:
    add(ready, 1, id="taken")
    with pytest.raises(ConflictError, match="claim taken is already recorded"):
        add(ready, 2, id="taken")
    assert not no_pauses
    assert event_count(ready) == 4


def lost_connection() -> OperationalError:
    return OperationalError(
        "COMMIT", {}, psycopg.errors.AdminShutdown("terminating connection"), connection_invalidated=True
    )


def test_a_connection_lost_before_committing_says_nothing_was_recorded(
    ready: Tracker, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing_begin(monkeypatch, lost_connection(), times=1)
    with pytest.raises(StorageError, match=r"during the write \(terminating connection\); nothing was recorded"):
        add(ready, 1)
    assert event_count(ready) == 3
    add(ready, 2)  # the next write works
    assert_consistent(ready, expected_events=4)


def test_a_connection_lost_while_committing_says_the_outcome_is_unknown(
    ready: Tracker, monkeypatch: pytest.MonkeyPatch
) -> None:
    commit = uow.UnitOfWork.commit

    def commit_then_lose_the_connection(self: uow.UnitOfWork) -> None:
        commit(self)  # the server committed, and then the answer never came back
        raise lost_connection()

    monkeypatch.setattr(uow.UnitOfWork, "commit", commit_then_lose_the_connection)
    with pytest.raises(StorageError, match=r"while committing .*may or may not be recorded"):
        add(ready, 1)
    monkeypatch.undo()
    assert add(ready, 1) and event_count(ready) == 4  # running it again is safe: already recorded, skipped
    assert_consistent(ready, expected_events=4)
