"""A large unit of work writes each batch on a thread of its own (claims.store.background).

What must hold: the log and the projections are exactly what writing in place gives, whether the
claims that lifecycle entries change are carried from batch to batch or read back, and carried
they are never read back; a write that fails on that thread fails the unit and nothing of it is
committed; the thread ends with the unit; and SQLite's many-rows INSERT stays within the driver's
parameter limit.
"""

from __future__ import annotations

import json
import re
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, func, select
from sqlalchemy.exc import IntegrityError

import claims
from bench.generate import generate
from claims.api import Tracker
from claims.domain import events as ev
from claims.domain.errors import ConflictError
from claims.projections import projector
from claims.projections.projector import TABLES
from claims.projections.tables import claim_acts, claim_periods, claim_versions, parties, sources
from claims.service import uow as unit_of_work
from claims.store import bulk
from claims.store.background import BackgroundWriter
from claims.store.schema import events
from tests.conftest import new_database_url
from tests.store.support import (
    SMALL_BATCH,
    busy_lifecycles,
    contents,
    reads_back,
    refuse_claim_versions_of,
    rows_of,
    statements_run,
    write_document,
    write_documents,
)


def _writer_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("claims-writer")]


def _counting_submits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the writes handed to background writers (the real ones still run)."""
    submitted: list[int] = []
    submit = BackgroundWriter.submit

    def counted(self: BackgroundWriter, *args: Any) -> None:
        submitted.append(1)
        submit(self, *args)

    monkeypatch.setattr(BackgroundWriter, "submit", counted)
    return submitted


@pytest.mark.parametrize("carried", [True, False], ids=["claims carried", "claims read back"])
def test_large_imports_written_in_the_background_equal_those_written_in_place(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, carried: bool
) -> None:
    """Either way the lifecycle entries find the claims they touch: carried from batch to batch,
    as the importer asks, or read back from the rows written (what any other unit does). Claims
    are changed several times over many batches, and by a second import after the first."""
    documents = write_documents(tmp_path, *busy_lifecycles())
    submitted = _counting_submits(monkeypatch)
    if not carried:
        monkeypatch.setattr(unit_of_work.UnitOfWork, "will_change", lambda self, claim_ids: None)
    imported = {}
    for how, batch in (("in place", 10**9), ("in the background", SMALL_BATCH)):
        monkeypatch.setattr(unit_of_work, "FLUSH_EVERY", batch)
        place = tmp_path / how.replace(" ", "-")
        place.mkdir()
        for url in new_database_url(backend, place):
            with claims.open_tracker(url, user="tester") as tracker:
                tracker.init()
                events = sum(tracker.import_file(document).events for document in documents)
                imported[how] = contents(tracker)
                assert tracker.verify().intact
        if how == "in place":
            assert submitted == []
    assert len(submitted) >= 2 * (events // SMALL_BATCH)  # events and projections, batch by batch
    assert imported["in the background"] == imported["in place"]
    assert len(imported["in place"]["events"]) == events
    assert imported["in place"]["claim_acts"] and imported["in place"]["verdicts"]
    assert any(row[2] is not None for row in imported["in place"]["claim_versions"])  # corrections closed versions
    assert _writer_threads() == []


def test_an_import_carries_the_claims_its_lifecycle_entries_touch_instead_of_reading_them_back(
    tracker: Tracker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading them back would wait, batch after batch, for the writer thread to finish the rows."""
    monkeypatch.setattr(unit_of_work, "FLUSH_EVERY", SMALL_BATCH)
    statements = statements_run(tracker)
    tracker.import_file(write_document(tmp_path, 200))
    # The trace saw the import's registry reads and its writes, all run on the driver's own
    # cursor, as a read back would be.
    assert any(s.lstrip().startswith("SELECT") and "FROM parties" in s for s in statements)
    assert any('INTO "claim_versions"' in s for s in statements)
    assert reads_back(statements) == []
    with tracker.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(claim_acts)).scalar()


