"""Claims added one per transaction, as ``claims add`` and a script's loop of ``add_claim`` do.

Parties, topics, sources and speakers are never changed once recorded (the log is append-only and
the same id with other fields is refused), so a tracker remembers the entries its committed units
knew and does not read them again for every claim. What it must not remember: an entry of a unit
that rolled back, anything of a database dropped and made again since (by this tracker or by any
other), or what a migration changed. Run on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from sqlalchemy import Connection, select, text
from sqlalchemy.exc import IntegrityError

import claims
from claims.api import Tracker
from claims.domain import events as ev
from claims.domain.commands import AddParty
from claims.domain.errors import ConflictError, NotFoundError, StorageError
from claims.projections import projector
from claims.projections.lookups import REGISTRIES
from claims.projections.tables import claim_periods, claim_versions
from claims.service import handlers
from claims.service.records import Registered
from claims.service.uow import UnitOfWork
from claims.store import bulk, eventlog
from tests.reliability.support import V1_SOURCES, assert_consistent, write_as_version_1
from tests.store.support import refuse_claim_versions_of, statements_run

REGISTRY_TABLES = tuple(table.name for table in REGISTRIES.values())


def _register(tracker: Tracker) -> None:
    tracker.add_party("russia", name="Russia", kind="state")
    tracker.add_speaker("lavrov", name="Sergei Lavrov", party="russia")
    tracker.add_topic("g20", title="G20")
    tracker.add_source("tass", name="TASS")
    tracker.add_source("ria", name="RIA Novosti")


def _add(tracker: Tracker, number: int, party: str = "russia") -> None:
    tracker.add_claim(
        party=party,
        speaker="lavrov" if party == "russia" else None,
        topic="g20",
        said_on="2023-03-02",
        source="tass",
        via=["ria"],
        text=f"claim number {number}",
    )


def _reads_of(statements: list[str], table: str) -> list[str]:
    return [s for s in statements if s.lstrip().upper().startswith("SELECT") and f"FROM {table}" in s]


def test_a_loop_of_adds_reads_each_registry_entry_once(db_url: str) -> None:
    with claims.open_tracker(db_url, user="tester") as first:
        first.init()
        _register(first)
    with claims.open_tracker(db_url, user="tester") as tracker:  # knows nothing of the registrations
        statements = statements_run(tracker)
        _add(tracker, 1)
        reads = {table: len(_reads_of(statements, table)) for table in REGISTRY_TABLES}
        assert reads == {"parties": 1, "speakers": 1, "sources": 2, "topics": 1}  # tass and ria
        statements.clear()
        for number in range(2, 6):
            _add(tracker, number)
        assert not any(_reads_of(statements, table) for table in REGISTRY_TABLES)
        # Each add still looks its own claim up, with one query by equality (no expanded list,
        # no "is any claim recorded?" first).
        lookups = _reads_of(statements, claim_versions.name)
        assert len(lookups) == 4
        assert all(" IN " not in s.upper() and "LIMIT" not in s.upper() for s in lookups)
        assert [c["text"] for c in tracker.narrative("russia")] == [f"claim number {n}" for n in range(1, 6)]


def _pipelined_writes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """For each write of the log's rows and of the projections' rows, whether it ran in a pipeline."""
    pipelined: list[tuple[str, bool]] = []
    write_events, write_batch = eventlog.write, projector.Batch.write

    def events_noted(connection: Connection, *args: Any, **options: Any) -> None:
        pipelined.append(("events", bulk.in_pipeline(connection)))
        write_events(connection, *args, **options)

    def batch_noted(batch: projector.Batch, connection: Connection, **options: Any) -> None:
        pipelined.append(("projections", bulk.in_pipeline(connection)))
        write_batch(batch, connection, **options)

    monkeypatch.setattr(eventlog, "write", events_noted)
    monkeypatch.setattr(projector.Batch, "write", batch_noted)
    return pipelined


@pytest.mark.parametrize("pipeline_mode", [True, False], ids=["libpq 14 or later", "an older libpq"])
def test_a_single_commands_writes_go_to_postgresql_in_one_pipeline(
    tracker: Tracker, monkeypatch: pytest.MonkeyPatch, pipeline_mode: bool
) -> None:
    """The log's INSERT, the projections' statements and the checkpoint are sent without waiting
    for each answer (``bulk.pipelined``), the check of a retraction's expected version among them.
    SQLite has no round trip to save, and a libpq without pipeline mode (older than 14) is sent
    them one by one."""
    _register(tracker)
    monkeypatch.setattr(psycopg.Pipeline, "is_supported", classmethod(lambda cls: pipeline_mode))
    pipelined = _pipelined_writes(monkeypatch)
    claim = tracker.add_claim(party="russia", topic="g20", said_on="2023-03-02", source="tass", text="x").id
    tracker.retract(claim, on="2023-03-03", source="tass")
    expected = pipeline_mode and tracker.engine.dialect.name == "postgresql"
    assert pipelined == [("events", expected), ("projections", expected)] * 2
    with tracker.engine.connect() as connection:
        assert not bulk.in_pipeline(connection)  # the pooled connection left the pipeline behind
    assert [c["id"] for c in tracker.narrative("russia", as_of="2023-03-02")] == [claim]
    assert tracker.narrative("russia", as_of="2023-03-04") == []
    assert_consistent(tracker, 7)


def test_a_conflict_the_log_refuses_in_a_pipeline_is_one_conflict_and_the_next_write_works(tracker: Tracker) -> None:
    """The events' INSERT refused (a stream expected to be new that exists) surfaces after the
    projections' statements were sent: still the ConflictError, nothing written, and the
    connection goes back to the pool fit for the next writer."""
    tracker.add_party("brazil", name="Brazil", kind="state")
    with UnitOfWork(tracker.engine, "tester") as unit:
        unit.append(ev.PartyRegistered(party="chile", name="Chile", kind="state"), 0)
        unit.append(ev.PartyRegistered(party="brazil", name="Brazil again", kind="state"), 0)
        with pytest.raises(ConflictError, match="expected to be new already exists"):
            unit.commit()
    assert_consistent(tracker, 1)
    tracker.add_party("chile", name="Chile", kind="state")
    assert_consistent(tracker, 2)


def test_a_projection_row_the_database_refuses_is_not_taken_for_a_stream_conflict(tracker: Tracker) -> None:
    """Only the log's unique stream version is a conflict, whatever words the refused row holds:
    PostgreSQL's message quotes the row (here a text about a stream)."""
    _register(tracker)
    with tracker.engine.begin() as connection:
        refuse_claim_versions_of(connection, "refused")
    text = "Mainstream media hide the stream of arms."
    with pytest.raises(IntegrityError, match=r"refused by the test|refuse_one"):
        tracker.add_claim(id="refused", party="russia", topic="g20", said_on="2023-03-02", source="tass", text=text)
    assert_consistent(tracker, 5)


