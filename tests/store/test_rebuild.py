"""A projection rebuild replays the whole log in batches, inside one transaction.

What must hold: the projections it gives are exactly those the imports folded, whether the claims
that later events change are carried from batch to batch, partly carried or read back; carried,
they are never read back; each batch is written on the writer thread; a rebuild that fails leaves
the projections as they were; and the garbage collector is paused only while it runs.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Connection

import claims
from bench.generate import generate
from claims.api import Tracker
from claims.domain import events as ev
from claims.projections import projector
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
            assert tracker.rebuild_projections() == events
            assert bool(reads_back(statements)) == (carry_limit < len(changed))
            assert contents(tracker) == imported
    assert imported["claim_acts"] and imported["verdicts"]
    assert any(row[2] is not None for row in imported["claim_versions"])


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
    """Each batch's rows are written on the writer thread while the next batch is folded, one
    batch after another, and the projections are those the import folded."""
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


def test_a_rebuild_that_fails_leaves_the_projections_as_they_were(
    tracker: Tracker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracker.import_file(write_document(tmp_path, 200))
    before = contents(tracker)
    with tracker.engine.begin() as connection:
        refuse_claim_versions_of(connection, generate(200)["claims"][150]["id"])  # folded batches in
    monkeypatch.setattr(projector, "REBUILD_BATCH", SMALL_BATCH)
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
