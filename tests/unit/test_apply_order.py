"""An import applies each claim after the claim it responds to when both are in the document.

Entries already in that order (the usual case) are applied as they come, without being sorted;
a claim that responds to one asserted after it is moved behind it, however long the chain.
"""

from __future__ import annotations

from typing import Any

from claims.io.document import read_document
from claims.service.import_plan import in_apply_order


def claim(ident: str, responds_to: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": ident,
        "party": "russia",
        "topic": "g20",
        "said_on": "2023-03-02",
        "source": "tass",
        "text": f"Claim {ident}.",
    }
    if responds_to:
        item["responds_to"] = {"claim": responds_to, "relation": "contradicts"}
    return item


def order(*claims: dict[str, Any], events: list[dict[str, Any]] | None = None) -> list[str]:
    document = read_document({"format": "claims/v1", "claims": list(claims), "events": events or []})
    assert document.problems == []
    entries = in_apply_order(document.entries, set(document.claim_ids()))
    return [e.path for e in entries]


def test_entries_in_order_are_applied_as_they_come() -> None:
    document = read_document({"format": "claims/v1", "claims": [claim("a"), claim("b", "a"), claim("c", "outside")]})
    assert in_apply_order(document.entries, set(document.claim_ids())) is document.entries


def test_a_claim_responding_to_a_later_one_goes_after_it() -> None:
    assert order(claim("a", "b"), claim("b")) == ["claims[1]", "claims[0]"]


def test_a_chain_of_forward_responses_is_applied_from_its_end() -> None:
    retract = {"retract": "a", "on": "2023-03-05"}
    assert order(claim("a", "b"), claim("b", "c"), claim("c"), claim("d", "a"), events=[retract]) == [
        "claims[2]",
        "claims[1]",
        "claims[0]",
        "claims[3]",
        "events[0]",
    ]


def test_a_response_to_a_claim_outside_the_document_keeps_its_place() -> None:
    assert order(claim("a", "recorded-before"), claim("b")) == ["claims[0]", "claims[1]"]


def test_a_long_chain_written_newest_first_is_applied_oldest_first() -> None:
    """Each claim responds to the next one down: the last claim of the document is applied first."""
    count = 15_000
    claims = [claim(f"c{i}", f"c{i + 1}" if i + 1 < count else None) for i in range(count)]
    assert order(*claims) == [f"claims[{i}]" for i in reversed(range(count))]