def test_an_add_reads_the_logs_head_with_its_registry_check_in_one_query(tracker: Tracker) -> None:
    """The check of the remembered line and the head the new event chains onto are one statement."""
    _register(tracker)
    _add(tracker, 1)
    statements = statements_run(tracker)
    for number in range(2, 5):
        _add(tracker, number)
    reads_of_the_log = [s for s in statements if s.lstrip().upper().startswith("SELECT") and "FROM events" in s]
    assert len(reads_of_the_log) == 3
    assert tracker.verify().intact


def test_a_unit_that_wrote_chains_its_next_batch_onto_its_own_rows_not_the_head_it_checked(tracker: Tracker) -> None:
    registered = Registered()
    with UnitOfWork(tracker.engine, "tester", registered=registered) as unit:
        with pytest.raises(NotFoundError):
            handlers.require(unit.records, "party", "russia")  # the check reads the head
        handlers.register(unit, AddParty(id="russia", name="Russia", kind="state"))
        unit.flush()
        handlers.register(unit, AddParty(id="china", name="China", kind="state"))
        unit.commit()
    assert tracker.verify().intact
    assert_consistent(tracker, 2)


def test_a_loop_of_adds_sees_entries_another_tracker_registers_meanwhile(tracker: Tracker, db_url: str) -> None:
    _register(tracker)
    _add(tracker, 1)
    with claims.open_tracker(db_url, user="other") as other:
        other.add_party("china", name="China", kind="state")
    _add(tracker, 2, party="china")  # chains onto the other tracker's line, read with the check
    assert [c["text"] for c in tracker.narrative("china")] == ["claim number 2"]
    assert tracker.verify().intact
    assert_consistent(tracker)


