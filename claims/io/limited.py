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
    try:
        status = os.fstat(stream.fileno())
    except (AttributeError, OSError, ValueError):  # no file descriptor (an in-memory stream)
        status = None
    if status is not None and stat.S_ISREG(status.st_mode):
        return stream.read(min(status.st_size, limit) + 1)
    pieces: list[bytes] = []
    held = 0
    while held <= limit:
        piece = stream.read(min(PIECE, limit + 1 - held))
        if not piece:
            break
        pieces.append(piece)
        held += len(piece)
    return b"".join(pieces)
