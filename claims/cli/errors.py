"""Turning failures into one clear line and an exit code; no traceback for a user's mistake."""

from __future__ import annotations

import click

from claims.domain.errors import ClaimsError, DocumentError


class DocumentProblems(click.ClickException):
    """An invalid document: a summary line, then one line per problem."""

    def __init__(self, error: DocumentError) -> None:
        super().__init__(error.summary)
        self.problems = error.problems

    def show(self, file: object = None) -> None:
        click.echo(f"Error: {self.message}", err=True)
        for problem in self.problems:
            click.echo(f"  {problem}", err=True)


def translate(error: Exception) -> click.ClickException | None:
    """The ClickException to show for ``error``, or None when it is a bug to let through."""
    if isinstance(error, DocumentError):
        return DocumentProblems(error)
    if isinstance(error, ClaimsError):
        return click.ClickException(str(error))
    module = type(error).__module__
    if module.startswith(("sqlalchemy", "psycopg", "sqlite3")):
        return click.ClickException(f"database error: {_first_line(error)}")
    if isinstance(error, OSError):
        return click.ClickException(f"{error.strerror or error}: {getattr(error, 'filename', '') or ''}".rstrip(": "))
    return None


def _first_line(error: Exception) -> str:
    original = getattr(error, "orig", None) or error
    text = str(original).strip().splitlines()
    return text[0] if text else type(original).__name__
