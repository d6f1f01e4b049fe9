"""Recording claims: ``add``, ``retract``, ``reaffirm``, ``correct``, ``verdict`` and ``import``."""

from __future__ import annotations

import sys
from typing import Any

import click

from claims.cli.context import tracker
from claims.cli.output import count_of, message, progress_enabled, warning


@click.command()
@click.option("--party", required=True, help="The party making the claim.")
@click.option("--topic", required=True, help="What the claim is about.")
@click.option("--said-on", required=True, metavar="DATE", help="When it was said: 2023-03-02, 2023-03 or 2023.")
@click.option("--source", required=True, help="Where it first appeared.")
@click.option("--text", required=True, help="The claim, paraphrased.")
@click.option("--speaker", help="Who said it for the party.")
@click.option("--quote", help="A short verbatim quote.")
@click.option("--via", multiple=True, metavar="SOURCE", help="A relay after --source, in order (repeatable).")
@click.option("--proposition", metavar="KEY", help="The point the claim takes a side on.")
@click.option("--stance", type=click.Choice(["affirms", "denies"]), help="Its side on --proposition.")
@click.option("--responds-to", metavar="CLAIM", help="A claim this one answers.")
@click.option("--relation", type=click.Choice(["contradicts", "supports"]), help="How it answers --responds-to.")
@click.option("--id", "ident", metavar="KEY", help="The claim's id (default: derived from party, date, text).")
def add(
    party: str,
    topic: str,
    said_on: str,
    source: str,
    text: str,
    speaker: str | None,
    quote: str | None,
    via: tuple[str, ...],
    proposition: str | None,
    stance: str | None,
    responds_to: str | None,
    relation: str | None,
    ident: str | None,
) -> None:
    """Record a claim; prints its id.

    \b
    Example:
      claims add --party russia --topic blinken-lavrov-encounter --said-on 2023-03-02 \\
        --source ria-novosti --via ap-2023-03-02 --speaker maria-zakharova \\
        --text "No talks or real meeting took place." \\
        --proposition blinken-lavrov-held-real-meeting --stance denies
    """
    repeats = _near_repeats(party, topic, text, quote)
    outcome = tracker().add_claim(
        id=ident,
        party=party,
        topic=topic,
        said_on=said_on,
        source=source,
        text=text,
        speaker=speaker,
        quote=quote,
        via=via,
        proposition=proposition,
        stance=stance,
        responds_to=responds_to,
        relation=relation,
    )
    if not outcome.recorded:
        message(f"claim {outcome.id} is already recorded; nothing added")
    else:
        for match in (m for m in repeats if m["id"] != outcome.id):
            warning(
                f"{outcome.id} nearly repeats {party}'s standing claim {match['id']} "
                f"(score {match['score']:.0f}): {match['text']}"
            )
    try:
        click.echo(outcome.id)
        sys.stdout.flush()
    except BrokenPipeError:  # a reader gone early: a quiet end, as for every command (ClaimsGroup)
        raise
    except OSError as error:  # a full disk: the claim is in the log all the same, and the error says so
        why = error.strerror or type(error).__name__
        raise click.ClickException(f"claim {outcome.id} is recorded, but its id could not be printed: {why}") from None


def _near_repeats(party: str, topic: str, text: str, quote: str | None) -> list[dict[str, Any]]:
    """Standing claims of ``party`` on ``topic`` that the new claim nearly repeats (checked before it
    is added, so that a failure here leaves nothing half done; a problem with the claim is left to
    ``add_claim``). Only the topic's claims are compared: the cost then follows the size of a topic,
    not of everything a party ever said, and `claims similar` searches wider on demand."""
    from claims.domain.errors import ClaimsError
    from claims.service.matching import REPEAT_THRESHOLD

    def matches(said: str) -> list[dict[str, Any]]:
        return tracker().similar(said, party=party, topic=topic, threshold=REPEAT_THRESHOLD, limit=3)

    try:
        found = {m["id"]: m for m in matches(text)}
        for match in matches(quote) if quote else []:
            if match["id"] not in found or match["score"] > found[match["id"]]["score"]:
                found[match["id"]] = match
    except ClaimsError:
        return []
    return sorted(found.values(), key=lambda m: -m["score"])[:3]


def _report(what: str, outcome: object) -> None:
    if getattr(outcome, "recorded", False):
        message(f"recorded {what} of {getattr(outcome, 'id', '')}")
    else:
        message(f"this {what} of {getattr(outcome, 'id', '')} is already recorded; nothing added")


@click.command()
@click.argument("claim")
@click.option("--on", "on", required=True, metavar="DATE", help="When the party retracted it.")
@click.option("--source", help="Where the retraction appeared.")
@click.option("--reason", help="Why, in the party's words or ours.")
def retract(claim: str, on: str, source: str | None, reason: str | None) -> None:
    """Record that the party withdrew CLAIM on a date.

    \b
    Example:
      claims retract lavrov-west-turned-g20-into-farce --on 2023-03-10 --source tass
    """
    _report("retraction", tracker().retract(claim, on=on, source=source, reason=reason))


@click.command()
@click.argument("claim")
@click.option("--on", "on", required=True, metavar="DATE", help="When the party said it again.")
@click.option("--source", required=True, help="Where the reaffirmation appeared.")
def reaffirm(claim: str, on: str, source: str) -> None:
    """Record that the party stood by CLAIM again on a date.

    \b
    Example:
      claims reaffirm zakharova-no-real-meeting --on 2023-03-05 --source ria-novosti
    """
    _report("reaffirmation", tracker().reaffirm(claim, on=on, source=source))


