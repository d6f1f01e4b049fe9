"""The report isolates every user text, so that none can reorder the text around it.

A party named ``مصر <U+202E>gnp.exe`` once turned the rest of its card's line around: in
``<p class="party">مصر ‮gnp.exe · TOPIC</p>`` the RIGHT-TO-LEFT OVERRIDE ran on over the topic.
Each name, title, claim, quote, reason and id is now an isolate: a ``<bdi>`` in HTML, U+2068 …
U+2069 in plain text (SVG labels and tooltips, the page's ``<title>``). The tests read the HTML
the report writes, text node by text node, as the Unicode bidirectional algorithm would.
"""

from __future__ import annotations

import unicodedata
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from claims.api import Tracker
from claims.cli import cli
from claims.io.report import render_report

RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE
FSI, PDI = "\u2068", "\u2069"
OPENERS = {"\u2066", "\u2067", "\u2068"}  # LRI, RLI, FSI
# What can change the direction of text after it: right-to-left letters and Arabic digits, and
# the embedding and override controls (the isolate controls are followed one by one).
DIRECTIONAL = {"R", "AL", "AN", "LRE", "RLE", "LRO", "RLO", "PDF"}

PARTY_NAME = f"مصر {RLO}gnp.exe"
TOPIC_TITLE = f"قمة {RLO}TOPIC"
SPEAKER_NAME = f"سامح {RLO}kcirtS"
ROLE = f"وزير {RLO}elor"
SOURCE_NAME = f"الأهرام {RLO}swen"
TEXT = f"لم يحدث {RLO}gniteem on"
QUOTE = f"اقتباس {RLO}etouq"
REASON = f"سبب {RLO}nosaer"
CORRECTED = f"نص مصحح {RLO}txet"
RATING = f"مضلل {RLO}gnitar"
# Hostile isolates: a U+2069 that would close the isolate it is put in, then an override; and an
# isolate left open, which would swallow what follows.
STRAY_CLOSE = f"x{PDI}{RLO}evil"
LEFT_OPEN = f"{FSI}open {RLO}ended"


def _rtl_world(tracker: Tracker) -> None:
    """Two parties that contradict each other, one of them all right-to-left text and overrides,
    and a third whose texts hold hostile isolate controls."""
    tracker.add_party("rtl", name=PARTY_NAME, kind="state")
    tracker.add_party("plain", name="Plain Party", kind="state")
    tracker.add_party("hostile", name=STRAY_CLOSE, kind="other")
    tracker.add_topic("summit", title=TOPIC_TITLE)
    tracker.add_source("ahram", name=SOURCE_NAME, kind="newspaper", url="https://example.org/ahram")
    tracker.add_source("relay", name=LEFT_OPEN, kind="newspaper")
    tracker.add_source("checker", name="Checker", kind="fact-checker")
    tracker.add_speaker("sameh", name=SPEAKER_NAME, party="rtl", role=ROLE)
    tracker.add_claim(
        id="rtl-no-meeting",
        party="rtl",
        speaker="sameh",
        topic="summit",
        said_on="2023-03-02",
        source="ahram",
        via=["relay"],
        text=TEXT,
        quote=QUOTE,
        proposition="a-meeting-took-place",
        stance="denies",
    )
    tracker.add_claim(
        id="plain-meeting",
        party="plain",
        topic="summit",
        said_on="2023-03-02",
        source="checker",
        text="A meeting took place.",
        proposition="a-meeting-took-place",
        stance="affirms",
    )
    tracker.add_claim(party="hostile", topic="summit", said_on="2023-03-03", source="relay", text=LEFT_OPEN)
    tracker.reaffirm("rtl-no-meeting", on="2023-03-04", source="ahram")
    tracker.correct("rtl-no-meeting", text=CORRECTED, reason=REASON)
    tracker.verdict("rtl-no-meeting", rating=RATING, by="checker")


