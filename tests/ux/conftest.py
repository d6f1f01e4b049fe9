"""Fixtures for the user-experience tests: a seeded SQLite file, and the command line on it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import claims
from claims.api import Tracker
from claims.cli import cli

REPO = Path(__file__).resolve().parents[2]
SEED = REPO / "seeds" / "g20-new-delhi-2023-03-02.yaml"

Run = Callable[..., Result]


@pytest.fixture
def seeded_file(tmp_path: Path) -> Iterator[Tracker]:
    """The G20 seed in an SQLite file (for tests of the shell and the browser, where one backend is enough)."""
    with claims.open_tracker(str(tmp_path / "seeded.db"), user="tester") as opened:
        opened.init()
        opened.import_file(SEED)
        yield opened


@pytest.fixture
def run() -> Run:
    """Invoke ``claims ARGS…``; stdout and stderr apart, exceptions other than SystemExit re-raised."""

    def invoke(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Result:
        runner = CliRunner()
        return runner.invoke(cli, list(args), env=env, input=input, catch_exceptions=False, prog_name="claims")

    return invoke
