"""Schema evolution: events of an older schema version read through their upcaster after a migration,
and the migrations go down and up on a populated database with every event intact.

``SourceRegistered`` went from schema version 1 (a source without a kind stored ``"kind": null``)
to version 2 (every source has a kind, ``other`` by default). A database written at revision 0001
by version 1 code is made here with raw SQL (a correctly chained event and the projection row the
version 1 projector folded). After ``claims init`` (migration 0002) the stored event is unchanged
byte for byte, is read as a version 2 event of kind ``other``, the projection says ``other``, a
rebuild gives the same, and registering the same source again is recognised as the same source.
Then the populated database goes down to 0001 and up to head on both backends: the log is
identical at every step, the chain verifies, the version 1 projection comes back on the way down,
and the append-only triggers still hold.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import text

import claims
from claims.api import Tracker
from claims.cli import cli
from claims.domain import events as ev
from claims.domain.errors import StorageError
from claims.store import migrations
from tests.conftest import SEED
from tests.reliability.support import (
    V1_SOURCES,
    assert_consistent,
    assert_rewrites_refused,
    log_rows,
    projection_snapshot,
    write_as_version_1,
)

RUNNER = CliRunner(env={"CLAIMS_DATABASE_URL": None, "CLAIMS_USER": None})


def source_kinds(tracker: Tracker) -> dict[str, str | None]:
    with tracker.engine.connect() as connection:
        return dict(connection.execute(text("SELECT id, kind FROM sources")).all())  # type: ignore[arg-type]


def test_the_upcaster_reads_version_1_as_version_2() -> None:
    assert ev.SourceRegistered.SCHEMA_VERSION == 2
    old = ev.from_stored("SourceRegistered", 1, {"source": "s", "name": "S", "kind": None, "url": None})
    assert old == ev.SourceRegistered(source="s", name="S", kind="other")
    kept = ev.from_stored("SourceRegistered", 1, {"source": "s", "name": "S", "kind": "newspaper"})
    assert kept.kind == "newspaper"  # type: ignore[attr-defined]
    assert ev.SourceRegistered(source="s", name="S").payload()["kind"] == "other"


def test_an_event_from_a_newer_schema_is_refused_clearly_not_misread() -> None:
    with pytest.raises(StorageError, match=r"SourceRegistered schema version 3.*upgrade claims"):
        ev.from_stored("SourceRegistered", 3, {"source": "s", "name": "S", "kind": "other", "region": "eu"})


def test_a_version_1_event_is_read_as_current_after_the_migration(db_url: str) -> None:
    with claims.open_tracker(db_url, user="tester") as tracker:
        tracker.upgrade("0001")  # the database as version 1 code left it
        lines = write_as_version_1(tracker, V1_SOURCES)
        assert source_kinds(tracker) == {"old-wire": None, "old-paper": "newspaper"}
        assert tracker.verify().intact

        assert tracker.init() == migrations.head(tracker.engine)
        assert source_kinds(tracker) == {"old-wire": "other", "old-paper": "newspaper"}
        stored = list(tracker.events())
        assert [event.line() for event in stored] == lines  # the log itself is untouched
        assert [event.event() for event in stored] == [
            ev.SourceRegistered(source="old-wire", name="Old wire service", kind="other"),
            ev.SourceRegistered(
                source="old-paper", name="Old paper", kind="newspaper", url="https://paper.example", published="1999"
            ),
        ]
        assert assert_consistent(tracker, expected_events=2)  # a rebuild folds the upcast events alike

        # The same source declared again without a kind is the same source: nothing new, no conflict.
        assert not tracker.add_source("old-wire", name="Old wire service").recorded
        document = {"format": "claims/v1", "sources": [{"id": "old-wire", "name": "Old wire service"}]}
        assert tracker.import_text(json.dumps(document), name="again.json").nothing_new
        tracker.add_source("new-wire", name="New wire service")
        newest = list(tracker.log(since=2))
        assert [(line["schema_version"], line["payload"]["kind"]) for line in newest] == [(2, "other")]


def test_a_populated_database_goes_down_to_0001_and_up_with_every_event_intact(db_url: str) -> None:
    with claims.open_tracker(db_url, user="tester") as tracker:
        tracker.upgrade("0001")
        write_as_version_1(tracker, V1_SOURCES)
        tracker.init()
        tracker.import_file(SEED)
        tracker.add_source("kindless", name="Registered as version 2 without a kind")
        log, projections = log_rows(tracker.engine), projection_snapshot(tracker.engine)
        size = assert_consistent(tracker)

        down = RUNNER.invoke(cli, ["--db", db_url, "db", "downgrade", "0001"])
        assert down.exit_code == 0, down.output
        assert migrations.current(tracker.engine) == "0001"
        assert log_rows(tracker.engine) == log
        assert tracker.verify().intact and tracker.verify().size == size
        kinds = source_kinds(tracker)
        assert kinds["old-wire"] is None  # what the version 1 projector folded
        assert kinds["old-paper"] == "newspaper" and kinds["kindless"] == "other"  # version 2 payloads say so
        assert_rewrites_refused(tracker.engine)

        up = RUNNER.invoke(cli, ["--db", db_url, "db", "upgrade"])
        assert up.exit_code == 0, up.output
        assert migrations.current(tracker.engine) == migrations.head(tracker.engine)
        assert log_rows(tracker.engine) == log
        assert projection_snapshot(tracker.engine) == projections
        assert assert_consistent(tracker) == size
