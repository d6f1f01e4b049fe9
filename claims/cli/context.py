"""What every command receives: the global options, and the tracker opened only when needed."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from claims.api import Tracker


@dataclass
class Settings:
    """Global options: ``--db``, ``--as-user``, ``--quiet``, and where the first two came from.

    ``db_from`` and ``user_from`` are ``flag``, ``env`` or ``default`` (SPEC: flag, then
    environment, then default), for ``claims config``.
    """

    db: str | None
    user: str | None
    quiet: bool = False
    db_from: str = "default"
    user_from: str = "default"
    _tracker: Tracker | None = field(default=None, repr=False)

    def tracker(self) -> Tracker:
        """Open the tracker on first use, so ``--help`` never imports SQLAlchemy."""
        if self._tracker is None:
            from claims import startup
            from claims.api import default_user, open_tracker

            startup.resume()  # what the command works with is loaded: collect from here on
            self._tracker = open_tracker(self.db, user=self.user or default_user())
        return self._tracker

    def close(self) -> None:
        if self._tracker is not None:
            self._tracker.close()


pass_settings = click.make_pass_decorator(Settings)


def settings() -> Settings | None:
    """The current command's settings, or None outside a command (or while completing)."""
    context = click.get_current_context(silent=True)
    return context.find_object(Settings) if context is not None else None


def tracker() -> Tracker:
    """The current command's tracker."""
    return click.get_current_context().find_object(Settings).tracker()  # type: ignore[union-attr]


def database_file() -> Path | None:
    """The file the current command's SQLite database lives in, through symbolic links, so that an
    output file that would overwrite it can be refused (``files.written_whole``).

    None for PostgreSQL, for an in-memory SQLite and outside a command, where there is no file to
    protect; None too for a URL that does not parse, which the command then refuses by itself.
    Nothing is connected to: the tracker is opened lazily, and its URL is already resolved (flag,
    environment or ``./claims.db``).
    """
    current = settings()
    file = None if current is None else current.tracker().database_file()
    return None if file is None else Path(os.path.realpath(file))


def origin(context: click.Context, name: str) -> str:
    """Where the root option ``name`` got its value: ``flag``, ``env`` or ``default``."""
    source = context.get_parameter_source(name)
    if source is click.core.ParameterSource.COMMANDLINE:
        return "flag"
    if source is click.core.ParameterSource.ENVIRONMENT:
        return "env"
    return "default"
