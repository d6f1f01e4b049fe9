"""The audit trail: ``export``, ``verify``, ``checkpoint``, ``prove`` and ``projections``."""

from __future__ import annotations

import json
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import click

from claims.cli.context import tracker
from claims.cli.output import message

EXPORT_FORMATS = ("jsonl", "csv")


def _read_checkpoint(path: str | None) -> dict[str, Any] | None:
    if path is None:
        return None
    from claims.service.audit import check_checkpoint

    try:
        return check_checkpoint(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise click.ClickException(f"cannot read checkpoint {path}: {error}") from None


@click.command()
@click.option("--format", "fmt", type=click.Choice(EXPORT_FORMATS), default="jsonl", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, writable=True), help="Write to FILE (default: standard output).")
def export(fmt: str, out: str | None) -> None:
    """Export the audit trail.

    jsonl is the hash-chained log (verify it with `claims verify --file` or the README's recipe);
    csv is one row per event, for spreadsheets.

    \b
    Example:
      claims export --out trail.jsonl
      claims export --format csv > events.csv
    """
    from claims.io.trail import write_csv, write_jsonl

    writer = write_jsonl if fmt == "jsonl" else write_csv
    target: Any = open(out, "w", encoding="utf-8", newline="") if out else nullcontext(sys.stdout)  # noqa: SIM115
    with target as stream:
        count = writer(tracker().log(), stream)
    if out:
        message(f"exported {count} events to {out}")


@click.command()
@click.option(
    "--file",
    "file",
    type=click.Path(exists=True, dir_okay=False),
    help="Verify this JSONL export instead of the database.",
)
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.Path(exists=True, dir_okay=False),
    help="Also prove the log still extends this checkpoint.",
)
def verify(file: str | None, checkpoint_file: str | None) -> None:
    """Check the hash chain of the database or of an export; exit 1 naming the first broken position.

    \b
    Example:
      claims verify
      claims verify --file trail.jsonl
      claims verify --checkpoint checkpoint-2026-11-27.json
    """
    from claims.domain.errors import IntegrityError
    from claims.io.trail import read_jsonl
    from claims.store.chain import check_chain

    if file:
        with open(file, encoding="utf-8") as stream:
            report = check_chain(read_jsonl(stream, file))
        what = file
    else:
        report = tracker().verify()
        what = "the log"
    if not report.intact:
        raise IntegrityError(f"{what}: chain broken at position {report.broken_at}: {report.problem}")
    given = _read_checkpoint(checkpoint_file)
    if given is not None:
        if file:
            raise click.UsageError("--checkpoint checks the database; use it without --file")
        tracker().verify_checkpoint(given)
    extra = f"; extends checkpoint {checkpoint_file} (size {given['size']})" if given else ""
    message(f"{what}: chain intact, {report.size} events, head {report.head_hash}{extra}")


@click.command()
def checkpoint() -> None:
    """Print the Merkle checkpoint of the log: {"size", "root", "recorded_at"}.

    Keep it (publish it, mail it, commit it): `claims verify --checkpoint` later proves the log still
    extends it.

    \b
    Example:
      claims checkpoint > checkpoint.json
    """
    click.echo(json.dumps(tracker().checkpoint()))


@click.command()
@click.argument("claim", required=False)
@click.option("--position", type=click.IntRange(min=1), help="Prove the event at this position.")
@click.option(
    "--consistency",
    "old_size",
    type=click.IntRange(min=1),
    metavar="OLD_SIZE",
    help="Prove the log extends its first OLD_SIZE events.",
)
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.Path(exists=True, dir_okay=False),
    help="Prove against this checkpoint's tree.",
)
def prove(claim: str | None, position: int | None, old_size: int | None, checkpoint_file: str | None) -> None:
    """Print an inclusion proof (of CLAIM's assertion or --position) or a consistency proof.

    \b
    Example:
      claims prove zakharova-no-real-meeting
      claims prove --position 12 --checkpoint checkpoint.json
      claims prove --consistency 40
    """
    if sum(x is not None for x in (claim, position, old_size)) != 1:
        raise click.UsageError("give exactly one of CLAIM, --position or --consistency")
    given = _read_checkpoint(checkpoint_file)
    if old_size is not None:
        result = tracker().prove_consistency(old_size, given)
    elif position is not None:
        result = tracker().prove_inclusion(position, given)
    else:
        assert claim is not None
        result = tracker().prove_claim(claim, given)
    click.echo(json.dumps(result))


@click.group()
def projections() -> None:
    """The read tables folded from the log."""


@projections.command()
def status() -> None:
    """Each projection's checkpoint against the log head.

    \b
    Example:
      claims projections status
    """
    state = tracker().projections_status()
    behind = state["head"] - state["checkpoint"]
    click.echo(f"log head: {state['head']}")
    click.echo(
        f"claims projection: position {state['checkpoint']} ({'up to date' if not behind else f'{behind} behind'})"
    )
    for table, count in state["tables"].items():
        click.echo(f"  {table:<16} {count} rows")


@projections.command()
def rebuild() -> None:
    """Drop the projections and replay them from the log.

    \b
    Example:
      claims projections rebuild
    """
    shown = sys.stderr.isatty()

    def progress(count: int) -> None:
        if shown:
            click.echo(f"\rfolded {count} events", nl=False, err=True)

    count = tracker().rebuild_projections(progress)
    if shown:
        click.echo(err=True)
    message(f"rebuilt projections from {count} events")


def register(group: click.Group) -> None:
    for command in (export, verify, checkpoint, prove, projections):
        group.add_command(command)
