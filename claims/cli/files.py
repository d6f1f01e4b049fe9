"""Writing an output file whole: a failed command never leaves half a file, and never replaces
what is not a plain file.

A regular file is written under a temporary name beside it and renamed over it once complete.
Through a symbolic link, that is the file the link points to (renaming over the link would
replace the link). A device, a FIFO or a socket (``/dev/null``, a named pipe a reader waits on)
is written in place: renaming over it would replace it, and as root that would turn
``/dev/null`` into a plain file.

Nor is the database written over: an ``--out`` naming the SQLite file (or its ``-wal``, ``-shm``
or ``-journal`` companion, however spelt: relative, absolute, through a link, a hard link) would
replace the log with its own export, so it is refused before anything is written.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

import click

from claims.cli.context import database_file
from claims.cli.errors import one_line

# What SQLite keeps beside a database file: losing one of these loses or corrupts the log too.
DATABASE_COMPANIONS = ("-wal", "-shm", "-journal")


@contextmanager
def written_whole(out: str) -> Iterator[TextIO]:
    """A text stream for ``out`` that reaches it only if the block completes (see the module)."""
    if not out:
        raise click.ClickException("--out needs a file name")
    target = Path(os.path.realpath(out))  # through symbolic links: the file they point to
    refuse_the_database(out, target)
    if not target.parent.is_dir():
        raise click.ClickException(f"cannot write {out}: no such directory {target.parent}")
    if target.exists() and not target.is_file():
        with open(target, "w", encoding="utf-8", newline="") as stream:
            yield stream
        return
    # Created new under a name no one can have planted a link at (mkstemp), then given the mode of
    # the file it replaces (one made private stays private), or the mode a file created by ``open``
    # would have (mkstemp makes it private).
    handle, partial = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            yield stream
        os.chmod(partial, _mode_for(target))
        os.replace(partial, target)
    finally:
        Path(partial).unlink(missing_ok=True)


def _mode_for(target: Path) -> int:
    """The permission bits to write ``target`` with: those it has, or the umask's for a new file."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def refuse_the_database(out: str, target: Path | None = None) -> None:
    """Refuse ``out`` when it is the current command's SQLite database or one of its companions.

    A command that reads before it writes (``report``) calls this first, so that the refusal does
    not wait for the reading; ``written_whole`` calls it again for every command, ``export``
    included. ``target`` is ``out`` through symbolic links, when the caller has it already.
    """
    database = database_file()
    if database is None:
        return
    if target is None:
        target = Path(os.path.realpath(out))
    for suffix in ("", *DATABASE_COMPANIONS):
        protected = Path(f"{database}{suffix}")
        if target == protected or _same_file(target, protected):
            what = "the database itself" if not suffix else f"the database's {suffix} file"
            raise click.ClickException(one_line(f"--out {out} is {what}; choose another file"))


def _same_file(first: Path, second: Path) -> bool:
    """Whether both paths name one existing file (a hard link, or a case-insensitive file system)."""
    try:
        return os.path.samefile(first, second)
    except OSError:  # either is missing (or unreadable): not the same existing file
        return False


@contextmanager
def output_stream(out: str | None) -> Iterator[TextIO]:
    """Standard output when ``out`` is None, else FILE written whole (``written_whole``)."""
    if out is None:
        yield sys.stdout
        return
    with written_whole(out) as stream:
        yield stream
