"""Writing an output file whole: a failed command never leaves half a file, and never replaces
what is not a plain file.

A regular file is written under a temporary name beside it and renamed over it once complete.
Through a symbolic link, that is the file the link points to (renaming over the link would
replace the link). A device, a FIFO or a socket (``/dev/null``, a named pipe a reader waits on)
is written in place: renaming over it would replace it, and as root that would turn
``/dev/null`` into a plain file.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

import click


@contextmanager
def written_whole(out: str) -> Iterator[TextIO]:
    """A text stream for ``out`` that reaches it only if the block completes (see the module)."""
    if not out:
        raise click.ClickException("--out needs a file name")
    target = Path(os.path.realpath(out))  # through symbolic links: the file they point to
    if not target.parent.is_dir():
        raise click.ClickException(f"cannot write {out}: no such directory {target.parent}")
    if target.exists() and not target.is_file():
        with open(target, "w", encoding="utf-8", newline="") as stream:
            yield stream
        return
    # Created new under a name no one can have planted a link at (mkstemp), readable as a file
    # created by ``open`` would be (mkstemp makes it private).
    handle, partial = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            yield stream
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(partial, 0o666 & ~mask)
        os.replace(partial, target)
    finally:
        Path(partial).unlink(missing_ok=True)


@contextmanager
def output_stream(out: str | None) -> Iterator[TextIO]:
    """Standard output when ``out`` is None, else FILE written whole (``written_whole``)."""
    if out is None:
        yield sys.stdout
        return
    with written_whole(out) as stream:
        yield stream
