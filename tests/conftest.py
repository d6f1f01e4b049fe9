"""Shared fixtures: every storage test runs on SQLite and on PostgreSQL.

PostgreSQL tests create a database of their own and drop it afterwards. Where no server is
reachable they skip with the reason, except under ``CI``, where they must run and so fail.
"""

from __future__ import annotations

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


def new_database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database on ``backend``; a PostgreSQL one is dropped afterwards."""
    if backend == "sqlite":
        yield str(tmp_path / "claims.db")
        return
    require_postgres()
    name = f"claims_test_{uuid.uuid4().hex[:12]}"
    with _pg_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
    finally:
        with _pg_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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
