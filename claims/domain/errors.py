"""The error tree of claims: every failure a user can cause is a ClaimsError with one clear line.

The command line turns these into a message on standard error and a non-zero exit; nothing below
the command line knows how errors are shown.
"""

from __future__ import annotations


class ClaimsError(Exception):
    """Base of every error claims reports to its user."""


class ValidationError(ClaimsError):
    """Input that is not acceptable: a bad date, an id that is not a slug, a missing field."""


class NotFoundError(ClaimsError):
    """A reference to a party, speaker, source, topic or claim that is not recorded."""


class ConflictError(ClaimsError):
    """An append whose expected stream version is stale, or an id that is already taken."""


class DocumentError(ClaimsError):
    """A claims document that fails validation; carries every problem with its path."""

    def __init__(self, summary: str, problems: list[str]) -> None:
        super().__init__(summary)
        self.summary = summary
        self.problems = problems

    def __str__(self) -> str:
        return "\n".join([self.summary, *self.problems])


class StorageError(ClaimsError):
    """The database could not be reached or refused the work (after retries where they make sense)."""


class IntegrityError(ClaimsError):
    """The log or an export fails verification: a broken hash chain or checkpoint."""
