"""``collector_paused``: the cyclic collector paused for bulk work and answers held whole, and
running again as it was when the last pause ends."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from claims.service.collector import collector_paused


@pytest.fixture(autouse=True)
def collector_running() -> Iterator[None]:
    gc.enable()
    yield
    gc.enable()


def test_the_collector_is_paused_inside_and_runs_again_after() -> None:
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_it_runs_again_after_a_failure_inside() -> None:
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("inside")
    assert gc.isenabled()


def test_overlapping_pauses_end_with_the_last_not_the_first() -> None:
    """Two threads' questions may overlap, the first to begin ending first."""
    first, second = collector_paused(), collector_paused()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert not gc.isenabled()  # the second is still under way
    second.__exit__(None, None, None)
    assert gc.isenabled()


def test_a_program_that_turned_it_off_finds_it_off() -> None:
    gc.disable()
    with collector_paused(), collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()
