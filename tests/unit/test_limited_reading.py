"""``claims.io.limited.read_at_most``: a document is read no further than the size limit, and
without first reserving a buffer of the whole limit."""

from __future__ import annotations

import os
import threading
import tracemalloc
from contextlib import suppress
from pathlib import Path

import pytest

import claims
from claims.api import MAX_DOCUMENT_BYTES
from claims.io import limited
from claims.io.limited import read_at_most
from tests.conftest import SEED


def test_a_small_document_is_read_without_a_buffer_of_the_whole_limit(tmp_path: Path) -> None:
    """``stream.read(limit + 1)`` asked for 512 MiB before reading the 13 KB seed: an import that a
    process with a limit on its address space was refused."""
    tracemalloc.start()
    try:
        with claims.open_tracker(str(tmp_path / "claims.db"), user="tester") as tracker:
            tracker.init()
            tracemalloc.reset_peak()
            tracker.import_file(SEED)
            _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20 < MAX_DOCUMENT_BYTES


@pytest.mark.parametrize("limit", [0, 1, 100, 12_000, 10**9])
def test_a_file_is_read_whole_or_to_one_byte_past_the_limit(limit: int) -> None:
    whole = SEED.read_bytes()
    with SEED.open("rb") as stream:
        read = read_at_most(stream, limit)
    assert read == whole[: limit + 1]


@pytest.mark.parametrize("limit", [0, 5, 4096, 10_000, 10**9])
def test_a_pipe_is_read_a_piece_at_a_time_to_one_byte_past_the_limit(
    limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limited, "PIECE", 1000)
    whole = SEED.read_bytes()
    reader, writer = os.pipe()

    def feed() -> None:
        with suppress(BrokenPipeError), open(writer, "wb") as sink:  # (the reader stops at the limit)
            sink.write(whole)

    feeding = threading.Thread(target=feed)
    feeding.start()
    with open(reader, "rb") as stream:
        read = read_at_most(stream, limit)
    feeding.join()
    assert read == whole[: limit + 1]


def test_an_endless_device_is_read_no_further_than_the_limit() -> None:
    with open("/dev/zero", "rb") as stream:
        assert read_at_most(stream, 10_000) == bytes(10_001)


@pytest.mark.parametrize("limit", [50, 5_000, 10**9])
def test_a_file_that_grew_since_it_was_measured_is_read_on(limit: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Read at the size it had, a file still being written would give a prefix of itself, which
    can be a valid document of fewer claims."""
    monkeypatch.setattr(limited, "_regular_file_size", lambda stream: 100)
    monkeypatch.setattr(limited, "PIECE", 1000)
    with SEED.open("rb") as stream:
        assert read_at_most(stream, limit) == SEED.read_bytes()[: limit + 1]
