"""Reading a stream no further than a limit, without reserving the limit first.

``stream.read(limit + 1)`` asks for a buffer of the whole limit before it reads a byte: 512 MiB
for a 12 KB claims document, which a process with a limit on its address space (``ulimit -v``)
is refused, and which tracemalloc counts as the import's peak. A regular file is read at its own
size; anything else (a pipe, standard input, a device) a piece at a time.
"""

from __future__ import annotations

import os
import stat
from typing import BinaryIO

PIECE = 4 * 2**20


def read_at_most(stream: BinaryIO, limit: int) -> bytes:
    """The stream's bytes up to one byte past ``limit`` (so that the caller can tell a stream
    longer than the limit from one of exactly the limit), and no further."""
    pieces: list[bytes] = []
    held = 0
    size = _regular_file_size(stream)
    if size is not None:
        asked = min(size, limit) + 1
        pieces.append(stream.read(asked))
        held = len(pieces[0])
        if held < asked:  # the end of the file: the usual case
            return pieces[0]
        # The file grew since it was measured (or is longer than the limit): read on, as a pipe.
    while held <= limit:
        piece = stream.read(min(PIECE, limit + 1 - held))
        if not piece:
            break
        pieces.append(piece)
        held += len(piece)
    return b"".join(pieces)


def _regular_file_size(stream: BinaryIO) -> int | None:
    try:
        status = os.fstat(stream.fileno())
    except (AttributeError, OSError, ValueError):  # no file descriptor (an in-memory stream)
        return None
    return status.st_size if stat.S_ISREG(status.st_mode) else None
