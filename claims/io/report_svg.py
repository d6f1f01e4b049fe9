"""The timeline figure of the narrative report: one lane per party, one column per date.

Pure: takes the report data of ``Tracker.report_data`` and gives SVG text, in pieces to be written
as they are made (``svg_chunks``). The SVG carries the
whole picture (it prints, and reads without JavaScript): each claim is a mark at its said date
(a partial date sits at the end of its period), reaffirmations and retractions are marks of their
own at their dates, joined to their claim by a dotted line, a corrected claim wears a small square,
and contradictions are red dashed arcs between the opposing claims. Every mark has a ``<title>``
(the tooltip) and links to the claim's row in the report's table. SVG text cannot hold a
``<bdi>``, so each piece of user text in a label or a tooltip is isolated by the Unicode controls
that do the same (``claims.io.bidi.plain``).

The time axis is ordinal: news clusters on a few days, so each distinct date gets a column wide
enough for its marks, and the gaps between dates are written on the axis instead of drawn to scale.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from html import escape
from typing import Any

from claims.io.bidi import plain

GUTTER = 200  # room for the lane labels
AXIS_TOP = 62
AXIS_BOTTOM = 16
PITCH = 28  # distance between two marks in a cell
RADIUS = 9
PER_ROW = 6  # marks side by side in a cell before a new row starts
PAD_X, PAD_Y = 20, 16
MIN_COLUMN = 104
MIN_LANE = 58
TARGET_WIDTH = 960  # narrower figures are stretched to this
ARC_BULGE = 70.0
PALETTE = (
    "#1f77b4",
    "#d95f02",
    "#1b9e77",
    "#7570b3",
    "#e7298a",
    "#66a61e",
    "#a6761d",
    "#17becf",
    "#666666",
    "#bcbd22",
)
CONTRADICTION = "#c62828"
INK = "#222222"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass
class Item:
    """One mark: a claim's assertion, or one of its reaffirmations or retractions."""

    kind: str  # asserted, reaffirmed, retracted
    claim: dict[str, Any]
    day: str  # the ISO date the mark is placed at
    said: str  # the date as written
    act: dict[str, Any] = field(default_factory=dict)
    x: float = 0.0
    y: float = 0.0


@dataclass
class Layout:
    lanes: list[str]
    days: list[str]
    column_x: list[float]
    column_width: list[float]
    lane_y: list[float]
    lane_height: list[float]
    items: list[Item]
    width: float
    height: float


def topic_colours(data: dict[str, Any]) -> dict[str, str]:
    """A colour per topic shown, in the order topics were registered."""
    shown = {c["topic"] for c in data["claims"]}
    ordered = [t for t in data["topics"] if t in shown] + sorted(shown - set(data["topics"]))
    return {topic: PALETTE[index % len(PALETTE)] for index, topic in enumerate(ordered)}


def is_partial(said: str) -> bool:
    """A year (``2022``) or a month (``2023-02``): placed at the end of its period."""
    return len(said) in (4, 7)


def layout(data: dict[str, Any]) -> Layout:
    """Place every mark: columns by date, lanes by party, a small grid of marks in each cell."""
    lanes = list(data["lanes"])
    topic_rank = {t: i for i, t in enumerate(topic_colours(data))}
    items = _items(data, set(lanes))
    days = sorted({item.day for item in items})
    cells: dict[tuple[str, str], list[Item]] = defaultdict(list)
    for item in sorted(items, key=lambda i: (topic_rank.get(i.claim["topic"], 0), _KIND_RANK[i.kind], i.claim["id"])):
        cells[(item.claim["party"], item.day)].append(item)
    column_width = [
        max([MIN_COLUMN, *(min(len(cells[(p, d)]), PER_ROW) * PITCH + 2 * PAD_X for p in lanes)]) for d in days
    ]
    if days and sum(column_width) < TARGET_WIDTH - GUTTER:
        extra = (TARGET_WIDTH - GUTTER - sum(column_width)) / len(days)
        column_width = [w + extra for w in column_width]
    lane_height = [
        max([MIN_LANE, *(math.ceil(len(cells[(p, d)]) / PER_ROW) * PITCH + 2 * PAD_Y for d in days)]) for p in lanes
    ]
    column_x = _running(GUTTER, column_width)
    lane_y = _running(AXIS_TOP, lane_height)
    lane_of: dict[str, int] = {}
    for index, party in enumerate(lanes):
        lane_of.setdefault(party, index)  # the first lane of a party named twice, as list.index gave
    column_of = {day: index for index, day in enumerate(days)}  # days are distinct
    for (party, day), members in cells.items():
        lane, column = lane_of[party], column_of[day]
        _place(members, column_x[column] + column_width[column] / 2, lane_y[lane] + lane_height[lane] / 2)
    width = max(GUTTER + sum(column_width), TARGET_WIDTH)
    return Layout(lanes, days, column_x, column_width, lane_y, lane_height, items, width, AXIS_TOP + sum(lane_height))


