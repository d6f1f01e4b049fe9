"""A projection rebuild replays the whole log in batches, inside one transaction.

What must hold: the projections it gives are exactly those the imports folded, whether the claims
that later events change are carried from batch to batch, partly carried or read back; carried,
they are never read back; each batch is written on the writer thread; a rebuild that fails leaves
the projections as they were; and the garbage collector is paused only while it runs.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Connection

import claims
from bench.generate import generate
from claims.api import Tracker
from claims.domain import events as ev
from claims.projections import projector
from claims.store import statistics
from tests.conftest import new_database_url
from tests.store.support import (
    SMALL_BATCH,
    busy_lifecycles,
    claims_changed,
    contents,
    reads_back,
    refuse_claim_versions_of,
    statements_run,
    write_document,
    write_documents,
)


@pytest.mark.parametrize("carry_limit", [projector.CARRY_LIMIT, 5, 0], ids=["carried", "some carried", "read back"])
def test_a_rebuild_in_small_batches_gives_the_projections_folded_on_import(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, carry_limit: int
) -> None:
    """Claims changed several times over many batches, the last time by a second import."""
    documents = write_documents(tmp_path, *busy_lifecycles())
    changed = set().union(*map(claims_changed, documents))
    assert len(changed) > 5
    for url in new_database_url(backend, tmp_path):
        with claims.open_tracker(url, user="tester") as tracker:
            tracker.init()
            events = sum(tracker.import_file(document).events for document in documents)
            imported = contents(tracker)
            monkeypatch.setattr(projector, "REBUILD_BATCH", SMALL_BATCH)
            monkeypatch.setattr(projector, "CARRY_LIMIT", carry_limit)
            statements = statements_run(tracker)
            analyzed = _analyzes_run(monkeypatch)
            assert tracker.rebuild_projections() == events
            reading_back = carry_limit < len(changed)
            assert bool(reads_back(statements)) == reading_back
            # Statistics are kept up with the rows only for the reads back (PostgreSQL's planner).
            assert bool(analyzed) == (reading_back and backend == "postgresql")
            assert contents(tracker) == imported
    assert imported["claim_acts"] and imported["verdicts"]
    assert any(row[2] is not None for row in imported["claim_versions"])


def _analyzes_run(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The tables the rebuild brings the planner's statistics up to date on, from its tenth row
    written to a table on."""
    analyzed: list[list[str]] = []
    analyze = projector.analyze

    def noted(connection: Connection, tables: list[str]) -> None:
        if tables:
            analyzed.append(tables)
        analyze(connection, tables)

    monkeypatch.setattr(statistics, "FIRST_ANALYZE_ROWS", 10)
    monkeypatch.setattr(projector, "analyze", noted)
    return analyzed


