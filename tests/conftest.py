"""Shared fixtures: every storage test runs on SQLite and on PostgreSQL.

PostgreSQL tests get an empty database of their own. Creating and dropping a database costs the
server a lot more than emptying one, so databases are kept in a pool: after a test, its
connections are ended and its ``public`` schema dropped and made again (a database left in any
other state is dropped instead), and the pool is dropped when the session's process exits. Where
no server is reachable PostgreSQL tests skip with the reason, except under ``CI``, where they must
run and so fail.
"""

from __future__ import annotations

import atexit
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import claims
from claims.api import Tracker

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "seeds" / "g20-new-delhi-2023-03-02.yaml"
PG_ADMIN = os.environ.get("CLAIMS_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKENDS = ("sqlite", "postgresql")


def _pg_admin():  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)


def _postgres_unavailable() -> str | None:
    try:
        with _pg_admin():
            return None
    except Exception as error:  # any failure to connect means: no server for these tests
        return f"PostgreSQL not reachable at {PG_ADMIN}: {str(error).strip().splitlines()[0]}"


_PG_REASON = _postgres_unavailable()


def require_postgres() -> None:
    if _PG_REASON is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI is set, so PostgreSQL tests must run: {_PG_REASON}")
    pytest.skip(_PG_REASON)


def _pg_url(name: str, driver: str = "postgresql+psycopg") -> str:
    return PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", f"{driver}://") + f"/{name}"


class _EmptyDatabases:
    """A pool of PostgreSQL databases handed out empty (see the module docstring).

    This file is loaded twice, by pytest as ``conftest`` and as ``tests.conftest`` by the tests
    that import its helpers, and so there are two pools: each drops what it made when the
    interpreter exits (a hook at the end of the session would reach pytest's copy only).
    """

    def __init__(self) -> None:
        self.free: list[str] = []
        self.made: set[str] = set()
        atexit.register(self.close)

    def take(self) -> str:
        if self.free:
            return self.free.pop()
        name = f"claims_test_{uuid.uuid4().hex[:12]}"
        with _pg_admin() as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        self.made.add(name)
        return name

    def give_back(self, name: str) -> None:
        try:
            if self._emptied(name):
                self.free.append(name)
                return
        except Exception:  # whatever went wrong, the database is not reused
            pass
        self.drop(name)

    def _emptied(self, name: str) -> bool:
        import psycopg

        with _pg_admin() as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
        with psycopg.connect(_pg_url(name, "postgresql"), autocommit=True, connect_timeout=3) as connection:
            connection.execute("SET lock_timeout = '10s'")
            connection.execute("DROP SCHEMA public CASCADE")
            connection.execute("CREATE SCHEMA public")
            left = connection.execute(
                "SELECT count(*) FROM pg_namespace WHERE nspname NOT IN ('public', 'information_schema') "
                "AND nspname NOT LIKE 'pg\\_%'"
            ).fetchone()
        return left is not None and left[0] == 0

    def drop(self, name: str) -> None:
        self.made.discard(name)
        with _pg_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        self.free.clear()
        for name in sorted(self.made):
            self.drop(name)


_POOL = _EmptyDatabases()


def new_database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database on ``backend``; a PostgreSQL one is emptied or dropped afterwards."""
    if backend == "sqlite":
        yield str(tmp_path / "claims.db")
        return
    require_postgres()
    name = _POOL.take()
    try:
        yield _pg_url(name)
    finally:
        _POOL.give_back(name)


@pytest.fixture
def seed_path() -> Path:
    """The G20 seed document shipped in ``seeds/``."""
    return SEED


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """An empty database (no schema) on each backend."""
    yield from new_database_url(backend, tmp_path)


@pytest.fixture
def tracker(db_url: str) -> Iterator[Tracker]:
    """An initialised, empty tracker on each backend."""
    with claims.open_tracker(db_url, user="tester") as opened:
        opened.init()
        yield opened


@pytest.fixture
def seeded(tracker: Tracker) -> Tracker:
    """A tracker holding the G20 seed."""
    tracker.import_file(SEED)
    return tracker
