"""One renderer for every read command: table on a terminal, JSON when piped, CSV and Markdown.

Data goes to standard output; messages and progress go to standard error.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import click

FORMATS = ("table", "json", "csv", "markdown")
F = TypeVar("F", bound=Callable[..., Any])


def format_option(command: F) -> F:
    """The shared ``--format`` option of read commands."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default=None,
        help="Output format (default: table on a terminal, json when piped).",
    )(command)


def time_options(command: F) -> F:
    """The two times of SPEC section 3, shared by every read command that answers 'as of when'."""
    command = click.option(
        "--known-at",
        metavar="TIMESTAMP",
        help="Answer as the database knew it then (RFC 3339, or a date: the end of that day, UTC).",
    )(command)
    return click.option(
        "--as-of",
        metavar="DATE",
        help="Answer as the world stood on DATE (claims said and not retracted by then).",
    )(command)


def chosen(fmt: str | None) -> str:
    if fmt:
        return fmt
    return "table" if sys.stdout.isatty() else "json"


def emit_json(data: Any) -> None:
    """``data`` as indented JSON: the text of ``json.dumps(data, indent=2, ensure_ascii=False)``.
    A list, a tuple or an iterator (the lines of the log as they are read), at the top or as a
    value of a mapping at the top with text keys (a comparison's claims), is written a thousand
    items at a time: the answer of ``claims log`` is the whole log by default, and held as one text
    it took 8 GB of memory at a million events, with nothing shown until the end. (Item by item,
    the encoder's set-up per call made the writing half as slow again.)"""
    if isinstance(data, Mapping) and all(isinstance(key, str) for key in data):
        echo_pieces(_object_pieces(data.items()))
    elif _streamed(data):
        echo_pieces(_array_pieces(data))
    else:
        click.echo(indented_json(data))


def emit_json_object(members: Iterable[tuple[str, Any]]) -> None:
    """A JSON object of ``members`` (key, value), written as ``emit_json`` writes a mapping. Each
    member is taken once the value before it has been read through, so it may be worked out from
    the values before it (a comparison's contradictions, from the claims it printed)."""
    echo_pieces(_object_pieces(members))


def _streamed(value: Any) -> bool:
    """What JSON writes as a list and may be long: a set or a dict's view is refused, as by
    ``json.dumps``."""
    return isinstance(value, list | tuple | Iterator)


def _object_pieces(members: Iterable[tuple[str, Any]]) -> Iterator[str]:
    """``{"key": value, ...}`` indented by two, in pieces; a value ``_streamed`` is given a
    thousand items at a time, any other value whole."""
    opened = False
    for key, value in members:
        yield (",\n  " if opened else "{\n  ") + indented_json(key) + ": "
        opened = True
        if _streamed(value):
            yield from _array_pieces(value, depth=1)
        else:
            yield indented_json(value).replace("\n", "\n  ")  # JSON text holds no other newline
    yield "\n}\n" if opened else "{}\n"


def _array_pieces(items: Iterable[Any], depth: int = 0) -> Iterator[str]:
    """``items`` as an indented JSON list nested ``depth`` levels deep, a thousand at a time, with
    no newline after it but at the top."""
    margin = "  " * depth
    closing = len(margin) + 2  # "\n" + margin + "]"
    written = False
    for batch in _batches(items):
        text = indented_json(batch)  # "[\n  item,\n  item\n]"
        if margin:
            text = text.replace("\n", "\n" + margin)
        yield ",\n" + text[2:-closing] if written else text[:-closing]
        written = True
    if written:
        yield "\n" + margin + "]"
    else:
        yield "[]"
    if not depth:
        yield "\n"


def indented_json(data: Any) -> str:
    """``json.dumps(data, indent=2, ensure_ascii=False)``, written by orjson where it can be.

    The standard library's encoder runs in pure Python once asked to indent: it took more than half
    of ``claims log``'s time on a 1M-event log. orjson writes the same text, but for a nonzero float
    of magnitude below 1e-4 (``0.00001`` where the standard library writes ``1e-05``: the same
    number) and NaN or infinity, which are not JSON and which no answer holds. What orjson refuses
    (an integer beyond 64 bits, a lone surrogate, a key that is not text, and dates and dataclasses,
    which it is told to pass on) is left to the standard library, which then decides, as before.
    """
    import orjson  # here and below: `claims --help` never needs json, csv or shutil

    try:
        passed_on = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
        return orjson.dumps(data, option=orjson.OPT_INDENT_2 | passed_on).decode("utf-8")
    except TypeError:
        import json

        return json.dumps(data, indent=2, ensure_ascii=False)


def echo_pieces(pieces: Iterable[str]) -> None:
    """Print a text given in pieces, a megabyte or so at a time: what is printed is never held
    whole, and standard output is written through Click all the same."""
    held: list[str] = []
    size = 0
    for piece in pieces:
        held.append(piece)
        size += len(piece)
        if size >= 2**20:
            click.echo("".join(held), nl=False)
            held, size = [], 0
    click.echo("".join(held), nl=False)