@click.command()
@click.argument("claim")
@click.option("--text", help="The corrected paraphrase.")
@click.option("--quote", help='The corrected quote; "" removes it.')
@click.option("--said-on", metavar="DATE", help="The corrected said date.")
@click.option("--speaker", help='The corrected speaker; "" removes it.')
@click.option("--source", help="The corrected source.")
@click.option("--via", multiple=True, metavar="SOURCE", help="The corrected relays (repeatable).")
@click.option("--no-via", is_flag=True, help="Remove the relays.")
@click.option("--reason", required=True, help="What our recording got wrong.")
def correct(
    claim: str,
    text: str | None,
    quote: str | None,
    said_on: str | None,
    speaker: str | None,
    source: str | None,
    via: tuple[str, ...],
    no_via: bool,
    reason: str,
) -> None:
    """Fix our own recording error in CLAIM; the original stays in the log.

    \b
    Example:
      claims correct lavrov-derailed --said-on 2023-03-02 --reason "wrong day in our entry"
      claims correct lavrov-derailed --speaker "" --reason "an unnamed official said it"
    """
    if via and no_via:
        raise click.UsageError("--via and --no-via cannot be given together")
    outcome = tracker().correct(
        claim,
        reason=reason,
        text=text,
        quote=quote,
        said_on=said_on,
        speaker=speaker,
        source=source,
        via=[] if no_via else list(via) if via else None,
    )
    _report("correction", outcome)


@click.command()
@click.argument("claim")
@click.option("--rating", required=True, help="The reviewer's rating, e.g. false, misleading, accurate.")
@click.option("--by", "by", required=True, metavar="SOURCE", help="The reviewer: a registered source.")
@click.option("--url", help="Where the review is published.")
def verdict(claim: str, rating: str, by: str, url: str | None) -> None:
    """Record a fact-check verdict on CLAIM by a reviewer.

    \b
    Example:
      claims verdict zakharova-no-real-meeting --rating misleading --by some-fact-checker
    """
    _report("verdict", tracker().verdict(claim, rating=rating, by=by, url=url))


@click.command("import")
@click.argument("files", nargs=-1, required=True, metavar="FILE…")
def import_(files: tuple[str, ...]) -> None:
    """Load claims documents (YAML or JSON, format claims/v1); ``-`` reads standard input.

    Each document is checked whole and applied in one transaction; importing it again adds nothing.

    \b
    Example:
      claims import seeds/g20-new-delhi-2023-03-02.yaml
      cat story.json | claims import -
    """
    if "" in files:  # refused before any is imported: open("") would name the current directory
        raise click.ClickException("import needs a file name, not an empty one")
    for index, name in enumerate(files):
        label = "<stdin>" if name == "-" else name
        progress = _progress_line(label)
        try:
            if name == "-":
                report = tracker().import_bytes(_read_stdin(), name=label, progress=progress)
            else:
                report = tracker().import_file(name, progress=progress)
        except Exception as error:  # the import stops at the first document it cannot import
            if progress:
                progress.end()  # the error on a line of its own, not after the progress
            if left := ["<stdin>" if later == "-" else later for later in files[index + 1 :]]:
                error.add_note(f"{', '.join(left)}: not imported (the import stopped at {label})")
            raise
        if progress:
            progress.end()
        if report.nothing_new:
            why = "already imported" if report.skipped else "the document holds no entries"
            message(f"{label}: {why}; nothing added")
            continue
        parts = [count_of(count, kind) for kind, count in report.recorded.items()]
        skipped = sum(report.skipped.values())
        note = f", {skipped} already recorded" if skipped else ""
        message(f"{label}: recorded {', '.join(parts)} ({count_of(report.events, 'event')}{note})")


def _read_stdin() -> bytes:
    """Standard input as bytes, read no further than one byte past the size limit (an endless pipe
    is refused, not read into memory; the bytes are decoded, strictly, by the importer)."""
    from claims.api import MAX_DOCUMENT_BYTES
    from claims.io.limited import read_at_most

    if sys.stdin is None:  # started with standard input closed (``claims import - <&-``)
        raise click.ClickException("no standard input to read the document from")
    return read_at_most(sys.stdin.buffer, MAX_DOCUMENT_BYTES)


def _progress_line(label: str) -> _ProgressLine | None:
    """A progress callback writing one updating line on a terminal; None when stderr is piped or with --quiet."""
    return _ProgressLine(label) if progress_enabled() else None


class _ProgressLine:
    """An import's progress (``done``/``total`` entries), one line updated in place."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.shown = False
        self._width = 0  # of the line shown last

    def __call__(self, done: int, total: int) -> None:
        # Padded to the last line's width: a shorter one (the count of a rejected document's check
        # starting again after its import's) would leave the end of it behind.
        line = f"{self.label}: {done}/{total} entries"
        click.echo(f"\r{line.ljust(self._width)}", nl=False, err=True)
        self._width = len(line)
        self.shown = True

    def end(self) -> None:
        """End the line, if one was shown, so that what follows starts a line of its own."""
        if self.shown:
            click.echo(err=True)


def register(group: click.Group) -> None:
    for command in (add, retract, reaffirm, correct, verdict, import_):
        group.add_command(command)
