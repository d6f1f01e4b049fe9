"""Engine set-up per backend: what a connection is told, and what it must not change."""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import psycopg
import pytest

import claims
from claims.domain.errors import StorageError
from claims.projections import queries
from claims.store import engine as engine_module
from claims.store.engine import open_engine
from tests.conftest import SEED, new_database_url


def test_a_postgresql_process_does_not_look_up_hstore_on_its_first_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every command that reaches PostgreSQL starts with a first connection, on which SQLAlchemy
    would look the hstore type up in the catalogue (a round trip, 1.5 to 2.4 ms of 5 to 7) for
    an adapter claims never uses."""
    sent: list[str] = []
    execute = psycopg.Cursor.execute

    def recorded(self: psycopg.Cursor[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(str(query))
        return execute(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", recorded)
    for url in new_database_url("postgresql", tmp_path):
        engine = open_engine(url)
        try:
            with engine.connect() as connection:
                assert connection.exec_driver_sql("SELECT 1").scalar() == 1
        finally:
            engine.dispose()
    assert any("SELECT 1" in query for query in sent)  # the recording sees the statements sent
    assert not any("pg_type" in query for query in sent), sent


def test_a_reader_slower_than_the_servers_idle_timeout_still_gets_its_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``claims compare | less`` and ``claims list | less`` read a group of topics at a time, each
    on a connection from the pool; a server (or a pooler) that ends idle sessions must not end the
    answer halfway. Here the server ends a session idle for half a second."""
    monkeypatch.setattr(engine_module, "IDLE_BEFORE_PING", 0.2)
    monkeypatch.setattr(queries, "LIST_GROUP_CLAIMS", 1)
    parties = ["russia", "united-states"]
    for url in new_database_url("postgresql", tmp_path):
        with claims.open_tracker(f"{url}?options=-c%20idle_session_timeout%3D500", user="tester") as tracker:
            tracker.init()
            tracker.import_file(SEED)
            whole, listed = tracker.compare(parties), tracker.list_claims()
            comparison, reading = tracker.comparison(parties), tracker.claims()
            first, first_listed = next(comparison.claims), next(reading)
            time.sleep(1.0)  # the reader takes its time: the server ends the pooled connection
            assert [first, *comparison.claims] == whole["claims"]
            assert comparison.contradictions() == whole["contradictions"] != []
            assert [first_listed, *reading] == listed


@pytest.mark.parametrize("content", ["another program's database", "an empty file"])
def test_a_command_that_refuses_a_file_that_is_no_claims_database_leaves_it_as_it_was(
    tmp_path: Path, content: str
) -> None:
    """Nothing half written: the refusal ("run `claims init` first") used to come after the
    connection had put the file in write-ahead-log mode, which SQLite keeps in the file."""
    file = tmp_path / "other.db"
    if content == "an empty file":
        file.touch()
    else:
        with closing(sqlite3.connect(file)) as other:
            other.execute("CREATE TABLE notes (text TEXT)")
            other.execute("INSERT INTO notes VALUES ('kept')")
            other.commit()
    before = file.read_bytes()
    with claims.open_tracker(str(file), user="tester") as tracker, pytest.raises(StorageError, match="claims init"):
        tracker.narrative("russia")
    assert file.read_bytes() == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["other.db"]