def _known(tracker: Tracker, registered: Registered) -> dict[tuple[str, str], dict[str, object]]:
    with tracker.engine.connect() as connection:
        return registered.trusted(connection)[0]


def test_a_unit_hands_on_its_registry_entries_only_when_it_commits(tracker: Tracker) -> None:
    registered = Registered()
    with UnitOfWork(tracker.engine, "tester", registered=registered) as unit:
        handlers.register(unit, AddParty(id="russia", name="Russia", kind="state"))
        # rolled back: never committed
    assert _known(tracker, registered) == {}
    with UnitOfWork(tracker.engine, "tester", registered=registered) as unit:
        with pytest.raises(NotFoundError, match="unknown party: russia"):
            handlers.require(unit.records, "party", "russia")
        unit.commit()
    assert _known(tracker, registered) == {}
    with UnitOfWork(tracker.engine, "tester", registered=registered) as unit:
        handlers.register(unit, AddParty(id="russia", name="Russia", kind="state"))
        unit.commit()
    assert _known(tracker, registered)[("party", "russia")]["name"] == "Russia"


def test_an_add_the_database_refuses_hands_on_no_registry_entry(db_url: str) -> None:
    with claims.open_tracker(db_url, user="tester") as first:
        first.init()
        _register(first)
        with first.engine.begin() as connection:
            refuse_claim_versions_of(connection, "refused")
    with claims.open_tracker(db_url, user="tester") as tracker:
        statements = statements_run(tracker)
        with pytest.raises(Exception, match=r"refused by the test|refuse_one"):
            tracker.add_claim(id="refused", party="russia", topic="g20", said_on="2023-03-02", source="tass", text="x")
        statements.clear()
        _add(tracker, 1)  # nothing was committed: the entries are read again
        assert all(_reads_of(statements, table) for table in REGISTRY_TABLES)


def test_a_tracker_forgets_its_registry_entries_with_the_schema(tracker: Tracker) -> None:
    _register(tracker)
    _add(tracker, 1)
    tracker.downgrade("base")
    tracker.init()
    with pytest.raises(NotFoundError, match="unknown party: russia"):
        _add(tracker, 2)
    _register(tracker)
    _add(tracker, 2)
    assert [c["text"] for c in tracker.narrative("russia")] == ["claim number 2"]


def test_a_database_made_again_by_another_tracker_is_not_taken_for_the_one_remembered(
    tracker: Tracker, db_url: str
) -> None:
    _register(tracker)
    _add(tracker, 1)
    with claims.open_tracker(db_url, user="other") as other:
        other.downgrade("base")
        other.init()
        other.add_topic("g20", title="G20")
        other.add_source("tass", name="TASS")
        other.add_source("ria", name="RIA Novosti")
    with pytest.raises(NotFoundError, match="unknown party: russia"):
        _add(tracker, 2)
    assert tracker.add_party("russia", name="Russia", kind="state").recorded
    assert tracker.add_speaker("lavrov", name="Sergei Lavrov", party="russia").recorded
    _add(tracker, 2)
    assert [c["text"] for c in tracker.narrative("russia")] == ["claim number 2"]
    assert_consistent(tracker, expected_events=6)


@pytest.mark.parametrize("migrated_by", ["this tracker", "another"])
def test_a_tracker_writes_nothing_at_an_earlier_schema_and_after_the_migration_knows_its_entries(
    db_url: str, migrated_by: str
) -> None:
    """Migration 0002 gave every source a kind, and later ones changed the projections' columns: a
    tracker refuses to write to a database still at an earlier revision (remembering no registry
    entry read there), and once it is migrated, whoever ran the migration, the source written
    before is the same source, of the kind the migration gave it."""
    with claims.open_tracker(db_url, user="tester") as tracker:
        tracker.upgrade("0001")
        write_as_version_1(tracker, V1_SOURCES)  # old-wire without a kind, as 0001-era code left it
        with pytest.raises(StorageError, match=r"has schema 0001.*run `claims db upgrade`"):
            tracker.add_party("russia", name="Russia", kind="state")
        if migrated_by == "this tracker":
            tracker.init()
        else:
            with claims.open_tracker(db_url, user="other") as other:
                other.init()
        tracker.add_party("russia", name="Russia", kind="state")
        tracker.add_topic("g20", title="G20")
        tracker.add_claim(party="russia", topic="g20", said_on="2023-03-02", source="old-wire", text="Old news.")
        assert not tracker.add_source("old-wire", name="Old wire service").recorded  # the same source
        assert not tracker.add_source("old-wire", name="Old wire service", kind="other").recorded
        assert_consistent(tracker, expected_events=5)


