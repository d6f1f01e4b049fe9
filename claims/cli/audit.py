"""The audit trail: ``export``, ``verify``, ``checkpoint``, ``prove`` and ``projections``."""

from __future__ import annotations

from typing import Any

import click

from claims.cli.context import tracker
from claims.cli.files import output_stream
from claims.cli.output import count_of, events_progress, message, warning

EXPORT_FORMATS = ("jsonl", "csv", "prov-json", "claimreview")
MAX_CHECKPOINT_CHARS = 64 * 1024  # a checkpoint is about 150 characters


def _read_checkpoint(path: str | None) -> dict[str, Any] | None:
    if path is None:
        return None
    import json

    from claims.api import parse_checkpoint
    from claims.domain.errors import ValidationError
    from claims.io import strict_json

    try:
        with open(path, encoding="utf-8") as stream:
            text = stream.read(MAX_CHECKPOINT_CHARS + 1)
        if len(text) > MAX_CHECKPOINT_CHARS:
            raise click.ClickException(f"cannot read checkpoint {path}: longer than a checkpoint can be")
        parsed = strict_json.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, ValidationError) as error:
        raise click.ClickException(f"cannot read checkpoint {path}: {error}") from None
    return parse_checkpoint(parsed)


@click.command()
@click.option("--format", "fmt", type=click.Choice(EXPORT_FORMATS), default="jsonl", show_default=True)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, allow_dash=True),
    help="Write to FILE (default, or -: standard output).",
)
@click.option("--party", metavar="PARTY", help="Only this party: its registration, speakers and claims.")
@click.option("--topic", metavar="TOPIC", help="Only this topic: its registration and claims.")
@click.option(
    "--since",
    type=click.IntRange(min=0),
    default=0,
    metavar="POSITION",
    help="Only events after log position POSITION.",
)
def export(fmt: str, out: str | None, party: str | None, topic: str | None, since: int) -> None:
    """Export the audit trail, or part of it.

    jsonl is the hash-chained log (verify it with `claims verify --file` or the README's recipe);
    filtered (--party, --topic, --since) it starts with a header holding a checkpoint of the whole
    log and gives every event an inclusion proof against it. csv is one row per event, for
    spreadsheets, its payload the canonical JSON that was hashed; prov-json is W3C PROV;
    claimreview is schema.org ClaimReview JSON-LD, one review per verdict.

    \b
    Example:
      claims export --out trail.jsonl
      claims export --party russia --out russia.jsonl
      claims export --format csv > events.csv
      claims export --format prov-json --topic blinken-lavrov-encounter --out encounter.prov.json
      claims export --format claimreview --out reviews.jsonld
    """
    if out == "-":  # as report's --out and import's FILE take it
        out = None
    # `| head` closing the pipe early is a quiet exit 0 (ClaimsGroup)
    with events_progress("read") as progress, output_stream(out) as stream:
        summary = tracker().export(fmt, stream, party=party, topic=topic, since=since, progress=progress)
    if out:
        if summary.reviews is not None:
            read = count_of(summary.events, "claim event")
            message(f"exported {count_of(summary.reviews, 'review')} ({read} read) to {out}")
            return
        detail = ""
        if summary.checkpoint is not None:
            detail = f", each with an inclusion proof against checkpoint size {summary.checkpoint['size']}"
        message(f"exported {count_of(summary.events, 'event')} to {out}{detail}")


@click.command()
@click.option(
    "--file",
    "file",
    type=click.Path(exists=True, dir_okay=False),
    help="Verify this JSONL export (whole-log or filtered) instead of the database.",
)
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.Path(exists=True, dir_okay=False),
    help="Also prove the log (or the file) still extends this checkpoint.",
)
def verify(file: str | None, checkpoint_file: str | None) -> None:
    """Check the hash chain of the database or of an export; exit 1 naming the first broken position.

    With --checkpoint, also check that the log still extends a checkpoint kept earlier, which
    catches truncation and a rewritten, re-hashed history. A filtered export's lines are checked
    against the checkpoint in its header, and against the party or topic the header names; with
    --checkpoint that header must be the given one.

    \b
    Example:
      claims verify
      claims verify --file trail.jsonl
      claims verify --checkpoint checkpoint-2026-11-27.json
      claims verify --file russia.jsonl --checkpoint checkpoint-2026-11-27.json
    """
    from claims.domain.errors import IntegrityError

    given = _read_checkpoint(checkpoint_file)
    if file:
        from claims import startup
        from claims.api import verify_export

        startup.resume()  # reading a long file makes garbage: collect from here on
        with events_progress("checked") as progress:
            report = verify_export(file, given, checkpoint_file, progress)
        if report.broken_at is not None:
            raise IntegrityError(f"{file}: broken at position {report.broken_at}: {report.problem}")
        if not report.intact:
            raise IntegrityError(f"{file}: {report.problem}")
        if report.kind == "filtered":
            assert report.checkpoint is not None
            filters = ", ".join(f"{k}={v}" for k, v in (report.filtered or {}).items())
            summary = (
                f"filtered export ({filters}) intact, {count_of(report.size, 'event')}, each included in checkpoint "
                f"(size {report.checkpoint['size']}, root {report.checkpoint['root']})"
            )
        else:
            summary = f"chain intact, {count_of(report.size, 'event')}, head {report.head_hash}"
        extra = f"; matches checkpoint {checkpoint_file} (size {given['size']})" if given else ""
        message(f"{file}: {summary}{extra}")
        return
    with events_progress("checked") as progress:
        chain = tracker().verify(progress)
    if not chain.intact:
        raise IntegrityError(f"the log: chain broken at position {chain.broken_at}: {chain.problem}")
    if given is not None:
        tracker().verify_checkpoint(given, name=checkpoint_file)
    extra = f"; extends checkpoint {checkpoint_file} (size {given['size']})" if given else ""
    message(f"the log: chain intact, {count_of(chain.size, 'event')}, head {chain.head_hash}{extra}")


