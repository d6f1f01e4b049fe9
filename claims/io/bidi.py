"""Keeping user text from reordering the report around it: Unicode bidirectional isolation.

A name, a title or a claim may hold right-to-left letters (``مصر``) and the controls that set the
direction of what follows them (U+202E RIGHT-TO-LEFT OVERRIDE). Left in a line as they are, they
reorder the text after them: ``مصر <U+202E>gnp.exe · TOPIC`` is shown as a party named "…exe.png"
with the topic turned around, which is how a file name, a party or a quote is spoofed. So each
user text in the report is an *isolate* (Unicode Standard Annex #9, rules X5a to X6a): its
direction is worked out inside it, from its first strong letter; outside, it counts as one neutral
character; and every override or embedding it opens ends where it ends.

In HTML the isolate is a ``<bdi>`` element; in plain text (an SVG tooltip, an SVG label, the page's
``<title>``, none of which can hold an element) it is U+2068 FIRST STRONG ISOLATE before the text
and U+2069 POP DIRECTIONAL ISOLATE after it. The isolates of the text itself are balanced first
(``_closed``), so that ours ends where the text ends: browsers make a ``<bdi>`` of the same two
controls.

A text with no right-to-left letter, no Arabic digit and no directional control cannot change the
direction of anything in the report's left-to-right page once every text that has one is isolated,
and it is left bare: most texts are, and a report of 87,000 claims stays the size it was.
"""

from __future__ import annotations

import re
from html import escape

FIRST_STRONG_ISOLATE = "\u2068"
POP_DIRECTIONAL_ISOLATE = "\u2069"
_ISOLATE_OPENERS = frozenset("\u2066\u2067\u2068")  # LRI, RLI, FSI
_ISOLATE_CONTROLS = (*_ISOLATE_OPENERS, POP_DIRECTIONAL_ISOLATE)

# Every character whose bidirectional class is R, AL or AN (the blocks of the right-to-left scripts,
# Arabic digits among them), the RIGHT-TO-LEFT MARK, and the embedding, override and isolate
# controls (LRE, RLE, PDF, LRO, RLO; LRI, RLI, FSI, PDI). Whole blocks are taken, so a letter
# assigned in a later Unicode version is covered too; a character of them that is not
# right-to-left is isolated for nothing, which is harmless.
_DIRECTIONAL = re.compile(
    "[\u0590-\u08ff\u200f\u202a-\u202e\u2066-\u2069\ufb1d-\ufdff\ufe70-\ufefe"
    "\U00010800-\U00010fff\U0001e800-\U0001efff]"
)


def needs_isolate(text: str) -> bool:
    """Whether ``text`` holds anything that could change the direction of the text around it."""
    return not text.isascii() and _DIRECTIONAL.search(text) is not None


def _closed(text: str) -> str:
    """``text`` with its isolates balanced, so that ours is closed by our own U+2069 and nothing
    else: a U+2069 that closes no isolate opened in the text is dropped (it would close ours, and
    let what follows it out), and one is added at the end for each isolate the text leaves open
    (ours would close that one instead, and leave the text after ours inside it). The overrides
    and embeddings it opens need nothing: closing an isolate ends every one opened in it."""
    if not any(char in text for char in _ISOLATE_CONTROLS):
        return text
    kept: list[str] = []
    open_isolates = 0
    for char in text:
        if char in _ISOLATE_OPENERS:
            open_isolates += 1
        elif char == POP_DIRECTIONAL_ISOLATE:
            if not open_isolates:
                continue
            open_isolates -= 1
        kept.append(char)
    return "".join(kept) + POP_DIRECTIONAL_ISOLATE * open_isolates


def plain(text: str) -> str:
    """``text`` as an isolate in plain text (not yet escaped for HTML or SVG)."""
    if not needs_isolate(text):
        return text
    return f"{FIRST_STRONG_ISOLATE}{_closed(text)}{POP_DIRECTIONAL_ISOLATE}"


def html(text: str) -> str:
    """``text`` escaped for HTML element content, as an isolate: inside ``<bdi>`` when it needs one."""
    if not needs_isolate(text):
        return escape(text)
    return f"<bdi>{escape(_closed(text))}</bdi>"