def test_a_tracker_forgets_its_registry_entries_when_a_later_claims_migrates_the_database(tracker: Tracker) -> None:
    """A revision this code does not know is let through (a later claims's), and what its migration
    may have changed in the registries is read again: here a later revision is stood in for by
    its number in Alembic's table and a source's kind changed as such a migration might."""
    _register(tracker)
    _add(tracker, 1)  # the tracker now holds tass, as of this revision
    with tracker.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
        connection.execute(text("UPDATE sources SET kind = 'newspaper' WHERE id = 'tass'"))
    assert not tracker.add_source("tass", name="TASS", kind="newspaper").recorded  # as the database says now
    with pytest.raises(ConflictError):
        tracker.add_source("tass", name="TASS", kind="other")


def test_a_unit_that_wrote_nothing_hands_on_no_registry_entry(tracker: Tracker, db_url: str) -> None:
    """What such a unit read has no line of its own after it: were an older copy of the log
    restored, the line the tracker holds could vouch for an entry that copy lacks."""
    _register(tracker)
    _add(tracker, 1)
    with claims.open_tracker(db_url, user="other") as other:
        other.add_party("china", name="China", kind="state")
    statements = statements_run(tracker)
    assert not tracker.add_party("china", name="China", kind="state").recorded  # read, nothing written
    statements.clear()
    _add(tracker, 2, party="china")
    assert len(_reads_of(statements, "parties")) == 1


def test_a_claim_recorded_by_another_tracker_is_found_by_a_single_add(tracker: Tracker, db_url: str) -> None:
    _register(tracker)
    with claims.open_tracker(db_url, user="other") as other:
        other.add_claim(id="c-1", party="russia", topic="g20", said_on="2023-03-02", source="tass", text="first")
    outcome = tracker.add_claim(party="russia", topic="g20", said_on="2023-03-02", source="tass", text="second")
    assert outcome.recorded
    with pytest.raises(ConflictError, match="claim c-1 is already recorded"):
        tracker.add_claim(id="c-1", party="russia", topic="g20", said_on="2023-03-02", source="tass", text="again")


def test_the_rows_an_add_reads_on_the_driver_are_those_sqlalchemy_reads(tracker: Tracker) -> None:
    """``bulk.rows_on_driver``, which a single add's and a lifecycle entry's reads go through:
    value for value what a Core select reads, a claim's rows or only its open ones, and nothing
    for no ids."""
    _register(tracker)
    for number in (1, 2, 3):
        _add(tracker, number)
    ids = sorted(claim["id"] for claim in tracker.narrative("russia"))
    tracker.correct(ids[0], reason="a typo", text="claim number one")  # closes a version and its period
    tracker.retract(ids[1], on="2023-03-05", source="tass")  # closes a period, opens two
    with tracker.engine.connect() as connection:
        for table in (claim_versions, claim_periods):

            def read(*conditions: Any, table: Any = table) -> list[tuple[Any, ...]]:
                return sorted(tuple(row) for row in connection.execute(select(table).where(*conditions)))

            everything = read(table.c.claim_id.in_(ids))
            still_open = read(table.c.claim_id.in_(ids), table.c.rec_to.is_(None))
            assert len(still_open) < len(everything)
            assert sorted(bulk.rows_on_driver(connection, table, "claim_id", ids)) == everything
            assert sorted(bulk.rows_on_driver(connection, table, "claim_id", ids, open_only=True)) == still_open
            one = read(table.c.claim_id == ids[0])
            assert one and sorted(bulk.rows_on_driver(connection, table, "claim_id", ids[:1])) == one
        assert bulk.rows_on_driver(connection, claim_versions, "claim_id", []) == []
