"""The schema commands' edges, on SQLite and on PostgreSQL.

A target naming no revision (``db upgrade ''``, ``@``, ``head@``, ``head+1``) is one clear line and
changes nothing, where Alembic stopped on an ``assert`` with a traceback. ``projections rebuild`` on
a database without the schema says to run ``claims init``, as every other command does. And
several ``claims init`` (or ``db upgrade``, or ``alembic upgrade`` run by hand) started at once on
a fresh database wait for each other: all succeed, and the schema is made once, where they used to
race (``database is locked`` on SQLite, a duplicate key in ``pg_type`` on PostgreSQL).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import inspect, text

import claims
import claims.projections.tables  # registers the projection tables on the metadata
from claims.cli import cli
from claims.domain.errors import StorageError
from claims.store import migrations
from claims.store.engine import open_engine, resolve_url, sqlite_file
from claims.store.schema import metadata

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
RUNNER = CliRunner(env={"NO_COLOR": "1", "CLAIMS_USER": "tester", "CLAIMS_DATABASE_URL": None})
GIVE_UP_AFTER = 180.0  # seconds: only so that a lock never released fails the test instead of hanging it


def run(url: str, *args: str) -> Result:
    return RUNNER.invoke(cli, ["--db", url, *args])


def one_clear_error(result: Result) -> str:
    """The command refused in one line on standard error, exit 1, with no exception let through."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    return lines[0]


def schema_of(url: str) -> tuple[str | None, set[str]]:
    """The revision the database is at and its tables."""
    engine = open_engine(resolve_url(url))
    try:
        return migrations.current(engine), set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def one_below_head(url: str) -> str:
    engine = open_engine(resolve_url(url))
    try:
        return migrations.history(engine)[1][0]
    finally:
        engine.dispose()


# -- a revision naming nothing ---------------------------------------------------------------------

# Every target below stopped on an assert in Alembic's revision map: empty, or empty after an ``@``
# (Alembic splits an upgrade's target at the first ``@``, a downgrade's at the last), or walking
# past the newest revision.
NAMING_NOTHING = [
    ("upgrade", ""),
    ("downgrade", ""),
    ("upgrade", "@"),
    ("downgrade", "@"),
    ("upgrade", "0001@"),
    ("downgrade", "head@"),
    ("downgrade", "@@-1"),
    ("upgrade", "@@+1"),
    ("upgrade", "head+1"),
]


@pytest.mark.parametrize(("command", "revision"), NAMING_NOTHING)
def test_a_revision_naming_nothing_is_one_clear_line_and_changes_nothing(
    db_url: str, command: str, revision: str
) -> None:
    assert run(db_url, "init").exit_code == 0
    below = one_below_head(db_url)  # neither end: going up or down would show
    assert run(db_url, "db", "downgrade", below).exit_code == 0
    before = schema_of(db_url)

    line = one_clear_error(run(db_url, "db", command, "--", revision))

    assert line == f"Error: not a schema revision: {revision!r} (`claims db history` lists them)"
    assert schema_of(db_url) == before
    assert before[0] == below


@pytest.mark.parametrize("revision", ["0009", "000", "nope", "nope@head", "0009@0001"])
@pytest.mark.parametrize("command", ["upgrade", "downgrade"])
def test_a_revision_no_migration_has_is_one_clear_line_and_changes_nothing(
    db_url: str, command: str, revision: str
) -> None:
    """An identifier of no migration (``000`` is the start of several), where Alembic said it
    could not locate it only after the SQLite file was made."""
    line = one_clear_error(run(db_url, "db", command, revision))
    assert line == f"Error: not a schema revision: {revision!r} (`claims db history` lists them)"
    file = sqlite_file(resolve_url(db_url))
    if file is not None:
        assert not file.exists()  # not even an empty SQLite file is left behind
    else:
        assert schema_of(db_url) == (None, set())
    assert run(db_url, "init").exit_code == 0
    before = schema_of(db_url)
    assert one_clear_error(run(db_url, "db", command, revision)) == line
    assert schema_of(db_url) == before


@pytest.mark.parametrize("command", ["upgrade", "downgrade"])
def test_a_blank_revision_on_an_empty_database_creates_nothing(db_url: str, command: str) -> None:
    one_clear_error(run(db_url, "db", command, ""))
    file = sqlite_file(resolve_url(db_url))
    if file is not None:
        assert not file.exists()  # not even an empty SQLite file is left behind
    else:
        assert schema_of(db_url) == (None, set())


# -- projections rebuild without the schema --------------------------------------------------------