_KIND_RANK = {"asserted": 0, "reaffirmed": 1, "retracted": 2}


def _items(data: dict[str, Any], lanes: set[str]) -> list[Item]:
    items: list[Item] = []
    for claim in data["claims"]:
        if claim["party"] not in lanes:
            continue
        items.append(Item("asserted", claim, claim["said_end"], claim["said_on"]))
        items += [Item(act["kind"], claim, act["on_end"], act["on"], act) for act in claim["acts"]]
    return items


def _running(start: float, sizes: list[float]) -> list[float]:
    positions, at = [], start
    for size in sizes:
        positions.append(at)
        at += size
    return positions


def _place(members: list[Item], centre_x: float, centre_y: float) -> None:
    rows = math.ceil(len(members) / PER_ROW)
    for index, item in enumerate(members):
        row, column = divmod(index, PER_ROW)
        in_row = min(PER_ROW, len(members) - row * PER_ROW)
        item.x = centre_x + (column - (in_row - 1) / 2) * PITCH
        item.y = centre_y + (row - (rows - 1) / 2) * PITCH


# -- drawing ---------------------------------------------------------------------------------------


def svg_chunks(data: dict[str, Any]) -> Iterator[str]:
    """The timeline as an SVG element, ready to inline in the report, in pieces to be written as
    they are made (a mark, a lane's line, an arc each); each piece after the first begins with its
    own line break."""
    plan = layout(data)
    colours = topic_colours(data)
    marks = {(i.kind, i.claim["id"]): i for i in plan.items if i.kind == "asserted"}
    yield "\n".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {plan.width:.0f} {plan.height:.0f}" '
            f'width="{plan.width:.0f}" height="{plan.height:.0f}" style="min-width: {plan.width * 0.8:.0f}px" '
            'role="img" aria-labelledby="chart-title chart-desc" '
            "font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif\">",
            '<title id="chart-title">Competing narratives on a timeline</title>',
            f'<desc id="chart-desc">{_description(data, plan)}</desc>',
            _backdrop(plan, data),
            _axis(plan),
        ]
    )
    yield from _contradictions(data, marks)
    by_party: dict[str, list[Item]] = {party: [] for party in plan.lanes}
    for item in plan.items:
        by_party[item.claim["party"]].append(item)
    for index, party in enumerate(plan.lanes):
        yield from _lane(data, plan, index, party, by_party[party], colours)
    yield "\n</svg>"


def _description(data: dict[str, Any], plan: Layout) -> str:
    return escape(
        f"{len(data['claims'])} claims by {len(plan.lanes)} parties across {len(plan.days)} dates; "
        f"{len(data['contradictions'])} contradictions drawn as red dashed arcs."
    )


