"""The cyclic garbage collector in a command's process: paused while it starts, then frozen out.

Starting a command builds tens of thousands of objects the collector tracks, which live as long as
the process: the classes, functions and caches of Click, SQLAlchemy, the driver and claims itself.
None of them is garbage, yet the collector walks them again and again as they survive into older
generations, and once more as the interpreter shuts down. So the console script pauses the
collector before it imports the command line (``pause``), and once a command has loaded what it
works with (``resume``, called where a command opens its tracker, or ``verify --file`` its reader),
what start-up built is frozen out of the collector's sight (``gc.freeze``): no later collection,
those at exit included, walks it again, and the collector runs as usual on what the command makes
(a long command, an import of a million events, still frees its cycles). On 1M-event databases
that took 15 to 30% off the time of a `claims add` or a `claims narrative`, about three quarters
of it at exit (bench/results/profiling-2026-11-28.md, the fifth pass). What start-up leaves as
cyclic garbage is frozen with the rest and kept until the process ends: after the imports and one
connection, a full collection finds 459 unreachable objects among 45,656 tracked.

A program that imports ``claims`` or ``claims.cli`` itself (a test, a notebook) never pauses, and
``resume`` then does nothing.
"""

from __future__ import annotations

import gc

_paused = False


def pause() -> None:
    """Stop collecting until ``resume``; only the console script (``claims.__main__``) calls it."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume() -> None:
    """Freeze what start-up built and collect again, if ``pause`` stopped the collector."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()
