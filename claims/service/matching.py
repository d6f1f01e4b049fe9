"""Claim matching: which recorded claims say nearly the same thing as a piece of text.

Fact-checkers match a new statement against what they have already checked (Full Fact, Meedan
Check, ClaimBuster). This is the lexical kind, with RapidFuzz: a claim's score is the best of its
paraphrase and its quote against the text, after lower-casing and dropping punctuation.

The score is ``token_set_ratio`` (word order and repeated or extra words hardly matter, so
"No talks or real meeting took place" matches "No talks or real meeting took place between
Lavrov and Blinken"), damped when the two share fewer than three content words, because a
one-word query such as "Russia" is a subset of a hundred claims without repeating any of them;
an identical short text (a one-word quote) still scores 100 through the plain ratio.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from itertools import islice
from operator import itemgetter
from typing import Any

from rapidfuzz import fuzz, process, utils

DEFAULT_THRESHOLD = 70.0
REPEAT_THRESHOLD = 90.0
MIN_SHARED_WORDS = 3
# Words too common to count as shared content; the score itself still sees them.
_COMMON_WORDS = (
    "a an and are as at be been but by for from had has have he her his in into is it its of on or our "
    "said says she that the their them they this to was we were which who will with"
)
STOPWORDS = frozenset(_COMMON_WORDS.split())
# Claims scored at once (``similar``): RapidFuzz's loops run over a chunk's texts, and only a chunk is held.
CHUNK = 20_000
_RANK = itemgetter(0, 1)  # of (-score, tie-break, claim): the best first


def score(text: str, candidate: str | None) -> float:
    """How nearly ``candidate`` says what ``text`` says, from 0 to 100."""
    if not candidate:
        return 0.0
    left, right = utils.default_process(text), utils.default_process(candidate)
    if not left or not right:
        return 0.0
    shared = (set(left.split()) & set(right.split())) - STOPWORDS
    damping = min(1.0, len(shared) / MIN_SHARED_WORDS)
    return max(fuzz.ratio(left, right), fuzz.token_set_ratio(left, right) * damping)


def claim_score(text: str, claim: dict[str, Any]) -> float:
    """The better of the claim's paraphrase and its quote, rounded to one decimal."""
    return round(max(score(text, claim.get("text")), score(text, claim.get("quote"))), 1)


def similar(
    text: str, claims: Iterable[dict[str, Any]], *, limit: int = 10, threshold: float = DEFAULT_THRESHOLD
) -> list[dict[str, Any]]:
    """The claims scoring at least ``threshold``, best first, at most ``limit``; each is the claim
    with its ``score``. Ties go by each claim's ``order`` when the claims carry one (their place in
    narrative order, say), or else by the order the claims are given in.

    The claims are scored a chunk at a time and only the best ``limit`` so far are kept, so that
    what is held does not grow with the number of claims (``queries.standing_texts`` reads them
    as they are scored).
    """
    query = utils.default_process(text)
    if not query:
        return []
    best: list[tuple[float, Any, dict[str, Any]]] = []  # (-score, tie-break, claim), best first
    iterator = iter(claims)
    given = 0
    while chunk := list(islice(iterator, CHUNK)):
        for value, index, claim in _near(text, query, chunk, threshold):
            best.append((-value, claim.get("order", given + index), claim))
        best = heapq.nsmallest(limit, best, key=_RANK)
        given += len(chunk)
    return [{**claim, "score": -value} for value, _, claim in best]


def _near(
    text: str, query: str, chunk: list[dict[str, Any]], threshold: float
) -> list[tuple[float, int, dict[str, Any]]]:
    """(score, index, claim) of the claims of ``chunk`` that score at least ``threshold``.

    The damped score is never above the better of the plain and the token-set ratio, so those two,
    computed in RapidFuzz's compiled loops, first narrow the chunk down to the candidates worth scoring.
    """
    owners = [
        (index, value)
        for index, claim in enumerate(chunk)
        for value in (claim.get("text"), claim.get("quote"))
        if value
    ]
    choices = [utils.default_process(value) for _, value in owners]
    near: set[int] = set()
    for scorer in (fuzz.token_set_ratio, fuzz.ratio):
        for _, _, position in process.extract_iter(
            query, choices, scorer=scorer, processor=None, score_cutoff=threshold
        ):
            near.add(owners[position][0])
    scored = ((claim_score(text, chunk[index]), index) for index in sorted(near))
    return [(value, index, chunk[index]) for value, index in scored if value >= threshold]