def _backdrop(plan: Layout, data: dict[str, Any]) -> str:
    parts = ['<g class="backdrop">']
    for index, (y, h) in enumerate(zip(plan.lane_y, plan.lane_height, strict=True)):
        fill = "#f5f6f8" if index % 2 == 0 else "#ffffff"
        parts.append(f'<rect x="0" y="{y:.1f}" width="{plan.width:.0f}" height="{h:.1f}" fill="{fill}"/>')
    bottom = plan.height
    for x in plan.column_x[1:]:
        parts.append(f'<line x1="{x:.1f}" y1="{AXIS_TOP - 6}" x2="{x:.1f}" y2="{bottom:.1f}" stroke="#dcdfe4"/>')
    parts.append(f'<line x1="{GUTTER}" y1="{AXIS_TOP}" x2="{GUTTER}" y2="{bottom:.1f}" stroke="#b8bec8"/>')
    parts.append(f'<line x1="0" y1="{AXIS_TOP}" x2="{plan.width:.0f}" y2="{AXIS_TOP}" stroke="#b8bec8"/>')
    if not plan.lanes:
        parts.append(f'<text x="{GUTTER + 12}" y="{AXIS_TOP + 30}" fill="#555">No claims to show.</text>')
    parts.append("</g>")
    return "\n".join(parts)


def _axis(plan: Layout) -> str:
    parts = ['<g class="axis" font-size="12" fill="#333">']
    said: dict[str, set[str]] = defaultdict(set)  # the said dates placed in each column
    for item in plan.items:
        said[item.day].add(item.said)
    for day, x, w in zip(plan.days, plan.column_x, plan.column_width, strict=True):
        main, note = _day_label(day, said[day])
        centre = x + w / 2
        parts.append(f'<text x="{centre:.1f}" y="22" text-anchor="middle" font-weight="600">{escape(main)}</text>')
        if note:
            parts.append(
                f'<text x="{centre:.1f}" y="37" text-anchor="middle" font-size="10.5" fill="#666">{escape(note)}</text>'
            )
    for before, after, x in zip(plan.days, plan.days[1:], plan.column_x[1:], strict=False):
        gap = _gap(before, after)
        if gap:
            parts.append(
                f'<text x="{x:.1f}" y="54" text-anchor="middle" font-size="10" fill="#8a8f98" '
                f'font-style="italic">{escape(gap)} later</text>'
            )
    parts.append("</g>")
    return "\n".join(parts)


def _day_label(day: str, said: set[str]) -> tuple[str, str]:
    """The column heading: the date, or the month or year when every mark there is that vague."""
    whole = date.fromisoformat(day)
    if len(said) == 1:
        only = next(iter(said))
        if len(only) == 4:
            return only, "year only"
        if len(only) == 7:
            return f"{MONTHS[whole.month - 1]} {whole.year}", "month only"
    note = "incl. partial dates" if any(is_partial(s) for s in said) else ""
    return f"{whole.day} {MONTHS[whole.month - 1]} {whole.year}", note


def _gap(before: str, after: str) -> str:
    days = (date.fromisoformat(after) - date.fromisoformat(before)).days
    if days <= 1:
        return ""
    if days < 14:
        return f"{days} days"
    if days < 60:
        return f"{round(days / 7)} weeks"
    if days < 730:
        return f"{round(days / 30.44)} months"
    return f"{round(days / 365.25)} years"


def _contradictions(data: dict[str, Any], marks: dict[tuple[str, str], Item]) -> Iterator[str]:
    """A red dashed arc from each affirming claim to each denying claim of another party."""
    yield '\n<g class="contradictions">'
    names = data["parties"]
    for item in data["contradictions"]:
        for affirming in item["affirms"]:
            for denying in item["denies"]:
                a, d = marks.get(("asserted", affirming)), marks.get(("asserted", denying))
                if a is None or d is None or a.claim["party"] == d.claim["party"]:
                    continue
                label = (
                    f"Contradiction on {plain(item['proposition'])}: "
                    f"{plain(_name(names, a.claim['party']))} affirms ({plain(affirming)}), "
                    f"{plain(_name(names, d.claim['party']))} denies ({plain(denying)})"
                )
                yield (
                    f'\n<path class="contradiction" data-proposition="{escape(item["proposition"])}" '
                    f'data-affirms="{escape(affirming)}" data-denies="{escape(denying)}" d="{_arc(a, d)}" '
                    f'fill="none" stroke="{CONTRADICTION}" stroke-width="2.2" stroke-dasharray="6 4" '
                    f'stroke-linecap="round"><title>{escape(label)}</title></path>'
                )
    yield "\n</g>"


