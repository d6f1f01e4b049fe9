"""Writing a large unit's rows on a thread of its own while the caller computes the next ones.

A large import spends about a third of its time inside the database driver (SQLite's B-tree
inserts, PostgreSQL's COPY), which runs without Python's interpreter lock, and the rest computing
events and projection rows in Python. With two cores the two can overlap: the unit of work hands a
batch's rows to this writer and goes on with the next batch meanwhile.

The writer shares the unit's connection and transaction, so it is used strictly in turn: writes
run one after another in the order given, and whoever uses the connection for anything else first
``wait``s for all of them. A write that failed raises there, in the caller's thread, and again at
every later wait, so that the unit can only be rolled back, as if the write had failed in place.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent import futures
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any


class BackgroundWriter:
    """One thread that runs submitted writes in order; ``wait`` before any other use of the connection."""

    def __init__(self) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="claims-writer")
        self._writes: list[Future[None]] = []
        self._failure: BaseException | None = None  # the first write that failed; the unit is lost

    def submit(self, write: Callable[..., None], *args: Any) -> None:
        """Run ``write(*args)`` after the writes submitted before it (not at all when one of them failed)."""
        self._writes.append(self._thread.submit(self._run, write, args))

    def _run(self, write: Callable[..., None], args: tuple[Any, ...]) -> None:
        if self._failure is not None:
            return
        try:
            write(*args)
        except BaseException as error:
            self._failure = error
            raise

    def wait(self) -> None:
        """Return once every submitted write is done. Once a write has failed, raise its failure,
        now and on every later call: nothing more may be done with the unit, its commit included."""
        while self._writes:  # each let go only once done: an interrupt here leaves the rest to ``close``
            self._writes[0].exception()  # waits; the one that failed is kept in _failure
            self._writes.pop(0)
        if self._failure is not None:
            raise self._failure

    def close(self) -> None:
        """End the thread once the write it is running is done; writes not yet begun are dropped
        (the unit is being abandoned, or has committed and holds none). An interrupt while it waits
        is raised only after the write has finished, so that no rollback can overlap it."""
        writes, self._writes = self._writes, []
        for write in writes:
            write.cancel()  # only those not begun
        try:
            futures.wait(writes)
        except BaseException:
            # Waited for again on the futures, not by joining the thread: Python 3.11 marks a
            # thread whose join was interrupted as stopped, though it still runs.
            futures.wait(writes)
            raise
        finally:
            self._thread.shutdown(wait=True)