@click.command()
def checkpoint() -> None:
    """Print the Merkle checkpoint of the log: {"size", "root", "recorded_at"}.

    Keep it (publish it, mail it, commit it): `claims verify --checkpoint` later proves the log still
    extends it.

    \b
    Example:
      claims checkpoint > checkpoint.json
    """
    import json

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
    help="Prove against this checkpoint's tree (the log must still extend it).",
)
def prove(claim: str | None, position: int | None, old_size: int | None, checkpoint_file: str | None) -> None:
    """Print an inclusion proof (of CLAIM's assertion or --position) or a consistency proof.

    An inclusion proof is {"position", "leaf_index", "tree_size", "leaf_hash", "audit_path", "root"};
    a consistency proof {"old_size", "new_size", "old_root", "new_root", "proof"}, which anyone
    holding the two checkpoints checks with RFC 6962 and no access to the log.

    \b
    Example:
      claims prove zakharova-no-real-meeting
      claims prove --position 12 --checkpoint checkpoint.json
      claims prove --consistency 40
    """
    import json

    if sum(x is not None for x in (claim, position, old_size)) != 1:
        raise click.UsageError("give exactly one of CLAIM, --position or --consistency")
    given = _read_checkpoint(checkpoint_file)
    if old_size is not None:
        result = tracker().prove_consistency(old_size, given, name=checkpoint_file)
    elif position is not None:
        result = tracker().prove_inclusion(position, given, name=checkpoint_file)
    else:
        assert claim is not None
        result = tracker().prove_claim(claim, given, name=checkpoint_file)
    click.echo(json.dumps(result))


@click.group()
def projections() -> None:
    """The read tables folded from the log: their checkpoint, and a rebuild from scratch.

    \b
    Example:
      claims projections status
      claims projections rebuild
    """


@projections.command()
def status() -> None:
    """Each projection's checkpoint against the log head.

    \b
    Example:
      claims projections status
    """
    state = tracker().projections_status()
    behind = state["head"] - state["checkpoint"]
    if behind > 0:
        standing = f"{behind} behind"
    elif behind < 0:  # the log lost events (a write is refused: ``projector.ahead_of_the_log``)
        standing = f"{-behind} ahead: events were deleted from the log's end; `claims verify` tells"
    else:
        standing = "up to date"
    click.echo(f"log head: {state['head']}")
    click.echo(f"claims projection: position {state['checkpoint']} ({standing})")
    for table, count in state["tables"].items():
        click.echo(f"  {table:<16} {count} rows")
    if state["folded_in_written_order"]:
        click.echo(
            f"{count_of(state['folded_in_written_order'], 'claim')} folded with acts of one day in the order "
            "written, before schema 0006: `claims projections rebuild` folds them in time order"
        )


@projections.command()
def rebuild() -> None:
    """Drop the projections and replay them from the log.

    \b
    Example:
      claims projections rebuild
    """
    before = tracker().projections_checkpoint()
    with events_progress("folded") as progress:
        count = tracker().rebuild_projections(progress)
    if before > count:  # the last trace of events deleted from the log's end (`claims verify` told it)
        warning(f"the projections had folded events up to position {before:,}; they now end with the log, at {count:,}")
    message(f"rebuilt projections from {count_of(count, 'event')}")


def register(group: click.Group) -> None:
    for command in (export, verify, checkpoint, prove, projections):
        group.add_command(command)
