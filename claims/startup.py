"""The cyclic garbage collector while the command line starts: paused, then frozen out.

Starting a command builds a few hundred thousand objects that live as long as the process: the
classes, functions and caches of Click, SQLAlchemy, the driver and claims itself. The collector
counts them as they are made and, as they all survive, walks them again and again in ever older
generations: on 1M-event databases, a sixth to a third of the time of a `claims add` or a `claims
narrative` (docs/performance.md, *Start-up*). None of them is garbage. So the console script pauses
the collector before it imports the command line (``pause``), and once a command has loaded what
it works with (``resume``, called where a command opens its tracker, or ``verify --file`` its
reader), what start-up built is frozen out of the collector's sight (``gc.freeze``) and the
collector runs again as usual: a long command, an import of a million events, still frees its
cycles. What start-up left as cyclic garbage, if anything, is frozen with the rest and kept until
the process ends: a few objects at most, against a full collection at every start.

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