def test_init_puts_an_sqlite_database_in_write_ahead_log_mode(tmp_path: Path) -> None:
    file = tmp_path / "claims.db"
    with claims.open_tracker(str(file), user="tester") as tracker:
        tracker.init()
    with closing(sqlite3.connect(file)) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_claims_database_that_lost_write_ahead_log_mode_gets_it_back(tmp_path: Path) -> None:
    """A copy made by ``VACUUM INTO`` (or restored from a dump) is in rollback-journal mode, where
    a reader blocks the writers: opened by claims, it is a claims database, and WAL comes back."""
    file, restored = tmp_path / "claims.db", tmp_path / "restored.db"
    with claims.open_tracker(str(file), user="tester") as tracker:
        tracker.init()
        tracker.import_file(SEED)
    with closing(sqlite3.connect(file)) as original:
        original.execute(f"VACUUM INTO '{restored}'")
    with closing(sqlite3.connect(restored)) as copy:
        assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    with claims.open_tracker(str(restored), user="tester") as tracker:
        assert tracker.narrative("russia")
    with closing(sqlite3.connect(restored)) as copy:
        assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_claims_database_out_of_write_ahead_log_mode_is_read_while_another_reader_holds_it(tmp_path: Path) -> None:
    """Switching back to WAL needs the file to itself: while another program reads it in
    rollback-journal mode, claims reads it as it is, without waiting (a wait would run into the
    busy timeout, five seconds here, and fail), and switches it once that reader is done."""
    file, restored = tmp_path / "claims.db", tmp_path / "restored.db"
    with claims.open_tracker(str(file), user="tester") as tracker:
        tracker.init()
        tracker.import_file(SEED)
        expected = tracker.narrative("russia")
    with closing(sqlite3.connect(file)) as original:
        original.execute(f"VACUUM INTO '{restored}'")
    with closing(sqlite3.connect(restored, isolation_level=None)) as reader:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM events").fetchone()  # a shared lock, held
        with claims.open_tracker(f"sqlite:///{restored}?timeout=5", user="tester") as tracker:
            assert tracker.narrative("russia") == expected
        assert reader.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        reader.execute("COMMIT")
    with claims.open_tracker(str(restored), user="tester") as tracker:
        assert tracker.narrative("russia") == expected
    with closing(sqlite3.connect(restored)) as copy:
        assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_an_sqlite_uri_filename_is_the_file_every_command_uses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``sqlite:///file:claims.db?uri=true`` names the file claims.db: after init, later commands
    found "no claims database" at ``file:claims.db``, and `--out` could not protect it."""
    from click.testing import CliRunner

    from claims.cli import cli

    monkeypatch.chdir(tmp_path)
    runner = CliRunner(env={"CLAIMS_DATABASE_URL": None, "CLAIMS_USER": "tester"})
    for url in ("sqlite:///file:claims.db?uri=true", f"sqlite:///file:{tmp_path / 'claims.db'}?uri=true"):
        assert engine_module.sqlite_file(url) == Path(
            "claims.db" if "///file:claims" in url else tmp_path / "claims.db"
        )
    url = "sqlite:///file:claims.db?uri=true"
    assert runner.invoke(cli, ["--db", url, "init"]).exit_code == 0
    assert runner.invoke(cli, ["--db", url, "import", str(SEED)]).exit_code == 0
    shown = runner.invoke(cli, ["--db", url, "narrative", "russia", "--format", "json"])
    assert shown.exit_code == 0, shown.stderr
    refused = runner.invoke(cli, ["--db", url, "export", "--out", "claims.db"])
    assert refused.exit_code == 1 and "is the database itself" in refused.stderr
    assert engine_module.sqlite_file("sqlite:///file:mem?mode=memory&uri=true") is None


def test_a_lock_timeout_given_in_the_sqlite_url_is_the_one_used(tmp_path: Path) -> None:
    """claims waits a minute for SQLite's write lock unless the URL says otherwise (``?timeout=``),
    which it ignored: a writer then waited the minute whatever the URL said."""
    database = tmp_path / "claims.db"
    with claims.open_tracker(str(database), user="tester") as tracker:
        tracker.init()
    holder = sqlite3.connect(database, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with claims.open_tracker(f"sqlite:///{database}?timeout=1", user="tester") as waiting:
            started = time.monotonic()
            with pytest.raises(StorageError):
                waiting.add_party("brazil", name="Brazil")
            assert time.monotonic() - started < 30  # one second asked for; ignored, it was sixty
    finally:
        holder.execute("ROLLBACK")
        holder.close()
