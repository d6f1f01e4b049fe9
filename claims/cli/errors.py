"""Turning failures into one clear line and an exit code; no traceback for a user's mistake.

A message often quotes what the user typed; ``one_line`` escapes the control characters, line
breaks and lone surrogates in it and cuts it at MAX_MESSAGE characters, so that an error is always
one printable line (and a hostile value cannot move the cursor or recolour the terminal).
"""

from __future__ import annotations

import re

import click

from claims.domain.errors import ClaimsError, DocumentError


class Explained(click.ClickException):
    """An error line, then the lines that belong with it: an invalid document's problems, one
    indented line each, and the notes added to the error on its way up (what a stopped import of
    several documents left undone)."""

    def __init__(self, message: str, problems: list[str], notes: list[str]) -> None:
        super().__init__(one_line(message))
        self.problems = [one_line(problem) for problem in problems]
        self.notes = [one_line(note) for note in notes]

    def show(self, file: object = None) -> None:
        click.echo(f"Error: {self.message}", err=True)
        for problem in self.problems:
            click.echo(f"  {problem}", err=True)
        for note in self.notes:
            click.echo(note, err=True)


# Click lays a list out one item a line, each indented with a tab ("Choose from:\n\tbash,\n\tzsh");
# in one line, a space each. Other control characters are the user's and are escaped (``one_line``).
_LAID_OUT = re.compile(r"[ \t]*\n\t+")


class OneLineUsageError(click.UsageError):
    """A mistake in the command line (an unknown option, a value not among the choices), in one
    line, where Click shows the usage, a hint and a blank line before it; exit 2 all the same."""

    def __init__(self, error: click.UsageError) -> None:
        super().__init__(error.format_message(), error.ctx)
        self.exit_code = error.exit_code

    def show(self, file: object = None) -> None:
        where = f" (see: {self.ctx.command_path} --help)" if self.ctx is not None else ""
        message = _LAID_OUT.sub(" ", self.format_message())
        click.echo(f"Error: {one_line(message)}{where}", err=True)


def translate(error: Exception) -> click.ClickException | None:
    """The ClickException to show for ``error``, or None to let it through: a bug, or a closed
    pipe (``claims log | head``), which Click itself ends quietly."""
    shown = _translated(error)
    notes = getattr(error, "__notes__", None)
    if shown is None or not (notes or isinstance(error, DocumentError)):
        return shown
    problems = error.problems if isinstance(error, DocumentError) else []
    return Explained(shown.message, problems, list(notes or ()))


def _translated(error: Exception) -> click.ClickException | None:
    if isinstance(error, BrokenPipeError):
        return None
    if isinstance(error, DocumentError):
        return click.ClickException(one_line(error.summary))
    if isinstance(error, ClaimsError):
        return click.ClickException(one_line(str(error)))
    module = type(error).__module__
    if module.startswith(("sqlalchemy", "psycopg", "sqlite3")):
        return click.ClickException(one_line(f"database error: {_first_line(error)}"))
    if module.startswith("alembic"):  # e.g. `claims db upgrade NO-SUCH-REVISION`
        return click.ClickException(one_line(f"schema migration: {_first_line(error)}"))
    if isinstance(error, OSError):
        where = getattr(error, "filename", "") or ""
        return click.ClickException(one_line(f"{error.strerror or error}: {where}".rstrip(": ")))
    # Text that is not UTF-8 (a file, standard input, or an argument the shell passed as raw
    # bytes), and a number too large for the database, are the user's input, not our bug.
    if isinstance(error, UnicodeDecodeError):
        return click.ClickException(f"input is not UTF-8 text (byte {error.object[error.start : error.start + 1]!r})")
    if isinstance(error, UnicodeEncodeError):
        return click.ClickException("input is not valid UTF-8 text (an argument holds bytes that are not UTF-8?)")
    if isinstance(error, OverflowError):
        return click.ClickException(one_line(f"a number is out of range: {error}"))
    return None


MAX_MESSAGE = 1000
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def one_line(message: str) -> str:
    """``message`` as one printable line of at most MAX_MESSAGE characters."""
    text = _UNPRINTABLE.sub(_escaped, message)
    if len(text) > MAX_MESSAGE:
        text = f"{text[:MAX_MESSAGE]}… ({len(text) - MAX_MESSAGE} more characters)"
    return text


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char) or f"\\u{ord(char):04x}"


def _first_line(error: Exception) -> str:
    original = getattr(error, "orig", None) or error
    text = str(original).strip().splitlines()
    return text[0] if text else type(original).__name__
