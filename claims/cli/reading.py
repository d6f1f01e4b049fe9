"""Questions: ``narrative``, ``compare``, ``timeline``, ``list``, ``show`` and ``log``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import click

from claims.cli.context import tracker
from claims.cli.output import (
    chosen,
    emit_json,
    emit_json_object,
    format_option,
    markdown_table,
    render,
    style,
    text_table,
    time_options,
)

# A claim's own fields (SPEC section 4's keys, but for its status).
CLAIM_FIELDS = ("id", "party", "speaker", "topic", "said_on", "text", "quote", "source", "via", "proposition", "stance")
# A claim as CSV and Markdown give it: its fields, the claim it responds to and how (two cells,
# ``_flat``), whether we corrected our record of it, and its status; a list (via) is written as
# "relay > relay". Terminal tables show a narrower selection.
DATA_COLUMNS = (*CLAIM_FIELDS, "responds_to", "relation", "corrected", "status")


def _flat(claim: dict[str, Any]) -> dict[str, Any]:
    """A claim view as a row of DATA_COLUMNS: its ``responds_to`` mapping in two cells."""
    reply = claim["responds_to"]
    return {**claim, "responds_to": reply and reply["claim"], "relation": reply and reply["relation"]}


@click.command()
@click.argument("party")
@click.option("--topic", help="Only this topic.")
@time_options
@format_option
def narrative(party: str, topic: str | None, as_of: str | None, known_at: str | None, fmt: str | None) -> None:
    """The standing claims of PARTY, by topic in said order.

    A claim the party both affirms and denies is flagged as a self-contradiction (!).

    \b
    Example:
      claims narrative russia
      claims narrative russia --topic blinken-lavrov-encounter --as-of 2023-03-01
      claims narrative russia --known-at 2026-11-27T10:00:00Z --format markdown
    """
    claims = tracker().narrative(party, topic=topic, as_of=as_of, known_at=known_at)
    if chosen(fmt) == "table":
        rows = [{**claim, "stance": _stance(claim)} for claim in claims]
        render(fmt, rows, ("topic", "said_on", "id", "text", "stance"), empty=f"{party} has no standing claims")
    else:
        render(fmt, map(_flat, claims), (*DATA_COLUMNS, "self_contradiction"), json_data=claims)


def _stance(claim: dict[str, Any]) -> str:
    """The side a claim takes, for a table: a self-contradiction's flag first, so that a cell cut
    to fit the terminal keeps it."""
    if not claim["proposition"]:
        return ""
    flag = "! " if claim.get("self_contradiction") else ""
    return f"{flag}{claim['stance']} {claim['proposition']}"


@click.command()
@click.argument("parties", nargs=-1, required=True, metavar="PARTY PARTY…")
@click.option("--topic", help="Only this topic.")
@time_options
@format_option
def compare(
    parties: tuple[str, ...], topic: str | None, as_of: str | None, known_at: str | None, fmt: str | None
) -> None:
    """Competing narratives side by side, contradictions marked.

    A contradiction is a proposition on which the compared parties' standing claims take both
    stances, held by at least two different parties.

    \b
    Example:
      claims compare russia united-states
      claims compare russia china western-delegations --topic china-arms-for-russia --format json
    """
    parties = tuple(dict.fromkeys(parties))  # a party named twice is compared once
    if len(parties) < 2:
        raise click.UsageError("compare needs at least two different parties")
    if chosen(fmt) == "json":  # written as read; CSV, Markdown and tables mark each claim contested
        comparison = tracker().comparison(list(parties), topic=topic, as_of=as_of, known_at=known_at)

        def members() -> Iterator[tuple[str, Any]]:
            yield "parties", comparison.parties
            yield "claims", comparison.claims
            yield "contradictions", comparison.contradictions()  # taken once the claims are written

        emit_json_object(members())
        return
    result = tracker().compare(list(parties), topic=topic, as_of=as_of, known_at=known_at)
    contested = {c["proposition"]: c for c in result["contradictions"]}
    if chosen(fmt) != "table":  # rows made as CSV or Markdown takes them
        rows = ({**_flat(claim), "contradicted": claim["proposition"] in contested} for claim in result["claims"])
        render(fmt, rows, (*DATA_COLUMNS, "contradicted"))
        return
    rows = []
    for claim in result["claims"]:
        mark = "✗ " if claim["proposition"] in contested else ""
        rows.append({**claim, "contradiction": mark + _stance(claim)})
    columns = ("party", "topic", "said_on", "id", "text", "contradiction")
    for party in parties:
        own = [r for r in rows if r["party"] == party]
        click.echo(style(f"== {party} ({len(own)} standing claims)", bold=True))
        if own:
            click.echo(text_table(own, columns[1:]))
        click.echo()
    click.echo(style(f"== contradictions ({len(result['contradictions'])})", bold=True))
    by_id = {c["id"]: c for c in result["claims"]}
    for item in result["contradictions"]:
        click.echo(f"✗ {item['proposition']}")
        for stance in ("affirms", "denies"):
            for claim_id in item[stance]:
                claim = by_id[claim_id]
                text = claim["text"].replace("\n", " ")  # one line per claim, as in the tables
                click.echo(f"    {stance:7}  {claim['party']:<20} {claim_id}: {text}")


@click.command()
@click.option("--topic", help="Only this topic.")
@click.option("--party", help="Only this party.")
@time_options
@format_option
def timeline(topic: str | None, party: str | None, as_of: str | None, known_at: str | None, fmt: str | None) -> None:
    """Every assertion, reaffirmation and retraction, in said-time order.

    A month or a year counts from its last day; the times of one day come in
    the order they happened, whatever their offsets. A retraction or
    reaffirmation whose date, as written, comes before its own claim's (a day
    inside the month the claim was said in, a bare date on the day of a said
    time) is listed right after the claim's assertion. With --as-of, only what
    had been said or done by that date.

    \b
    Example:
      claims timeline --topic blinken-lavrov-encounter
      claims timeline --party china --as-of 2023-02-28 --format csv
    """
    entries = tracker().timeline_entries(topic=topic, party=party, as_of=as_of, known_at=known_at)
    columns = ("said_on", "kind", "party", "claim", "topic", "source")
    # CSV and Markdown add the entry's event's position in the log (as JSON does), which orders
    # entries of one date as they were recorded.
    render(fmt, entries, (*columns, "position"), table_columns=columns, empty="no entries")


@click.command()
@click.argument("party")
@click.option("--from", "since", required=True, metavar="DATE", help="Start of the span.")
@click.option("--to", "until", required=True, metavar="DATE", help="End of the span.")
@click.option("--known-at", metavar="TIMESTAMP", help="As the database knew it then (RFC 3339, or a date).")
@format_option
def changes(party: str, since: str, until: str, known_at: str | None, fmt: str | None) -> None:
    """What PARTY's narrative gained, lost or had corrected between two dates.

    Gained and lost compare the narrative as of --from with the narrative as of --to (said time:
    what the party said and withdrew). Corrected lists the party's claims whose record we corrected
    between those two dates (recorded time: corrections fix our errors, not the party's words).

    \b
    Example:
      claims changes china --from 2023-02-01 --to 2023-04-30
    """
    result = tracker().changes(party, since=since, until=until, known_at=known_at)
    # Made as a table, CSV or Markdown takes them (every field of the claim, as JSON has it, but
    # for a table); JSON prints ``result``.
    rows = (
        {**_flat(claim), "change": change} for change in ("gained", "lost", "corrected") for claim in result[change]
    )
    render(
        fmt,
        rows,
        ("change", *DATA_COLUMNS, "correction", "corrected_at_position"),  # the last two: corrected claims
        json_data=result,
        table_columns=("change", "topic", "said_on", "id", "text"),
        empty=f"{party}'s narrative did not change between {since} and {until}",
    )


@click.command("list")
@click.option("--party", help="Only this party.")
@click.option("--topic", help="Only this topic.")
@click.option("--status", type=click.Choice(["standing", "retracted"]), help="Only claims with this status.")
@time_options
@format_option
def list_(
    party: str | None,
    topic: str | None,
    status: str | None,
    as_of: str | None,
    known_at: str | None,
    fmt: str | None,
) -> None:
    """Every recorded claim with its status.

    \b
    Example:
      claims list --party russia --status retracted
    """
    claims = tracker().claims(party=party, topic=topic, status=status, as_of=as_of, known_at=known_at)
    if chosen(fmt) == "table":
        render(fmt, claims, ("party", "topic", "said_on", "id", "text", "status"), empty="no claims")
    else:  # written as the claims are read, a topic at a time
        render(fmt, map(_flat, claims), DATA_COLUMNS, json_data=claims)


@click.command()
@click.argument("claim")
@time_options
@format_option
def show(claim: str, as_of: str | None, known_at: str | None, fmt: str | None) -> None:
    """CLAIM as it stands, and every event in its history with both times.

    JSON and Markdown give both; CSV, one table, gives the history's rows.

    \b
    Example:
      claims show zakharova-no-real-meeting
      claims show zakharova-no-real-meeting --format json
    """
    result = tracker().show(claim, as_of=as_of, known_at=known_at)
    history = [_history_row(e) for e in result["history"]]
    kind = chosen(fmt)
    if kind == "json":
        emit_json(result)
        return
    if kind == "csv":
        render(fmt, history, HISTORY_COLUMNS)
        return
    fields = _claim_fields(result["claim"])
    if kind == "markdown":
        rows = [{"field": name, "value": value} for name, value in fields]
        click.echo(markdown_table(rows, ("field", "value")) + "\n\n" + markdown_table(history, HISTORY_COLUMNS))
        return
    for name, value in fields:
        click.echo(style(f"{name + ':':<13}", bold=True) + f" {value}")
    click.echo()
    click.echo(text_table(history, HISTORY_COLUMNS))


def _claim_fields(view: dict[str, Any]) -> list[tuple[str, str]]:
    """The claim's fields that have a value, and its verdicts, as (name, text) pairs."""
    fields = []
    for key in (*CLAIM_FIELDS, "responds_to", "status"):
        value = view[key]
        if value in (None, [], ""):
            continue
        if key == "via":
            value = " > ".join(value)
        elif key == "responds_to":
            value = f"{value['relation']} {value['claim']}"
        fields.append((key, str(value)))
    for item in view["verdicts"]:
        fields.append(("verdict", f"{item['rating']} by {item['by']}{' ' + item['url'] if item['url'] else ''}"))
    return fields


HISTORY_COLUMNS = ("position", "type", "said_at", "recorded_at", "recorded_by", "detail")


def _history_row(line: dict[str, Any]) -> dict[str, Any]:
    payload = line["payload"]
    detail = {
        "ClaimAsserted": lambda: payload["text"],
        "ClaimCorrected": lambda: f"{', '.join(payload['changes'])}: {payload['reason']}",
        "ClaimRetracted": lambda: payload.get("reason") or payload.get("source") or "",
        "ClaimReaffirmed": lambda: payload.get("source") or "",
        "VerdictRecorded": lambda: f"{payload['rating']} by {payload['by']}",
    }.get(line["type"], lambda: "")()
    return {**line, "detail": detail}


@click.command()
@click.option("--since", type=click.IntRange(min=0), default=0, metavar="POSITION", help="Events after this position.")
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="At most N events.")
@format_option
def log(since: int, limit: int | None, fmt: str | None) -> None:
    """The raw event log, shaped as the JSONL export lines.

    As CSV, the rows of `claims export --format csv`; a table shows the main columns.

    \b
    Example:
      claims log --since 10 --limit 5
    """
    from claims.store.hashing import LINE_FIELDS, canonical_json

    lines = tracker().log(since=since, limit=limit)  # read as they are printed, not held
    # CSV and Markdown carry every field of the line, the payload as the canonical JSON text that
    # was hashed (the rows of `export --format csv`); a table on a terminal, the main ones.
    rows = (
        {**line, "stream": f"{line['stream_id']}@{line['stream_version']}", "payload": canonical_json(line["payload"])}
        for line in lines
    )
    render(
        fmt,
        rows,
        LINE_FIELDS,
        json_data=lines,
        table_columns=("position", "type", "stream", "said_at", "recorded_at", "recorded_by"),
        empty=f"no events after position {since}" if since else "the log is empty",
    )


def register(group: click.Group) -> None:
    for command in (narrative, compare, timeline, changes, list_, show, log):
        group.add_command(command)