def _batches(items: Iterable[Any], size: int = 1000) -> Iterator[list[Any]]:
    from itertools import islice

    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " > ".join(str(v) for v in value)
    if isinstance(value, dict):
        import json

        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def render(
    fmt: str | None,
    rows: Iterable[dict[str, Any]],
    columns: Sequence[str],
    *,
    json_data: Any = None,
    table_columns: Sequence[str] | None = None,
    empty: str = "nothing to show",
) -> None:
    """Print ``rows`` in the chosen format; JSON prints ``json_data`` when given, else the rows.

    ``rows`` and ``json_data`` may be iterators (one of them is read): JSON and CSV are written as
    the rows come, while a table, to be aligned, and Markdown read them all first. A terminal
    table may show fewer columns (``table_columns``) than CSV and Markdown, which are read at
    leisure and keep them all.
    """
    kind = chosen(fmt)
    if kind == "json":
        emit_json(rows if json_data is None else json_data)
    elif kind == "csv":
        echo_pieces(_csv_pieces(rows, columns))
    elif kind == "markdown":
        click.echo(markdown_table(rows, columns))
    elif not (rows := list(rows)):
        click.echo(empty, err=True)
    else:
        click.echo(text_table(rows, table_columns or columns))


def _csv_pieces(rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> Iterator[str]:
    """CSV of ``rows``: the header, then a thousand rows at a time."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for batch in _batches(rows):
        writer.writerows([cell(row.get(c)) for c in columns] for row in batch)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def markdown_table(rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> str:
    def escape(value: Any) -> str:
        return cell(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(escape(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def text_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """Aligned columns; the widest column is cut so that the table fits the terminal."""
    cells = [[cell(row.get(c)).replace("\n", " ") for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    import shutil

    room = shutil.get_terminal_size((160, 24)).columns
    _shrink_to_fit(widths, columns, room - 2 * (len(widths) - 1))

    def fit(text: str, width: int) -> str:
        return text if len(text) <= width else text[: width - 1] + "…"

    header = "  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))
    lines = [style(header.rstrip(), bold=True)]
    lines += ["  ".join(fit(v, w).ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


# Which columns give up width first when a table is wider than the terminal: prose before names,
# and identifiers last, since a cut id can no longer be pasted into the next command.
_SHRINK_ORDER = ("text", "detail", "quote", "contradiction", "stance", "source", "topic", "speaker", "party")


def _shrink_to_fit(widths: list[int], columns: Sequence[str], room: int) -> None:
    prose = [columns.index(c) for c in _SHRINK_ORDER if c in columns]
    main_text, names = prose[:1], prose[1:]
    everything = prose + [i for i in range(len(columns)) if i not in prose]
    passes = ((40, main_text), (16, names), (24, main_text), (10, prose), (8, everything))
    for floor, indexes in passes:
        for index in indexes:
            while sum(widths) > room and widths[index] > floor:
                widths[index] -= 1


def style(text: str, *, err: bool = False, **kwargs: Any) -> str:
    """Colour only on a terminal (standard error's when ``err``) and only when NO_COLOR is not set
    (https://no-color.org: any non-empty value turns colour off)."""
    stream = sys.stderr if err else sys.stdout
    if os.environ.get("NO_COLOR") or not stream.isatty():
        return text
    return click.style(text, **kwargs)


def quiet() -> bool:
    """Whether ``--quiet`` was given to the current command."""
    from claims.cli.context import settings

    current = settings()
    return bool(current and current.quiet)


def progress_enabled() -> bool:
    """Whether to show progress: only on a terminal (standard error), and not with ``--quiet``."""
    return sys.stderr.isatty() and not quiet()


@contextmanager
def events_progress(verb: str) -> Iterator[Callable[[int], None] | None]:
    """A callback drawing "VERB N events" on one line of a terminal, updated in place and ended on
    leaving, for the long reads of SPEC section 4 (export, verify, rebuild); None when progress is
    not to be shown (``progress_enabled``)."""
    if not progress_enabled():
        yield None
        return
    shown = False

    def progress(count: int) -> None:
        nonlocal shown
        click.echo(f"\r{verb} {count_of(count, 'event')}", nl=False, err=True)
        shown = True

    try:
        yield progress
    finally:
        if shown:
            click.echo(err=True)


def count_of(count: int, noun: str) -> str:
    """``count`` and the noun in its number, for messages: 1 party, 2 parties, 1 event, 2 events."""
    if count == 1:
        return f"1 {noun}"
    return f"{count} {noun[:-1] + 'ies' if noun.endswith('y') and noun[-2:-1] not in 'aeiou' else noun + 's'}"


def message(text: str) -> None:
    """A message for the user (not data): standard error; ``--quiet`` silences it."""
    if not quiet():
        click.echo(text, err=True)


def warning(text: str) -> None:
    """A warning: standard error, shown even with ``--quiet`` (it is about the user's data)."""
    click.echo(style("warning:", err=True, fg="yellow", bold=True) + " " + text, err=True)
