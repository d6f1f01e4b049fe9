"""The narrative report: one self-contained HTML file of competing narratives on a timeline.

Pure: ``render_report(data)`` takes what ``Tracker.report_data`` returns and gives the HTML text;
``report_chunks(data)`` gives the same text in pieces, for a command to write as they are made.
Nothing is loaded from the network: the CSS, the script and the SVG are inline. The page reads
without JavaScript and prints (the SVG carries the picture, its marks have tooltips and link to
the table below); the script only adds a details panel, highlighting and topic filters.
Every piece of user text goes through ``html.escape``; only http(s) URLs become links. Every piece
shown is also isolated (``claims.io.bidi``), so that a right-to-left name or a direction override
in it cannot reorder the text around it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from html import escape
from typing import Any

from claims import __version__
from claims.domain.dates import said_key
from claims.io import bidi
from claims.io.report_assets import SCRIPT, STYLE
from claims.io.report_svg import is_partial, svg_chunks, topic_colours


def render_report(data: dict[str, Any]) -> str:
    """The whole HTML page."""
    return "".join(report_chunks(data))


def report_chunks(data: dict[str, Any]) -> Iterator[str]:
    """The page in pieces, in order, to be written as they are made: a report of 87,000 claims is
    270 MB of HTML, and built as one text it held five times that in memory at its peak."""
    yield "\n".join(
        [
            "<!doctype html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f'<meta name="generator" content="claims {escape(__version__)}">',
            f"<title>{escape(_title(data, bidi.plain))}</title>",
            f"<style>{STYLE}</style>",
            "</head>",
            "<body>",
            _header(data, _title(data, bidi.html)),
            _legend(data),
            '<div class="board">',
            '<figure class="timeline"><div class="scroll">',
            "",
        ]
    )
    yield from svg_chunks(data)
    yield "\n".join(
        [
            "",
            "</div>",
            "<figcaption>Each lane is a party; each column a date on which something was said "
            "(columns are in order, with the time between them written on the axis). "
            "Hover a mark for who said it, the quote, the source and its relays; "
            "click it for its row in the table.</figcaption>",
            "</figure>",
            '<aside class="panel" id="panel" aria-live="polite"><div id="panel-body">',
            '<p class="hint">Point at a mark to see the claim here: its speaker, quote, source and relay '
            "chain, its history, and whom it contradicts. Click to keep it; Esc to let go.</p>",
            "</div></aside>",
            "</div>",
            "",
        ]
    )
    yield from _contradiction_list(data)
    yield "\n"
    yield from _table(data)
    yield "\n" + _footer(data) + "\n"
    opponents = _opponents(data)
    between = ""
    for claim in data["claims"]:
        card = _card(data, claim, opponents.get(claim["id"], ""))
        yield f'{between}<template id="detail-{escape(claim["id"])}">{card}</template>'
        between = "\n"
    yield "\n".join(["", f"<script>{SCRIPT}</script>", "</body>", "</html>", ""])


def _title(data: dict[str, Any], isolated: Callable[[str], str]) -> str:
    """The page's title, the topic's name in it made ``isolated`` (``bidi.plain`` for the
    ``<title>``, which then still needs escaping; ``bidi.html`` for the heading)."""
    topic = data["filters"].get("topic")
    if topic:
        return f"Competing narratives: {isolated(_name(data['topics'], topic))}"
    return "Competing narratives"


def _name(registry: dict[str, dict[str, Any]], ident: str | None) -> str:
    if not ident:
        return ""
    entry = registry.get(ident) or {}
    return str(entry.get("name") or entry.get("title") or ident)


def _header(data: dict[str, Any], title: str) -> str:
    filters = data["filters"]
    scope = [
        f"topic <b>{bidi.html(_name(data['topics'], filters['topic']))}</b>" if filters["topic"] else "all topics",
        f"as the world stood on <b>{escape(filters['as_of'])}</b>" if filters["as_of"] else "as things stand now",
        f"as this database knew it at <b>{escape(filters['known_at'])}</b>"
        if filters["known_at"]
        else "with everything recorded",
    ]
    claims = data["claims"]
    retracted = sum(1 for c in claims if c["status"] != "standing")
    counts = [
        f"{len(claims)} claim{'s' if len(claims) != 1 else ''}",
        f"{len(data['lanes'])} part{'ies' if len(data['lanes']) != 1 else 'y'}",
        f"{len(data['contradictions'])} contradiction{'s' if len(data['contradictions']) != 1 else ''}",
    ]
    if retracted:
        counts.append(f"{retracted} retracted")
    return (
        f"<header><h1>{title}</h1>"
        f'<p class="scope">{"; ".join(scope)}.</p>'
        f'<p class="counts">{" · ".join(counts)}</p></header>'
    )


def _legend(data: dict[str, Any]) -> str:
    colours = topic_colours(data)
    topics = "".join(
        f'<li class="topic" data-topic="{escape(t)}"><span class="swatch" style="background:{c}"></span>'
        f"{bidi.html(_name(data['topics'], t))}</li>"
        for t, c in colours.items()
    )
    icon = '<svg width="26" height="22" viewBox="0 0 26 22" aria-hidden="true">{}</svg>'
    keys = [
        (icon.format('<circle cx="13" cy="11" r="8" fill="#555"/>'), "a claim, at its said date"),
        (
            icon.format(
                '<circle cx="13" cy="11" r="8" fill="#555"/><text x="13" y="15.5" text-anchor="middle" '
                'font-size="13" font-weight="700" fill="#fff">+</text>'
            ),
            "+ affirms, − denies a proposition",
        ),
        (
            icon.format(
                '<circle cx="13" cy="11" r="7" fill="#555"/><circle cx="13" cy="11" r="10" fill="none" '
                'stroke="#555" stroke-dasharray="2.5 2"/>'
            ),
            "said in a month or year: placed at its end",
        ),
        (
            icon.format(
                '<circle cx="13" cy="11" r="8" fill="#fff" stroke="#555" stroke-width="2"/>'
                '<line x1="6" y1="18" x2="20" y2="4" stroke="#222" stroke-width="1.6"/>'
            ),
            "retracted claim",
        ),
        (icon.format('<polygon points="13,1 23,11 13,21 3,11" fill="#555" stroke="#222"/>'), "reaffirmed"),
        (
            icon.format(
                '<circle cx="13" cy="11" r="8" fill="#fff" stroke="#222"/><path d="M8,6L18,16M18,6L8,16" '
                'stroke="#222" stroke-width="2.2"/>'
            ),
            "retraction",
        ),
        (
            icon.format(
                '<circle cx="11" cy="13" r="8" fill="#555"/><rect x="15" y="1" width="7" height="7" fill="#222"/>'
            ),
            "corrected in our record",
        ),
        (
            icon.format(
                '<line x1="1" y1="11" x2="25" y2="11" stroke="#c62828" stroke-width="2.2" stroke-dasharray="6 4"/>'
            ),
            "contradiction between parties",
        ),
    ]
    marks = "".join(f"<li>{svg}{escape(text)}</li>" for svg, text in keys)
    return (
        '<section class="legend" aria-label="Legend">'
        f'<ul class="topics" aria-label="Topics">{topics}</ul>'
        f'<ul class="keys">{marks}</ul>'
        "</section>"
    )


def _contradiction_list(data: dict[str, Any]) -> Iterator[str]:
    """Each contested proposition with the claims on either side."""
    if not data["contradictions"]:
        yield (
            '<section id="contradictions"><h2>Contradictions</h2><p>None among the standing claims shown.</p></section>'
        )
        return
    by_id = {c["id"]: c for c in data["claims"]}
    yield (
        f'<section id="contradictions"><h2>Contradictions ({len(data["contradictions"])})</h2><ol class="contested">'
    )
    for item in data["contradictions"]:
        sides = []
        for stance in ("affirms", "denies"):
            held = "".join(
                f"<li><b>{bidi.html(_name(data['parties'], by_id[i]['party']))}</b>: "
                f'<a href="#claim-{escape(i)}">{bidi.html(by_id[i]["text"])}</a></li>'
                for i in item[stance]
                if i in by_id
            )
            sides.append(f'<div class="{stance}"><span class="side">{stance}</span><ul>{held}</ul></div>')
        yield (
            f'<li data-proposition="{escape(item["proposition"])}"><code>{bidi.html(item["proposition"])}</code>'
            f'<div class="sides">{"".join(sides)}</div></li>'
        )
    yield "</ol></section>"


def _table(data: dict[str, Any]) -> Iterator[str]:
    """The claims again, party by party in lane order, each in said order."""
    head = "".join(
        f"<th scope='col'>{h}</th>"
        for h in ("Said", "Topic", "Speaker", "Claim", "Source and relays", "Status and history")
    )
    lanes = set(data["lanes"])
    by_party: dict[str, list[dict[str, Any]]] = {party: [] for party in data["lanes"]}
    for claim in data["claims"]:
        if claim["party"] in lanes:
            by_party[claim["party"]].append(claim)
    total = sum(len(own) for own in by_party.values())
    yield f'<section id="claims"><h2>Claims ({total})</h2><table class="claims"><thead><tr>{head}</tr></thead>'
    for party in data["lanes"]:
        # A stable sort: claims said at the same time stay in the order ``list`` gives them.
        own = sorted(by_party[party], key=lambda c: (c["said_end"], said_key(c["said_on"])))
        count = f"{len(own)} claim{'s' if len(own) != 1 else ''}"
        heading = f"{bidi.html(_name(data['parties'], party))} <small>({count})</small>"
        yield (
            f'<tbody data-party="{escape(party)}">'
            f'<tr class="group"><th colspan="6" scope="rowgroup">{heading}</th></tr>'
        )
        for claim in own:
            yield _row(data, claim)
        yield "</tbody>"
    yield "</table></section>"


def _row(data: dict[str, Any], claim: dict[str, Any]) -> str:
    ident = escape(claim["id"])
    quote = f"<br><q>{bidi.html(claim['quote'])}</q>" if claim["quote"] else ""
    said = escape(claim["said_on"]) + ("<br><small>placed at its end</small>" if is_partial(claim["said_on"]) else "")
    stance = (
        f"<br><span class='stance {escape(claim['stance'])}'>{escape(claim['stance'])} "
        f"<code>{bidi.html(claim['proposition'])}</code></span>"
        if claim["proposition"]
        else ""
    )
    return (
        f'<tr id="claim-{ident}" data-claim="{ident}" data-topic="{escape(claim["topic"])}" '
        f'class="{escape(claim["status"])}">'
        f"<td class='said'>{said}</td>"
        f"<td>{bidi.html(_name(data['topics'], claim['topic']))}</td>"
        f"<td>{_speaker(data, claim)}</td>"
        f"<td class='text'><span class='words'>{bidi.html(claim['text'])}{quote}</span>{stance}"
        f"<br><code class='id'>{bidi.html(claim['id'])}</code></td>"
        f"<td>{_chain(data, claim)}</td>"
        f"<td>{_history(data, claim)}</td>"
        "</tr>"
    )


def _speaker(data: dict[str, Any], claim: dict[str, Any]) -> str:
    if not claim["speaker"]:
        return ""
    entry = data["speakers"].get(claim["speaker"], {})
    role = f"<br><small>{bidi.html(entry['role'])}</small>" if entry.get("role") else ""
    return f"{bidi.html(entry.get('name') or claim['speaker'])}{role}"


def _chain(data: dict[str, Any], claim: dict[str, Any]) -> str:
    """The source, then each relay in order: Lavrov → TASS → the AP report."""
    return " → ".join(_source(data, s) for s in [claim["source"], *claim["via"]])


def _source(data: dict[str, Any], ident: str) -> str:
    entry = data["sources"].get(ident, {})
    name = bidi.html(entry.get("name") or ident)
    url = str(entry.get("url") or "")
    if url.startswith(("https://", "http://")):
        return f'<a href="{escape(url)}" rel="noopener noreferrer">{name}</a>'
    return name


def _history(data: dict[str, Any], claim: dict[str, Any]) -> str:
    lines = [f"<b>{escape(claim['status'])}</b>"]
    for act in claim["acts"]:
        where = f" in {_source(data, act['source'])}" if act["source"] else ""
        why = f": {bidi.html(act['reason'])}" if act.get("reason") else ""
        lines.append(f"{escape(act['kind'])} {escape(act['on'])}{where}{why}")
    for correction in claim["corrections"]:
        changed = "; ".join(
            f"{escape(name)}: {bidi.html(_plain(old))} → {bidi.html(_plain(new))}"
            for name, (old, new) in correction["changes"].items()
        )
        lines.append(f"corrected in our record ({bidi.html(correction['reason'])}){': ' + changed if changed else ''}")
    for verdict in claim["verdicts"]:
        lines.append(f"verdict <b>{bidi.html(verdict['rating'])}</b> by {_source(data, verdict['by'])}")
    if claim["responds_to"]:
        target = claim["responds_to"]
        lines.append(
            f'{escape(target["relation"])} <a href="#claim-{escape(target["claim"])}">{bidi.html(target["claim"])}</a>'
        )
    return "<br>".join(lines)


def _plain(value: Any) -> str:
    if isinstance(value, list):
        return " → ".join(str(v) for v in value) or "(none)"
    return "(none)" if value in (None, "") else str(value)


def _card(data: dict[str, Any], claim: dict[str, Any], opposed: str) -> str:
    """The details panel's content for one claim (shown by the script); ``opposed`` lists the
    claims of other parties that contradict it (``_opponents``)."""
    quote = f"<blockquote>“{bidi.html(claim['quote'])}”</blockquote>" if claim["quote"] else ""
    facts = [
        ("Speaker", _speaker(data, claim) or bidi.html(_name(data["parties"], claim["party"]))),
        ("Said", escape(claim["said_on"]) + (" (placed at its end)" if is_partial(claim["said_on"]) else "")),
        ("Source", _chain(data, claim)),
    ]
    if claim["proposition"]:
        facts.append(("Stance", f"{escape(claim['stance'])} <code>{bidi.html(claim['proposition'])}</code>"))
    if opposed:
        facts.append(("Contradicted by", opposed))
    facts.append(("Record", _history(data, claim)))
    rows = "".join(f"<dt>{label}</dt><dd>{value}</dd>" for label, value in facts)
    return (
        f'<article class="card {escape(claim["status"])}">'
        f'<p class="party">{bidi.html(_name(data["parties"], claim["party"]))} · '
        f"{bidi.html(_name(data['topics'], claim['topic']))}</p>"
        f"<h3>{bidi.html(claim['text'])}</h3>{quote}<dl>{rows}</dl>"
        f'<p class="more"><code>claims show {bidi.html(claim["id"])}</code> · '
        f'<a href="#claim-{escape(claim["id"])}">in the table ↓</a></p></article>'
    )


def _opponents(data: dict[str, Any]) -> dict[str, str]:
    """For each claim on a contested proposition, the claims of other parties that take the other
    stance, as the card's lines. Worked out once for the whole report: per card, it would read
    every claim and contradiction again for each claim (ten seconds at 10,000 claims)."""
    by_id = {c["id"]: c for c in data["claims"]}
    found: dict[str, list[str]] = {}
    for item in data["contradictions"]:
        affirming = set(item["affirms"])
        for stance, other in (("affirms", "denies"), ("denies", "affirms")):
            for ident in dict.fromkeys(item[stance]):
                claim = by_id.get(ident)
                if claim is None or claim["proposition"] != item["proposition"]:
                    continue
                if stance == "denies" and ident in affirming:  # listed on both sides: read as affirming
                    continue
                found.setdefault(ident, []).extend(
                    f"{bidi.html(_name(data['parties'], by_id[o]['party']))}: "
                    f'<a href="#claim-{escape(o)}">{bidi.html(by_id[o]["text"])}</a>'
                    for o in item[other]
                    if o in by_id and by_id[o]["party"] != claim["party"]
                )
    return {ident: "<br>".join(lines) for ident, lines in found.items()}


def _footer(data: dict[str, Any]) -> str:
    log = data["log"]
    return (
        "<footer><p>Made by <code>claims report</code> "
        f"({escape(__version__)}) from the first {int(log['size'])} events of the log, "
        f"Merkle root <code>{escape(str(log['root']))}</code>"
        f"{' (last recorded ' + escape(str(log['recorded_at'])) + ')' if log.get('recorded_at') else ''}. "
        "Anyone holding this database can check that it still holds them: save "
        f"<code>{escape(json.dumps(_checkpoint(log)))}</code> "
        "to a file and run <code>claims verify --checkpoint FILE</code>.</p></footer>"
    )


def _checkpoint(log: dict[str, Any]) -> dict[str, Any]:
    """The checkpoint the footer tells a reader to keep: all three fields, as ``claims checkpoint``
    prints them, since ``claims verify --checkpoint`` holds the log to its ``recorded_at`` too."""
    return {"size": log["size"], "root": log["root"], "recorded_at": log.get("recorded_at")}
