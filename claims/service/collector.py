"""Pausing Python's cyclic garbage collector for bulk work (an import, a projection rebuild).

Such work builds millions of small, acyclic objects, many of them alive until it ends; each full
collection walks all of them. Measured on 100k claims, collections took a quarter of an import,
and about a sixth of a rebuild. Reference counting still frees everything meanwhile.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the collector for the block; it runs again afterwards if it ran before."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
