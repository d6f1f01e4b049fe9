"""Progress of long reads (export, verify): a count told to a callback every PROGRESS_EVERY items.

The command line draws it on a terminal; the library takes none by default. Kept apart from the
readers so that the database's (``claims.service.audit``) and a file's (``claims.io.trail``) count
alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

PROGRESS_EVERY = 1000

Progress = Callable[[int], None]

T = TypeVar("T")


def counted(items: Iterable[T], progress: Progress | None) -> Iterator[T]:
    """``items`` unchanged, telling ``progress`` how many were read every PROGRESS_EVERY and at the end."""
    if progress is None:
        yield from items
        return
    seen = 0
    for item in items:
        seen += 1
        if seen % PROGRESS_EVERY == 0:
            progress(seen)
        yield item
    progress(seen)