def _arc(start: Item, end: Item) -> str:
    """A gentle curve between two marks, bowed to the right of the straight line (to the right of a
    column for a vertical one), so that it passes beside the marks of the lanes in between."""
    dx, dy = end.x - start.x, end.y - start.y
    length = math.hypot(dx, dy) or 1.0
    bulge = min(ARC_BULGE, max(16.0, 0.22 * length))
    nx, ny = dy / length, -dx / length
    if nx < 0 or (nx == 0 and ny > 0):
        nx, ny = -nx, -ny
    # A quadratic curve reaches half-way to its control point.
    cx, cy = (start.x + end.x) / 2 + 2 * bulge * nx, (start.y + end.y) / 2 + 2 * bulge * ny
    return f"M{start.x:.1f},{start.y:.1f} Q{cx:.1f},{cy:.1f} {end.x:.1f},{end.y:.1f}"


def _name(registry: dict[str, dict[str, Any]], ident: str) -> str:
    entry = registry.get(ident) or {}
    return str(entry.get("name") or entry.get("title") or ident)


def _lane(
    data: dict[str, Any], plan: Layout, index: int, party: str, own: list[Item], colours: dict[str, str]
) -> Iterator[str]:
    """One party's lane: its label, the lines from each claim to what followed it, its marks."""
    y, height = plan.lane_y[index], plan.lane_height[index]
    count = sum(1 for i in own if i.kind == "asserted")
    entry = data["parties"].get(party, {})
    yield f'\n<g class="lane" data-party="{escape(party)}">\n' + _lane_label(party, entry, count, y, height)
    assertions = {i.claim["id"]: i for i in own if i.kind == "asserted"}
    for item in own:
        if item.kind != "asserted":
            start = assertions[item.claim["id"]]
            yield (
                f'\n<line class="life" x1="{start.x:.1f}" y1="{start.y:.1f}" x2="{item.x:.1f}" y2="{item.y:.1f}" '
                'stroke="#9aa0a8" stroke-width="1.4" stroke-dasharray="2 3"/>'
            )
    for item in own:
        yield "\n" + _mark(data, item, colours.get(item.claim["topic"], PALETTE[-1]))
    yield "\n</g>"


def _lane_label(party: str, entry: dict[str, Any], count: int, y: float, height: float) -> str:
    name = str(entry.get("name") or party)
    lines = _wrap(name, 24, 3)
    kind = entry.get("kind") or "party"
    sub = f"{kind} · {count} claim{'s' if count != 1 else ''}"
    top = y + height / 2 - (len(lines) * 16 + 14) / 2 + 12
    spans = "".join(
        f'<tspan x="14" y="{top + n * 16:.1f}">{escape(plain(line))}</tspan>' for n, line in enumerate(lines)
    )
    return (
        f'<text class="lane-name" font-size="13.5" font-weight="650" fill="{INK}"><title>{escape(plain(name))} '
        f"({escape(plain(party))})</title>{spans}</text>"
        f'<text class="lane-sub" x="14" y="{top + len(lines) * 16:.1f}" font-size="11" fill="#6b7280">'
        f"{escape(sub)}</text>"
    )


