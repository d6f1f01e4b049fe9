"""The log cannot be rewritten: not by SQL on either backend, and on PostgreSQL not by the
application's own role either.

The append-only triggers of migration 0001 refuse UPDATE and DELETE (and TRUNCATE, and the upsert
and INSERT OR REPLACE forms of them) on both backends, and still do after the migrations went down
and up. ``claims db grant-writer ROLE`` gives a PostgreSQL role SELECT and INSERT on the log, the
projection tables to fold and rebuild, and nothing more: connected as that role, UPDATE, DELETE,
TRUNCATE, disabling or dropping the triggers and dropping the table are refused by privileges
before any trigger is reached, while ``claims add``, ``projections rebuild`` and ``verify`` work.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.engine import make_url

import claims
from claims.api import Tracker
from claims.cli import cli
from claims.store import migrations
from tests.conftest import PG_ADMIN, SEED, new_database_url
from tests.reliability.support import (
    assert_consistent,
    assert_one_clear_error,
    assert_rewrites_refused,
    claims_command,
    log_rows,
)

RUNNER = CliRunner(env={"CLAIMS_DATABASE_URL": None, "CLAIMS_USER": None})
LOG_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")


@pytest.fixture
def seeded(tracker: Tracker) -> Tracker:
    tracker.import_file(SEED)
    return tracker


def test_rewrites_are_refused_and_still_are_after_the_migrations_go_down_and_up(seeded: Tracker) -> None:
    log = log_rows(seeded.engine)
    assert_rewrites_refused(seeded.engine)
    migrations.downgrade(seeded.engine, "0001")
    assert_rewrites_refused(seeded.engine)
    migrations.upgrade(seeded.engine)
    assert_rewrites_refused(seeded.engine)
    assert log_rows(seeded.engine) == log
    assert_consistent(seeded)


# -- the application's role on PostgreSQL ------------------------------------------------------------


def psql(url: str) -> psycopg.Connection:
    return psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False))


@pytest.fixture
def pg(tmp_path: Path) -> Iterator[Tracker]:
    """A seeded database on PostgreSQL (roles exist only there)."""
    urls = new_database_url("postgresql", tmp_path)
    with claims.open_tracker(next(urls), user="tester") as tracker:
        tracker.init()
        tracker.import_file(SEED)
        yield tracker
    urls.close()


@pytest.fixture
def writer(pg: Tracker) -> Iterator[str]:
    """A fresh LOGIN role, dropped again at the end (its grants in the test database first)."""
    tracker = pg
    role = f"claims_writer_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{role}" LOGIN')
    try:
        yield role
    finally:
        with psql(tracker.url) as owner:
            owner.execute(f'DROP OWNED BY "{role}"')
            owner.commit()
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP ROLE IF EXISTS "{role}"')


def as_role(url: str, role: str) -> str:
    return make_url(url).set(username=role, password=None).render_as_string(hide_password=False)


def test_grant_writer_lets_the_role_append_and_nothing_more(pg: Tracker, writer: str) -> None:
    seeded = pg
    granted = RUNNER.invoke(cli, ["--db", seeded.url, "db", "grant-writer", writer])
    assert granted.exit_code == 0, granted.output
    with seeded.engine.connect() as connection:
        privileges = {
            privilege: connection.execute(
                text("SELECT has_table_privilege(:role, 'events', :privilege)"),
                {"role": writer, "privilege": privilege},
            ).scalar_one()
            for privilege in LOG_PRIVILEGES
        }
        projections_writable = connection.execute(
            text(
                "SELECT bool_and(has_table_privilege(:role, tablename, 'SELECT, INSERT, UPDATE, DELETE')) "
                "FROM pg_tables WHERE schemaname = current_schema() AND tablename NOT IN ('events', 'alembic_version')"
            ),
            {"role": writer},
        ).scalar_one()
    assert privileges == {p: p in ("SELECT", "INSERT") for p in LOG_PRIVILEGES}
    assert projections_writable

    log = log_rows(seeded.engine)
    role_url = as_role(seeded.url, writer)
    for statement in [
        "UPDATE events SET recorded_by = 'mallory'",
        "DELETE FROM events WHERE position = 1",
        "TRUNCATE events",
        "ALTER TABLE events DISABLE TRIGGER USER",
        "DROP TRIGGER events_refuse_update_delete ON events",
        "DROP TABLE events",
        "CREATE TRIGGER sneaky BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION claims_refuse_rewrite()",
    ]:
        with psql(role_url) as connection, pytest.raises(psycopg.errors.InsufficientPrivilege):
            connection.execute(statement)
    assert log_rows(seeded.engine) == log

    added = claims_command(
        role_url,
        "add",
        "--party",
        "russia",
        "--topic",
        "g20-joint-statement",
        "--said-on",
        "2023-03-02",
        "--source",
        "tass",
        "--text",
        "Appended by the writer role.",
    )
    assert added.returncode == 0, added.stderr
    with claims.open_tracker(role_url, user="app") as app:
        app.add_party("appended-party", name="Appended through the API as the writer role")
        assert app.rebuild_projections() == len(log) + 2
        assert app.verify().intact
    assert log_rows(seeded.engine)[: len(log)] == log
    assert_consistent(seeded, expected_events=len(log) + 2)


def test_grant_writer_refuses_roles_it_cannot_make_mere_writers(pg: Tracker) -> None:
    for role, message in [
        ("no_such_role_here", "no such role"),
        ("postgres", "is a superuser"),
    ]:
        result = RUNNER.invoke(cli, ["--db", pg.url, "db", "grant-writer", role])
        assert_one_clear_error(result.stderr, result.exit_code)
        assert message in result.stderr


def test_grant_writer_on_sqlite_is_a_clear_error(tmp_path: Path) -> None:
    with claims.open_tracker(str(tmp_path / "claims.db")) as tracker:
        tracker.init()
        result = RUNNER.invoke(cli, ["--db", tracker.url, "db", "grant-writer", "someone"])
    assert_one_clear_error(result.stderr, result.exit_code)
    assert "roles exist only on PostgreSQL" in result.stderr