class _Isolation(HTMLParser):
    """Reads a page as the bidirectional algorithm would, one text node at a time, and notes every
    character that could change the direction of what follows it and is in no isolate.

    An isolate is a ``<bdi>`` element, or U+2068/U+2066/U+2067 … U+2069 inside one text node. A
    U+2069 that closes an isolate the node did not open (a ``<bdi>``'s, which browsers make of
    the same controls) is a leak too, and so is an isolate the node leaves open.
    """

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.leaks: list[str] = []
        self.texts: list[tuple[tuple[str, ...], str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in {"br", "meta", "circle", "line", "rect", "path", "polygon", "img"}:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        pass  # <circle …/> and the like hold no text

    def handle_endtag(self, tag: str) -> None:
        if tag in self.open:
            while self.open.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        self.texts.append((tuple(self.open), data))
        in_bdi = "bdi" in self.open
        depth = 0
        for index, char in enumerate(data):
            where = f"{data[max(0, index - 20) : index + 20]!r} in <{'/'.join(self.open)}>"
            if char in OPENERS:
                depth += 1
            elif char == PDI:
                if depth == 0:
                    self.leaks.append(f"a U+2069 closing an isolate it did not open: {where}")
                    continue
                depth -= 1
            elif unicodedata.bidirectional(char) in DIRECTIONAL and not (in_bdi or depth):
                self.leaks.append(f"U+{ord(char):04X} outside any isolate: {where}")
        if depth:
            self.leaks.append(f"{depth} isolate(s) left open: {data[-40:]!r} in <{'/'.join(self.open)}>")


def _read(page: str) -> _Isolation:
    parser = _Isolation()
    parser.feed(page)
    parser.close()
    return parser


def test_every_user_text_in_the_report_is_an_isolate(tracker: Tracker) -> None:
    _rtl_world(tracker)
    page = render_report(tracker.report_data())
    read = _read(page)
    assert read.leaks == []
    # Each text is really there, and wherever it is shown.
    for text in (PARTY_NAME, TOPIC_TITLE, SPEAKER_NAME, ROLE, SOURCE_NAME, QUOTE, REASON, CORRECTED, RATING):
        assert text in page, text
    # The tester's line: the party's name is an isolate of its own, the topic after it unturned.
    assert f'<p class="party"><bdi>{PARTY_NAME}</bdi> · <bdi>{TOPIC_TITLE}</bdi></p>' in page
    # The SVG: lane labels and tooltips isolate each piece of user text in them.
    assert f">{FSI}{PARTY_NAME}{PDI}</tspan>" in page
    tooltips = [data for tags, data in read.texts if tags[-2:] == ("a", "title")]
    assert any(f"{FSI}{SPEAKER_NAME}{PDI}, {FSI}{ROLE}{PDI} ({FSI}{PARTY_NAME}{PDI})" in t for t in tooltips)


def test_hostile_isolate_controls_are_balanced_inside_their_isolate(tracker: Tracker) -> None:
    _rtl_world(tracker)
    page = render_report(tracker.report_data())
    assert _read(page).leaks == []
    # The U+2069 that would have closed the isolate early is dropped; the open one is closed.
    assert f"<bdi>x{RLO}evil</bdi>" in page
    assert f"<bdi>{FSI}open {RLO}ended{PDI}</bdi>" in page


def test_a_topic_report_isolates_the_topic_in_its_titles(tracker: Tracker) -> None:
    _rtl_world(tracker)
    page = render_report(tracker.report_data(topic="summit"))
    assert _read(page).leaks == []
    assert f"<title>Competing narratives: {FSI}{TOPIC_TITLE}{PDI}</title>" in page
    assert f"<h1>Competing narratives: <bdi>{TOPIC_TITLE}</bdi></h1>" in page


def test_text_that_cannot_change_direction_is_left_as_it_was(seeded: Tracker) -> None:
    """Left-to-right text needs no isolate in the left-to-right page: the seed's report has none."""
    page = render_report(seeded.report_data())
    assert "<bdi>" not in page and FSI not in page and PDI not in page
    assert _read(page).leaks == []


@pytest.mark.parametrize("topic", [None, "summit"])
def test_the_report_the_command_writes_isolates_user_text(tracker: Tracker, tmp_path: Path, topic: str | None) -> None:
    _rtl_world(tracker)
    out = tmp_path / "report.html"
    options = ["--topic", topic] if topic else []
    result = CliRunner().invoke(
        cli, ["--db", tracker.url, "report", *options, "--out", str(out)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.stderr
    page = out.read_text(encoding="utf-8")
    assert _read(page).leaks == []
    assert f"<bdi>{PARTY_NAME}</bdi>" in page and f"<bdi>{TEXT}</bdi>" in page
