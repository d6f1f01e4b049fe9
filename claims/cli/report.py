"""``claims report``: competing narratives on a timeline, as one self-contained HTML file."""

from __future__ import annotations

import click

from claims.cli.completion import PARTY, TOPIC
from claims.cli.context import tracker
from claims.cli.files import output_stream, refuse_the_database
from claims.cli.output import message

# The largest report drawn by default. Headless Chromium (Debian's, to a screenshot, the other
# core busy) opened an empty page in 1.1 to 1.3 s, the report of 812 claims (1.8 MB) in 2.4 s,
# 4,950 (10.6 MB) in 4.1 to 4.3 s, 10,020 (20 MB) in 8.2 to 8.5 s, 16,650 (34 MB) in 12 to 13 s
# and 49,933 (116 MB) in 113 s; the page of a 1M-event log's 869,473 claims is 2.85 GB. 10,000
# claims open in about 8 s, and larger pages take ever longer per claim.
MAX_CLAIMS = 10_000


@click.command()
@click.option("--topic", type=TOPIC, help="Only this topic.")
@click.option(
    "--party",
    "parties",
    multiple=True,
    type=PARTY,
    help="A lane for this party (repeatable; default: every party with a claim).",
)
@click.option("--as-of", metavar="DATE", help="As the world stood on DATE: claims said by then, retracted or not.")
@click.option("--known-at", metavar="TIMESTAMP", help="As the database knew it then (RFC 3339, or a date).")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True),
    help="The HTML file to write (- for standard output).",
)
@click.option(
    "--max-claims",
    type=click.IntRange(min=1),
    default=MAX_CLAIMS,
    show_default=True,
    metavar="N",
    help="Refuse a report of more claims than N, before drawing it (browsers open larger pages slowly, if at all).",
)
def report(
    topic: str | None, parties: tuple[str, ...], as_of: str | None, known_at: str | None, out: str, max_claims: int
) -> None:
    """Write an HTML report of competing narratives on a timeline.

    One lane per party, each claim a mark at its said date, reaffirmations, retractions and
    corrections marked, contradictions drawn between the opposing claims, and every claim's
    speaker, quote, source and relays on hover; a table of the same claims below. The file is
    self-contained (no network), prints, and reads without JavaScript.

    \b
    Example:
      claims report --out report.html
      claims report --topic blinken-lavrov-encounter --party russia --party united-states --out encounter.html
      claims report --as-of 2023-03-01 --known-at 2026-11-27T10:00:00Z --out then.html
    """
    from claims.io.report import report_chunks

    if out != "-":
        refuse_the_database(out)  # before the reading, which may take a while on a large log
    data = tracker().report_data(
        topic=topic, parties=list(parties) or None, as_of=as_of, known_at=known_at, max_claims=max_claims
    )
    with output_stream(None if out == "-" else out) as stream:
        stream.writelines(report_chunks(data))
    if out == "-":
        return
    shown = f"{len(data['claims'])} claims, {len(data['lanes'])} parties, {len(data['contradictions'])} contradictions"
    message(f"wrote {out} ({shown})")


def register(group: click.Group) -> None:
    group.add_command(report)
