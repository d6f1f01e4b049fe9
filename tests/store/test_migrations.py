"""The schema lives in Alembic migrations that go up and down cleanly on SQLite and PostgreSQL.

An empty database goes to head one revision at a time (every table exists, ``current`` is head,
the append-only triggers are in place), down to base one revision at a time (every table gone,
the log's triggers and function too) and up again; a populated database goes down one revision
and up again keeping its log intact, and down to base; upgrading twice is a no-op; and ``alembic
check``, run as operators run it from the repository, finds nothing to generate.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DBAPIError

import claims
import claims.projections.tables  # registers the projection tables on the metadata
from claims.api import Tracker
from claims.cli import cli
from claims.domain.dates import period_end, said_key
from claims.domain.errors import NotFoundError, StorageError
from claims.store import migrations
from claims.store.engine import open_engine, resolve_url
from claims.store.schema import SCHEMA_REVISIONS, metadata

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
EXPECTED_TABLES = {
    "events",
    "parties",
    "speakers",
    "sources",
    "topics",
    "claim_versions",
    "claim_periods",
    "claim_acts",
    "verdicts",
    "projection_checkpoints",
}


def tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def triggers(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        else:
            query = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
        return set(connection.execute(text(query)).scalars())


def revisions_oldest_first(engine: Engine) -> list[str]:
    return [revision for revision, _, _ in reversed(migrations.history(engine))]


def test_empty_database_to_head_down_to_base_and_up_again(db_url: str) -> None:
    engine = open_engine(resolve_url(db_url))
    try:
        assert tables(engine) == set()
        assert migrations.current(engine) is None
        revisions = revisions_oldest_first(engine)
        head = migrations.head(engine)
        assert revisions[-1] == head

        for revision in revisions:  # up one revision at a time
            migrations.upgrade(engine, revision)
            assert migrations.current(engine) == revision
        assert tables(engine) >= EXPECTED_TABLES
        # Every table the code declares is created by the migrations, and nothing else.
        assert tables(engine) == set(metadata.tables)
        assert triggers(engine)

        for revision in reversed([None, *revisions[:-1]]):  # and down one at a time
            migrations.downgrade(engine, "-1")
            assert migrations.current(engine) == revision
        assert tables(engine) == set()
        assert triggers(engine) == set()
        if engine.dialect.name == "postgresql":
            with engine.connect() as connection:
                leftover = connection.execute(
                    text("SELECT count(*) FROM pg_proc WHERE proname = 'claims_refuse_rewrite'")
                ).scalar()
            assert leftover == 0

        migrations.upgrade(engine)
        assert migrations.current(engine) == head
        assert tables(engine) == set(metadata.tables)
        # The triggers are back: an event, once written, cannot be deleted.
        with claims.open_tracker(db_url, user="tester") as tracker:
            tracker.add_party("russia", name="Russia")
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text("DELETE FROM events"))
    finally:
        engine.dispose()


def test_history_lists_every_revision_down_to_base(db_url: str) -> None:
    engine = open_engine(resolve_url(db_url))
    try:
        history = migrations.history(engine)
        assert history, "no revisions found"
        assert history[0][0] == migrations.head(engine)
        assert history[-1][1] is None  # the oldest revision starts from base
        # Each revision's down revision is the next one listed: one straight line, no branches.
        assert [down for _, down, _ in history[:-1]] == [revision for revision, _, _ in history[1:]]
        assert all(doc.strip() for _, _, doc in history)
    finally:
        engine.dispose()


def test_upgrading_an_initialised_database_again_changes_nothing(seeded: Tracker) -> None:
    before = seeded.checkpoint()
    assert seeded.init() == migrations.head(seeded.engine)
    assert seeded.checkpoint() == before
    assert seeded.verify().intact


def test_a_populated_database_goes_down_one_revision_and_up_again(seeded: Tracker) -> None:
    revisions = revisions_oldest_first(seeded.engine)
    if len(revisions) < 2:
        pytest.skip("only one revision: going down one is going down to base (tested below)")
    before = seeded.checkpoint()
    narrative = seeded.narrative("russia")
    sources = seeded.list_claims()
    migrations.downgrade(seeded.engine, "-1")
    assert migrations.current(seeded.engine) == revisions[-2]
    assert seeded.checkpoint() == before  # the log is never touched by a migration
    migrations.upgrade(seeded.engine)
    assert migrations.current(seeded.engine) == revisions[-1]
    assert seeded.checkpoint() == before
    assert seeded.verify().intact
    assert seeded.narrative("russia") == narrative
    assert seeded.list_claims() == sources


def test_a_populated_database_goes_down_to_base_and_up_empty(seeded: Tracker) -> None:
    assert seeded.checkpoint()["size"] > 0
    migrations.downgrade(seeded.engine, "base")
    assert tables(seeded.engine) == set()
    seeded.init()
    assert seeded.checkpoint()["size"] == 0
    with pytest.raises(NotFoundError):  # the parties went with the log
        seeded.narrative("russia")


def alembic_check(url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CLAIMS_DATABASE_URL": url}
    return subprocess.run(
        [str(BIN / "alembic"), "check"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_alembic_check_finds_nothing_to_generate(db_url: str) -> None:
    init = subprocess.run(
        [str(BIN / "claims"), "--db", db_url, "init"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert init.returncode == 0, init.stderr
    result = alembic_check(db_url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No new upgrade operations detected" in result.stdout + result.stderr


def test_alembic_check_notices_a_database_behind_the_code(db_url: str) -> None:
    """The check can fail: on a database with no schema it reports the migrations not yet applied."""
    result = alembic_check(db_url)
    assert result.returncode != 0
    assert "Target database is not up to date" in result.stdout + result.stderr


def test_upgrading_to_0006_keys_the_said_dates_already_projected(db_url: str) -> None:
    """Revision 0006 adds the keys that order said dates of one day by their instants; the rows
    projected before it get theirs from the migration (its own copy of the function, so the keys
    are written out here), and the answers read from those rows come in time order at once. A claim
    whose acts of one day were folded in their written order, another than their instants', is
    counted by ``claims db upgrade`` and ``claims projections status`` until a rebuild."""
    said = {
        "washington": ("2023-03-02T08:00:00-05:00", "2023-03-02T133200.000000"),  # 13:00 UTC
        "moscow": ("2023-03-02 10:00+03:00", "2023-03-02T111600.000000"),  # 07:00 UTC
        "delhi": ("2023-03-02t10:00:00.25+05:30", "2023-03-02T102600.250000"),  # 04:30:00.25 UTC
        "day": ("2023-03-02", "2023-03-02"),
        "month": ("2023-03", "2023-03"),
    }
    acts = {  # position: claim, kind, date, key
        10: ("day", "retracted", "2023-03-05T10:00+05:30", "2023-03-05T102600.000000"),
        11: ("day", "reaffirmed", "2023-03-05T06:00Z", "2023-03-05T108000.000000"),  # written first, happened after
        12: ("month", "retracted", "2023-04-01 12:00Z", "2023-04-01T129600.000000"),
        13: ("month", "reaffirmed", "2023-04-01T13:00Z", "2023-04-01T133200.000000"),  # both orders agree
    }
    engine = open_engine(resolve_url(db_url))
    try:
        migrations.upgrade(engine, "0005")
        with engine.begin() as connection:  # rows as revision 0005's projector wrote them
            connection.execute(
                text("INSERT INTO parties (id, name, kind, position) VALUES ('north', 'North', 'state', 0)")
            )
            connection.execute(text("INSERT INTO projection_checkpoints (name, position) VALUES ('claims', 13)"))
            for position, (ident, (said_on, _)) in enumerate(said.items(), start=1):
                connection.execute(
                    text(
                        "INSERT INTO claim_versions (claim_id, rec_from, party, topic, said_on, said_end, source,"
                        " via, text, asserted_at) VALUES (:id, :at, 'north', 'talks', :said, :end, 'wire', '[]',"
                        " :text, :at)"
                    ),
                    {"id": ident, "text": ident, "at": position, "said": said_on, "end": period_end(said_on)},
                )
                connection.execute(
                    text("INSERT INTO claim_periods (claim_id, rec_from, valid_from) VALUES (:id, :at, :end)"),
                    {"id": ident, "at": position, "end": period_end(said_on)},
                )
            for position, (ident, kind, on, _) in acts.items():
                connection.execute(
                    text(
                        "INSERT INTO claim_acts (position, claim_id, kind, on_date, on_end)"
                        " VALUES (:at, :id, :kind, :on, :end)"
                    ),
                    {"at": position, "id": ident, "kind": kind, "on": on, "end": period_end(on)},
                )
        upgrade = CliRunner().invoke(cli, ["--db", db_url, "db", "upgrade"])
        assert upgrade.exit_code == 0, upgrade.output
        assert "schema at 0006" in upgrade.stderr
        assert "warning: 1 claim had its acts of one day folded in the order written" in upgrade.stderr
        assert "run `claims projections rebuild`" in upgrade.stderr
        with engine.connect() as connection:
            versions = dict(connection.execute(text("SELECT said_on, said_key FROM claim_versions")).all())
            keys = dict(connection.execute(text("SELECT on_date, on_key FROM claim_acts")).all())
        assert versions == dict(said.values())
        assert keys == {on: key for _, _, on, key in acts.values()}
        assert all(said_key(on) == key for on, key in [*said.values(), *keys.items()])  # as the projector keys them
        with claims.open_tracker(db_url, user="tester") as tracker:
            assert [claim["id"] for claim in tracker.narrative("north")] == [
                "day",
                "delhi",
                "moscow",
                "washington",
                "month",
            ]
            assert tracker.claims_folded_in_written_order() == 1
        status = CliRunner().invoke(cli, ["--db", db_url, "projections", "status"])
        assert "1 claim folded with acts of one day in the order written" in status.stdout
        # An act recorded since folds its claim again, every act in time order: no longer counted.
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO claim_acts (position, claim_id, kind, on_date, on_end, on_key)"
                    " VALUES (14, 'day', 'reaffirmed', '2023-03-06', '2023-03-06', '2023-03-06')"
                )
            )
        with claims.open_tracker(db_url, user="tester") as tracker:
            assert tracker.claims_folded_in_written_order() == 0
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM claim_acts WHERE position = 14"))
        rebuilt = CliRunner().invoke(cli, ["--db", db_url, "projections", "rebuild"])
        assert rebuilt.exit_code == 0, rebuilt.output
        with claims.open_tracker(db_url, user="tester") as tracker:
            assert tracker.claims_folded_in_written_order() == 0
        assert "folded with acts" not in CliRunner().invoke(cli, ["--db", db_url, "projections", "status"]).stdout
    finally:
        engine.dispose()


def test_the_revisions_the_code_knows_are_the_migrations_shipped(db_url: str) -> None:
    engine = open_engine(resolve_url(db_url))
    try:
        assert tuple(revisions_oldest_first(engine)) == SCHEMA_REVISIONS
    finally:
        engine.dispose()


def test_a_database_at_an_earlier_revision_is_refused_with_the_command_that_upgrades_it(seeded: Tracker) -> None:
    """Reads of the projections and writes alike, before they reach a column the earlier schema
    lacks; the log, whose table has not changed, can still be read and verified. ``claims db
    upgrade`` then brings it to the code's revision, and both work again."""
    migrations.downgrade(seeded.engine, SCHEMA_REVISIONS[-2])
    with claims.open_tracker(seeded.url, user="tester") as earlier:
        wanted = f"has schema {SCHEMA_REVISIONS[-2]}, and this version of claims needs {SCHEMA_REVISIONS[-1]}"
        with pytest.raises(StorageError, match=f"{wanted}: run `claims db upgrade`"):
            earlier.narrative("russia")
        with pytest.raises(StorageError, match=wanted):
            earlier.add_party("north", name="North")
        assert earlier.verify().intact and earlier.checkpoint() == seeded.checkpoint()
        # What every revision holds: the projections' row counts, the ids shell completion offers.
        assert earlier.projections_status()["checkpoint"] == seeded.checkpoint()["size"]
        assert ("russia", "Russia") in earlier.complete_ids("party", "rus")
        assert earlier.init() == SCHEMA_REVISIONS[-1]
        assert [c["id"] for c in earlier.narrative("russia")] == [c["id"] for c in seeded.narrative("russia")]
        earlier.add_party("north", name="North")