def _wrap(text: str, width: int, most: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    if len(lines) > most:
        lines = [*lines[: most - 1], lines[most - 1][: width - 1] + "…"]
    return lines


def _mark(data: dict[str, Any], item: Item, colour: str) -> str:
    claim = item.claim
    attributes = (
        f'class="mark {item.kind}{" " + claim["status"] if item.kind == "asserted" else ""}" '
        f'href="#claim-{escape(claim["id"])}" data-claim="{escape(claim["id"])}" '
        f'data-topic="{escape(claim["topic"])}" data-proposition="{escape(claim["proposition"] or "")}"'
    )
    title = f"<title>{escape(tooltip(data, item))}</title>"
    shape = {"asserted": _claim_shape, "reaffirmed": _reaffirm_shape, "retracted": _retract_shape}[item.kind]
    return f"<a {attributes}>{title}{shape(item, colour)}</a>"


def _claim_shape(item: Item, colour: str) -> str:
    claim, x, y = item.claim, item.x, item.y
    retracted = claim["status"] != "standing"
    fill, ink = ("#ffffff", colour) if retracted else (colour, "#ffffff")
    parts = []
    if is_partial(claim["said_on"]):
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{RADIUS + 3.5}" fill="none" stroke="{colour}" '
            'stroke-width="1.3" stroke-dasharray="2.5 2"/>'
        )
    parts.append(
        f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="{RADIUS}" fill="{fill}" stroke="{colour}" stroke-width="2"/>'
    )
    glyph = {"affirms": "+", "denies": "−"}.get(claim["stance"] or "", "")
    if glyph:
        parts.append(
            f'<text x="{x:.1f}" y="{y + 4.5:.1f}" text-anchor="middle" font-size="14" font-weight="700" '
            f'fill="{ink}">{glyph}</text>'
        )
    if retracted:
        parts.append(
            f'<line x1="{x - 8:.1f}" y1="{y + 8:.1f}" x2="{x + 8:.1f}" y2="{y - 8:.1f}" stroke="{INK}" '
            'stroke-width="1.6"/>'
        )
    if claim["corrections"]:
        parts.append(
            f'<rect class="corrected" x="{x + 4:.1f}" y="{y - 12:.1f}" width="7" height="7" fill="{INK}" '
            'stroke="#fff" stroke-width="1"/>'
        )
    return "".join(parts)


def _reaffirm_shape(item: Item, colour: str) -> str:
    x, y, r = item.x, item.y, RADIUS + 1
    points = f"{x:.1f},{y - r:.1f} {x + r:.1f},{y:.1f} {x:.1f},{y + r:.1f} {x - r:.1f},{y:.1f}"
    return f'<polygon points="{points}" fill="{colour}" stroke="{INK}" stroke-width="1.4"/>'


def _retract_shape(item: Item, colour: str) -> str:
    x, y, d = item.x, item.y, 6
    return (
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{RADIUS}" fill="#ffffff" stroke="{INK}" stroke-width="1.4"/>'
        f'<path d="M{x - d:.1f},{y - d:.1f}L{x + d:.1f},{y + d:.1f}M{x + d:.1f},{y - d:.1f}L{x - d:.1f},{y + d:.1f}" '
        f'stroke="{INK}" stroke-width="2.2" stroke-linecap="round"/>'
    )


def tooltip(data: dict[str, Any], item: Item) -> str:
    """The plain-text hover of a mark: who, when, what, where it appeared and how it was relayed;
    each piece of user text in it an isolate (``bidi.plain``)."""
    claim = item.claim
    speaker = data["speakers"].get(claim["speaker"] or "", {})
    who = plain(str(speaker.get("name") or claim["speaker"] or _name(data["parties"], claim["party"])))
    if speaker.get("role"):
        who += f", {plain(speaker['role'])}"
    lines = []
    if item.kind != "asserted":
        act = item.act
        lines.append(
            f"{item.kind.capitalize()} on {act['on']}"
            + (f" in {plain(_name(data['sources'], act['source']))}" if act["source"] else "")
        )
        if act.get("reason"):
            lines.append(f"Reason: {plain(act['reason'])}")
        lines.append("— of the claim:")
    lines.append(f"{who} ({plain(_name(data['parties'], claim['party']))}), {claim['said_on']}")
    lines.append(plain(claim["text"]))
    if claim["quote"]:
        lines.append(f"“{plain(claim['quote'])}”")
    lines.append("Source: " + " → ".join(plain(_name(data["sources"], s)) for s in [claim["source"], *claim["via"]]))
    if claim["proposition"]:
        lines.append(f"{claim['stance'].capitalize()}: {plain(claim['proposition'])}")
    if claim["status"] != "standing":
        lines.append("Status: retracted")
    for correction in claim["corrections"]:
        lines.append(f"Corrected in our record: {plain(correction['reason'])}")
    for verdict in claim["verdicts"]:
        lines.append(f"Verdict: {plain(verdict['rating'])} ({plain(_name(data['sources'], verdict['by']))})")
    return "\n".join(lines)
