"""claims: an event-sourced tracker of who asserted what, when, and through which source.

The public Python API lives in :mod:`claims.api` (``claims.open_tracker(url)``); it is imported
lazily so that ``claims --help`` does not pay for SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from claims.api import Tracker

__all__ = ["Tracker", "__version__", "open_tracker"]


def open_tracker(url: str | None = None, *, user: str | None = None) -> Tracker:
    """Open the tracker stored at ``url`` (a path means SQLite, ``postgresql+psycopg://`` PostgreSQL)."""
    from claims.api import open_tracker as _open

    return _open(url, user=user)


def __getattr__(name: str) -> Any:
    if name == "Tracker":
        from claims.api import Tracker

        return Tracker
    raise AttributeError(name)
