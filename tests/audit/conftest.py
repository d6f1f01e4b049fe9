"""Fixtures of the audit-trail tests: the command line on each backend and a reviewed seed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import claims
from claims.api import Tracker
from tests.audit.helpers import Run, add_reviews, runner
from tests.conftest import BACKENDS, SEED, new_database_url


@pytest.fixture
def run(db_url: str) -> Run:
    return runner(db_url)


@pytest.fixture
def reviewed(seeded: Tracker) -> Tracker:
    """The seed with two fact-checkers, three verdicts, a correction and a retraction."""
    add_reviews(seeded)
    return seeded


@pytest.fixture(scope="module", params=BACKENDS)
def shared_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One database per module and backend, for tests that only read."""
    yield from new_database_url(str(request.param), tmp_path_factory.mktemp("shared"))


@pytest.fixture(scope="module")
def shared_reviewed(shared_url: str) -> Iterator[Tracker]:
    """Like ``reviewed``, built once per module and backend: tests using it must not write."""
    with claims.open_tracker(shared_url, user="tester") as opened:
        opened.init()
        opened.import_file(SEED)
        add_reviews(opened)
        yield opened
