"""What every command receives: the global options, and the tracker opened only when needed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from claims.api import Tracker


@dataclass
class Settings:
    """Global options: ``--db``, ``--as-user``."""

    db: str | None
    user: str | None
    _tracker: Tracker | None = field(default=None, repr=False)

    def tracker(self) -> Tracker:
        """Open the tracker on first use, so ``--help`` never imports SQLAlchemy."""
        if self._tracker is None:
            from claims.api import default_user, open_tracker

            self._tracker = open_tracker(self.db, user=self.user or default_user())
        return self._tracker

    def close(self) -> None:
        if self._tracker is not None:
            self._tracker.close()


pass_settings = click.make_pass_decorator(Settings)


def tracker() -> Tracker:
    """The current command's tracker."""
    return click.get_current_context().find_object(Settings).tracker()  # type: ignore[union-attr]