def test_rebuild_on_a_database_downgraded_to_base_says_to_run_init(db_url: str) -> None:
    with claims.open_tracker(db_url, user="tester") as tracker:
        tracker.init()
        tracker.add_party("russia", name="Russia")
        tracker.rebuild_projections()  # the schema is seen, then dropped below
        tracker.downgrade("base")
        with pytest.raises(StorageError, match=r"^no claims database at .*: run `claims init` first$"):
            tracker.rebuild_projections()
    fresh = claims.open_tracker(db_url, user="tester")  # a tracker that never saw the schema
    with fresh, pytest.raises(StorageError, match=r"run `claims init` first$"):
        fresh.rebuild_projections()
    assert schema_of(db_url) == (None, {"alembic_version"})  # the refusals created nothing


def test_rebuild_on_a_database_never_initialised_says_to_run_init(db_url: str) -> None:
    line = one_clear_error(run(db_url, "projections", "rebuild"))
    assert line.endswith("run `claims init` first")
    with claims.open_tracker(db_url, user="tester") as tracker, pytest.raises(StorageError, match="claims init"):
        tracker.rebuild_projections()


# -- concurrent migrations -------------------------------------------------------------------------

# Loads the command line, waits for the start signal (so that every process starts the command
# at the same moment, its imports done), then runs ``python -m claims`` with the arguments given.
START_TOGETHER = """
import os, sys, time
from claims.__main__ import main

go, sys.argv = sys.argv[1], ["claims", *sys.argv[2:]]
while not os.path.exists(go):
    time.sleep(0.002)
main()
"""


def start(go: Path, arguments: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", START_TOGETHER, str(go), *arguments],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(processes: list[subprocess.Popen[str]]) -> list[tuple[int, str]]:
    """Each process's exit code and standard error, once all have ended."""
    outputs = []
    for process in processes:
        try:
            _, stderr = process.communicate(timeout=GIVE_UP_AFTER)
        except subprocess.TimeoutExpired:
            for other in processes:
                other.kill()
            raise
        outputs.append((process.returncode, stderr))
    return outputs


def assert_made_once_at_head(url: str) -> None:
    """One version row, at head; every table the code declares; and a log that works."""
    engine = open_engine(resolve_url(url))
    try:
        head = migrations.head(engine)
        with engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        assert versions == [head]
        assert set(inspect(engine).get_table_names()) == set(metadata.tables) | {"alembic_version"}
    finally:
        engine.dispose()
    with claims.open_tracker(url, user="tester") as tracker:
        tracker.add_party("russia", name="Russia")
        assert tracker.checkpoint()["size"] == 1
        assert tracker.verify().intact


def test_concurrent_inits_and_upgrades_wait_for_each_other(db_url: str, tmp_path: Path) -> None:
    go = tmp_path / "go"
    env = {**{key: value for key, value in os.environ.items() if key != "CLAIMS_DATABASE_URL"}, "NO_COLOR": "1"}
    commands = [["init"]] * 6 + [["db", "upgrade"]] * 2
    processes = [start(go, ["--db", db_url, *command], env) for command in commands]
    go.touch()
    outputs = finished(processes)

    head = schema_of(db_url)[0]
    for command, (code, stderr) in zip(commands, outputs, strict=True):
        assert code == 0, f"{command}: {stderr}"
        said = f"(schema {head})" if command == ["init"] else f"schema at {head}"
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].endswith(said), stderr  # the command's usual message, alone
    assert_made_once_at_head(db_url)


ALEMBIC_BY_HAND = """
import os, sys, time
from alembic.config import main

go = sys.argv[1]
while not os.path.exists(go):
    time.sleep(0.002)
main(argv=["upgrade", "head"])
"""


@pytest.mark.parametrize("inits", [0, 3], ids=["alone", "with-claims-init"])
def test_alembic_upgrade_by_hand_waits_for_the_migration_under_way(db_url: str, tmp_path: Path, inits: int) -> None:
    """An operator's ``alembic upgrade head`` from the repository takes the lock ``claims init`` takes,
    so several at once, or some beside ``claims init``, run one after the other."""
    go = tmp_path / "go"
    env = {key: value for key, value in os.environ.items() if key != "CLAIMS_DATABASE_URL"}
    by_hand = [
        subprocess.Popen(
            [sys.executable, "-c", ALEMBIC_BY_HAND, str(go)],
            cwd=REPO,
            env={**env, "CLAIMS_DATABASE_URL": db_url},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6 - inits)
    ]
    processes = [*by_hand, *(start(go, ["--db", db_url, "init"], env) for _ in range(inits))]
    go.touch()
    for code, stderr in finished(processes):
        assert code == 0, stderr
        assert "Error" not in stderr and "Traceback" not in stderr
    assert_made_once_at_head(db_url)