def test_a_rebuild_of_a_log_of_whole_batches_writes_the_rows_held_for_the_last_one(
    tracker: Tracker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last batch of a rebuild writes the rows carried claims held back, even when the log
    ends exactly at a batch's end."""
    events = tracker.import_file(write_documents(tmp_path, busy_lifecycles(60, busy=10)[0])[0]).events
    imported = contents(tracker)
    for size in sorted({d for d in range(2, 60) if events % d == 0} | {events}):
        monkeypatch.setattr(projector, "REBUILD_BATCH", size)
        assert tracker.rebuild_projections() == events
        assert contents(tracker) == imported, size


def test_a_rebuild_writes_each_batch_on_its_writer_thread(
    tracker: Tracker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each batch's rows are written on the writer thread, and the projections are those the
    import folded."""
    events = tracker.import_file(write_documents(tmp_path, busy_lifecycles(60, busy=10)[0])[0]).events
    imported = contents(tracker)
    threads: list[str] = []
    write = projector.Batch.write

    def watched(batch: projector.Batch, connection: Connection, **options: bool) -> None:
        threads.append(threading.current_thread().name)
        write(batch, connection, **options)

    monkeypatch.setattr(projector, "REBUILD_BATCH", SMALL_BATCH)
    monkeypatch.setattr(projector.Batch, "write", watched)
    assert tracker.rebuild_projections() == events
    assert len(threads) == -(-events // SMALL_BATCH) > 1
    assert all(name.startswith("claims-writer") for name in threads)
    assert contents(tracker) == imported


def test_a_rebuild_reads_a_claim_back_only_once_the_batch_before_is_written(
    tracker: Tracker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer thread has the connection to itself while it writes: a batch that must read back
    a claim (none carried here) waits for it. Each write is slowed down, so that a read that did
    not wait would fall inside one."""
    for document in write_documents(tmp_path, *busy_lifecycles()):
        tracker.import_file(document)
    imported = contents(tracker)
    writing = threading.Event()
    overlapping: list[str] = []
    write = projector.Batch.write

    def slow(batch: projector.Batch, connection: Connection, **options: bool) -> None:
        writing.set()
        try:
            time.sleep(0.01)
            write(batch, connection, **options)
        finally:
            writing.clear()

    def watch(statement: str) -> None:
        if writing.is_set() and reads_back([statement]):
            overlapping.append(statement)

    monkeypatch.setattr(projector, "REBUILD_BATCH", SMALL_BATCH)
    monkeypatch.setattr(projector, "CARRY_LIMIT", 0)
    monkeypatch.setattr(projector.Batch, "write", slow)
    statements = statements_run(tracker, seen=watch)
    tracker.rebuild_projections()
    assert reads_back(statements)
    assert overlapping == []
    assert contents(tracker) == imported


def test_a_rebuild_of_an_empty_log_folds_nothing(tracker: Tracker) -> None:
    assert tracker.rebuild_projections() == 0
    assert not any(contents(tracker).values())


@pytest.mark.parametrize("batch", [SMALL_BATCH, 10**6], ids=["batches in", "in the last batch"])
def test_a_rebuild_that_fails_leaves_the_projections_as_they_were(
    tracker: Tracker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    tracker.import_file(write_document(tmp_path, 200))
    before = contents(tracker)
    with tracker.engine.begin() as connection:
        refuse_claim_versions_of(connection, generate(200)["claims"][150]["id"])
    monkeypatch.setattr(projector, "REBUILD_BATCH", batch)
    with pytest.raises(Exception, match=r"refused by the test|refuse_one"):
        tracker.rebuild_projections()
    assert contents(tracker) == before


def test_the_garbage_collector_is_paused_only_while_a_rebuild_runs(
    tracker: Tracker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebuild builds millions of acyclic objects, which full collections walk again and again."""
    tracker.add_party("brazil", name="Brazil", kind="state")
    seen: list[bool] = []
    replay: Callable[..., int] = projector.rebuild

    def watched(connection: Connection, progress: Callable[[int], None] | None = None) -> int:
        seen.append(gc.isenabled())
        return replay(connection, progress)

    monkeypatch.setattr(projector, "rebuild", watched)
    assert gc.isenabled()
    assert tracker.rebuild_projections() == 1
    assert seen == [False]
    assert gc.isenabled()


def test_a_carried_claim_is_let_go_after_its_last_announced_change() -> None:
    """Carried claims are held only while changes to them are still to come (memory)."""
    carried = projector.Carryover()
    carried.want(["c1", "c1"])  # two changes to come
    asserted = ev.ClaimAsserted(
        claim="c1", party="russia", topic="g20", said_on="2023-03-02", source="tass", text="A claim."
    )
    retracted = ev.ClaimRetracted(claim="c1", on="2023-03-10", source="tass", reason=None)
    reaffirmed = ev.ClaimReaffirmed(claim="c1", on="2023-03-15", source="tass")

    def no_read() -> Connection:
        raise AssertionError("read back from the database")

    # Its rows wait for the last change: held back by the first batch, written by the second.
    for decoded, written in (([(1, asserted), (2, retracted)], []), ([(3, reaffirmed)], ["c1"])):
        batch = projector.prepare(no_read, decoded, carried)  # the second batch finds c1 carried
        batch.apply_all(decoded)
        carried.keep(batch)
        assert [row[0] for row in batch.rows["claim_versions"]] == written  # claim_id
    assert not carried.holding
    with pytest.raises(AssertionError, match="read back"):
        projector.prepare(no_read, [(4, retracted)], carried)
