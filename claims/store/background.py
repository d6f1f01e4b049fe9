"""Writing a large unit's rows on a thread of its own while the caller computes the next ones.

A large import spends about a third of its time inside the database driver (SQLite's B-tree
inserts, PostgreSQL's COPY), which runs without Python's interpreter lock, and the rest computing
events and projection rows in Python. With two cores the two can overlap: the unit of work hands a
batch's rows to this writer and goes on with the next batch meanwhile.

The writer shares the unit's connection and transaction, so it is used strictly in turn: writes
run one after another in the order given, and whoever uses the connection for anything else first
``wait``s for all of them. A write that failed raises there, in the caller's thread; the unit is
then rolled back as if the write had failed in place.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any


class BackgroundWriter:
    """One thread that runs submitted writes in order; ``wait`` before any other use of the connection."""

    def __init__(self) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="claims-writer")
        self._writes: list[Future[None]] = []
        self._failed = False  # a write failed: the ones after it are skipped, the unit is lost

    def submit(self, write: Callable[..., None], *args: Any) -> None:
        """Run ``write(*args)`` after the writes submitted before it (not at all when one of them failed)."""
        self._writes.append(self._thread.submit(self._run, write, args))

    def _run(self, write: Callable[..., None], args: tuple[Any, ...]) -> None:
        if self._failed:
            return
        try:
            write(*args)
        except BaseException:
            self._failed = True
            raise

    def wait(self) -> None:
        """Return once every submitted write is done; raise the first one's failure, if any."""
        writes, self._writes = self._writes, []
        for done in writes:
            error = done.exception()  # waits
            if error is not None:
                raise error  # the writes after it were skipped

    def close(self) -> None:
        """Wait for the writes in flight (their failures no longer matter: the unit is being
        abandoned or has already raised) and end the thread."""
        try:
            self.wait()
        except Exception:  # the caller rolls the unit back whatever failed
            pass
        finally:
            self._thread.shutdown(wait=True)