def test_a_background_write_that_fails_fails_the_unit_and_nothing_is_committed(
    tracker: Tracker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = generate(200)
    late = data["claims"][150]["id"]  # asserted several batches in
    document = tmp_path / "document.json"
    document.write_text(json.dumps(data), encoding="utf-8")
    with tracker.engine.begin() as connection:
        refuse_claim_versions_of(connection, late)
    monkeypatch.setattr(unit_of_work, "FLUSH_EVERY", SMALL_BATCH)
    submitted = _counting_submits(monkeypatch)
    with pytest.raises(Exception, match=r"refused by the test|refuse_one"):
        tracker.import_file(document)
    assert submitted, "the import did not write in the background"
    assert _writer_threads() == []
    with tracker.engine.connect() as connection:
        assert all(rows_of(connection, table) == [] for table in (events, *TABLES))
    # The pooled connection is fit for the next writer.
    tracker.add_party("brazil", name="Brazil", kind="state")
    assert tracker.verify().intact


def test_a_conflict_found_by_the_writer_reaches_the_caller_and_the_unit_cannot_commit(
    tracker: Tracker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stream expected to be new that exists already is refused by the database while the
    writer inserts the batch; the caller learns it at its next use of the unit, and a caller that
    catches it still cannot commit what the unit holds."""
    tracker.add_party("brazil", name="Brazil", kind="state")
    monkeypatch.setattr(unit_of_work, "FLUSH_EVERY", 10)
    before = tracker.verify().size
    with unit_of_work.UnitOfWork(tracker.engine, "tester") as unit:
        with pytest.raises(ConflictError, match="expected to be new already exists"):
            for number in range(30):
                party = "brazil" if number == 3 else f"p{number}"
                unit.append(ev.PartyRegistered(party=party, name="P", kind="state"), 0)
            unit.flush()
            unit.connection  # noqa: B018 - any use of the connection waits for the writer
        with pytest.raises(ConflictError):
            unit.commit()
    assert _writer_threads() == []
    assert tracker.verify().size == before
    with tracker.engine.connect() as connection:
        assert [row[0] for row in rows_of(connection, parties)] == ["brazil"]


def test_rows_inserted_inside_a_pipeline_are_written_without_copy(tracker: Tracker) -> None:
    """COPY cannot run in psycopg's pipeline mode: more rows than one INSERT takes go as an
    executemany there. A duplicate among them is still SQLAlchemy's IntegrityError, and once the
    transaction is rolled back the connection writes again, out of the pipeline."""
    rows = [(f"p{number}", f"P {number}", "state", number) for number in range(3 * bulk.FEW_ROWS)]
    with tracker.engine.begin() as connection:
        with bulk.pipelined(connection):
            assert bulk.in_pipeline(connection) == (tracker.engine.dialect.name == "postgresql")
            bulk.insert_rows(connection, parties, rows)
        assert not bulk.in_pipeline(connection)
        assert rows_of(connection, parties) == sorted(rows)
    late = ("r", "R", "state", 0)
    with tracker.engine.connect() as connection:
        with pytest.raises(IntegrityError), bulk.pipelined(connection):
            bulk.insert_rows(connection, parties, [(f"q{number}", "Q", "state", 0) for number in range(40)] + rows[:1])
            bulk.insert_rows(connection, parties, [late])
        connection.rollback()
        assert not bulk.in_pipeline(connection)
        bulk.insert_rows(connection, parties, [late])
        connection.commit()
    with tracker.engine.connect() as connection:
        assert rows_of(connection, parties) == sorted([*rows, late])


@pytest.mark.parametrize("backend", ["sqlite"])
def test_many_rows_per_insert_stay_within_the_drivers_parameter_limit(tracker: Tracker) -> None:
    rows = [(f"p{number}", f"P {number}", "state", number) for number in range(50)]
    with tracker.engine.begin() as connection:
        driver = connection.connection.driver_connection
        assert driver is not None
        limit = connection.dialect.loaded_dbapi.SQLITE_LIMIT_VARIABLE_NUMBER
        default = driver.getlimit(limit)
        driver.setlimit(limit, 30)  # 7 rows of 4 columns a statement
        try:
            bulk.insert_rows(connection, parties, rows, many_per_statement=True)
        finally:
            driver.setlimit(limit, default)
        assert rows_of(connection, parties) == sorted(rows)


@pytest.mark.parametrize("count", [1, bulk.FEW_ROWS, bulk.FEW_ROWS + 1])
def test_a_few_rows_and_many_are_written_alike(tracker: Tracker, count: int) -> None:
    """PostgreSQL takes a few rows (a single add's) in one INSERT and more by COPY; each value, a
    NULL, non-ASCII text and a 64-bit integer among them, reads back the same either way."""
    rows = [
        (
            f"s{number}",
            f"Агентство «{number}»",
            "news-agency",
            None if number % 2 else "https://example.org",
            None,
            2**40 + number,
        )
        for number in range(count)
    ]
    with tracker.engine.begin() as connection:
        bulk.insert_rows(connection, sources, rows)
        assert rows_of(connection, sources) == sorted(rows)


def test_a_refused_row_among_a_few_surfaces_as_the_databases_integrity_error(tracker: Tracker) -> None:
    tracker.add_party("brazil", name="Brazil", kind="state")
    few = [("india", "India", "state", 98), ("brazil", "Brazil", "state", 99), ("chile", "Chile", "state", 100)]
    with pytest.raises(IntegrityError), tracker.engine.begin() as connection:
        bulk.insert_rows(connection, parties, few)
    with tracker.engine.connect() as connection:
        assert [row[0] for row in rows_of(connection, parties)] == ["brazil"]


def test_the_writer_runs_writes_in_order_and_none_after_a_failure() -> None:
    done: list[str] = []

    def fail() -> None:
        done.append("failed")
        raise RuntimeError("the second write fails")

    writer = BackgroundWriter()
    try:
        writer.submit(done.append, "first")
        writer.submit(fail)
        writer.submit(done.append, "third")
        with pytest.raises(RuntimeError, match="second write"):
            writer.wait()
        writer.submit(done.append, "after")
        with pytest.raises(RuntimeError, match="second write"):  # and at every wait after it
            writer.wait()
        assert done == ["first", "failed"]
    finally:
        writer.close()
    assert _writer_threads() == []


class _SlowWrite:
    """A write that runs until released, then records itself."""

    def __init__(self) -> None:
        self.started, self.release = threading.Event(), threading.Event()
        self.done: list[str] = []

    def __call__(self) -> None:
        self.started.set()
        self.release.wait(10)
        self.done.append("slow")


def _close_waits_for_the_running_write_and_drops_the_rest(writer: BackgroundWriter, slow: _SlowWrite) -> None:
    """Close ``writer`` while ``slow`` runs on it, with one more write queued behind it: close must
    return only once ``slow`` is let go and has finished, the queued write never run."""
    closing = threading.Thread(target=writer.close)
    closing.start()
    closing.join(0.2)
    assert closing.is_alive(), "close returned while a write was still running"
    slow.release.set()
    closing.join(10)
    assert slow.done == ["slow"] and not closing.is_alive()
    assert _writer_threads() == []


def test_closing_the_writer_waits_for_the_running_write_and_drops_the_rest() -> None:
    """Closing abandons a unit (or ends a committed one, which holds no writes): the write under
    way finishes, those not begun never run. (That a failure is not raised again by close is held
    by the ordering test above, which closes a failed writer.)"""
    slow = _SlowWrite()
    writer = BackgroundWriter()
    writer.submit(slow)
    writer.submit(slow.done.append, "queued")
    slow.started.wait(10)
    _close_waits_for_the_running_write_and_drops_the_rest(writer, slow)


def _interrupted(call: Callable[[], None], *, then: Callable[[], None] | None = None) -> None:
    """Run ``call`` while another thread sends this one SIGINT 0.1 s in (and then runs ``then``):
    the KeyboardInterrupt must come out of ``call``."""

    def interrupt() -> None:
        time.sleep(0.1)
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
        if then is not None:
            then()

    interrupter = threading.Thread(target=interrupt)
    interrupter.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            call()
    finally:
        interrupter.join()


def test_an_interrupt_while_closing_is_raised_once_the_running_write_has_finished() -> None:
    """Ctrl-C while a unit is abandoned must not let its rollback overlap the write still running."""
    slow = _SlowWrite()

    def release_later() -> None:
        time.sleep(0.3)
        slow.release.set()

    writer = BackgroundWriter()
    writer.submit(slow)
    slow.started.wait(10)
    _interrupted(writer.close, then=release_later)
    assert slow.done == ["slow"]
    assert _writer_threads() == []


def test_an_interrupt_while_waiting_leaves_the_writes_not_yet_done_to_close() -> None:
    """Ctrl-C while the caller waits for the writer (a rebuild waits before every page it reads):
    close must still know the write under way and the one queued, so that it waits for the first
    and drops the second before the unit rolls back."""
    slow = _SlowWrite()
    writer = BackgroundWriter()
    writer.submit(slow)
    writer.submit(slow.done.append, "queued")
    slow.started.wait(10)
    _interrupted(writer.wait)
    _close_waits_for_the_running_write_and_drops_the_rest(writer, slow)


def test_the_claims_an_import_changes_have_their_rows_written_once_closed_never_updated(
    tracker: Tracker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A carried claim's open rows wait for the batch that changes it, instead of being written
    open and closed by an UPDATE (which rewrites the row and its index entries)."""
    document = write_documents(tmp_path, busy_lifecycles()[0])[0]
    monkeypatch.setattr(unit_of_work, "FLUSH_EVERY", SMALL_BATCH)
    batches: list[int] = []
    closes: list[tuple[int, str]] = []
    write = projector.Batch.write

    def noting_closes(batch: projector.Batch, connection: Connection, **options: Any) -> None:
        batches.append(batch.last_position)
        closes.extend([*batch.closed_versions, *batch.closed_periods])  # each an UPDATE of a stored row
        write(batch, connection, **options)

    monkeypatch.setattr(projector.Batch, "write", noting_closes)
    run = statements_run(tracker)
    tracker.import_file(document)
    assert len(batches) > 300 // SMALL_BATCH
    assert closes == []
    # and in what the database was sent, the driver's own statements included
    assert any(re.match(r'\s*(INSERT (OR FAIL )?INTO|COPY) "claim_versions"', statement) for statement in run)
    assert not [s for s in run if re.match(r'\s*UPDATE\s+"?claim_', s, re.IGNORECASE)]
    with tracker.engine.connect() as connection:
        closed = [row for row in rows_of(connection, claim_versions) if row[2] is not None]
    assert len(closed) >= 2 * 30  # the busy claims' corrections closed their versions


@pytest.mark.parametrize("events_count", [4, 5], ids=["nothing pending at commit", "some pending at commit"])
def test_rows_held_for_a_change_that_never_comes_are_written_at_commit(
    tracker: Tracker, monkeypatch: pytest.MonkeyPatch, events_count: int
) -> None:
    """A change announced and never made (a repeated lifecycle entry is recorded once) leaves the
    claim's rows held back until the commit, which writes them, even when no event is left to
    write with them."""
    tracker.add_party("russia", name="Russia", kind="state")
    tracker.add_topic("g20", title="G20")
    tracker.add_source("tass", name="TASS")
    monkeypatch.setattr(unit_of_work, "FLUSH_EVERY", 2)
    claims_ids = [f"c{number}" for number in range(events_count)]
    with unit_of_work.UnitOfWork(tracker.engine, "tester") as unit:
        unit.will_change(["c0", "c0", "c1"])  # c0 changed once of twice, c1 never
        for claim in claims_ids[:-1]:
            unit.append(
                ev.ClaimAsserted(
                    claim=claim,
                    party="russia",
                    topic="g20",
                    said_on="2023-03-02",
                    source="tass",
                    text=f"Claim {claim}.",
                ),
                0,
            )
        unit.append(ev.ClaimRetracted(claim="c0", on="2023-03-05", source="tass"), 1)
        unit.commit()
    with tracker.engine.connect() as connection:
        versions = {row[0] for row in rows_of(connection, claim_versions) if row[2] is None}
        periods = {row[0] for row in rows_of(connection, claim_periods)}
    assert versions == periods == set(claims_ids[:-1])
    imported = contents(tracker)
    tracker.rebuild_projections()
    assert contents(tracker) == imported
