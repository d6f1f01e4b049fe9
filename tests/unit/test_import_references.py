"""The importer looks up, once, every id a document refers to.

``import_plan.wanted_ids`` collects them a field at a time over the assertions (the fast path of a
large import); ``import_plan.references`` names each one by its path when one does not resolve. The
two must agree exactly, whatever shape the references have: a reference missed by the first would
never be looked up, and one it made up would be looked up for nothing.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from claims.io.document import read_document
from claims.service.import_plan import by_purpose, declared_ids, references, wanted_ids


def assertion(**fields: Any) -> dict[str, Any]:
    return {"party": "russia", "topic": "g20", "said_on": "2023-03-02", "source": "tass", "text": "x", **fields}


# Every field that refers to another record, with slugs, non-slugs and values of the wrong shape.
DOCUMENT = {
    "format": "claims/v1",
    "speakers": [{"id": "lavrov", "name": "Sergey Lavrov", "party": "russia-federation"}],
    "claims": [
        assertion(
            id="c1", speaker="zakharova", via=["reuters", "afp"], responds_to={"claim": "c0", "relation": "supports"}
        ),
        assertion(
            id="c2", party="Not A Slug", topic=["g20"], source={"id": "tass"}, via=["ap", ["nested"], "Bad Relay"]
        ),
        assertion(
            id="c3", party="", speaker="\ud800", via="single-relay", responds_to={"claim": 7, "relation": "contradicts"}
        ),
        assertion(id="c4", topic="g20-2024", source="ria"),
        assertion(text="An id derived from the content."),
        assertion(id=["not", "an", "id"]),
    ],
    "events": [
        {"retract": "c1", "on": "2023-03-10", "source": "kremlin"},
        {"reaffirm": "c9", "on": "2023-03-11", "source": "izvestia"},
        {"verdict": "c2", "rating": "false", "by": "fact-checker"},
        {"correct": "c4", "speaker": "peskov", "source": "interfax", "via": ["rt", "Bad"], "reason": "r"},
        {"correct": "c3", "text": "y", "reason": "r"},
    ],
}


def by_kind_from_paths() -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for kind, ident, _, _ in references(read_document(DOCUMENT).entries):
        found[kind].add(ident)
    return found


def test_the_ids_looked_up_are_exactly_the_references_named_by_path() -> None:
    document = read_document(DOCUMENT)
    commands = by_purpose(document)
    declared = declared_ids(commands)
    assert declared["claim"] == set(document.claim_ids())
    wanted = wanted_ids(commands, declared)
    named = by_kind_from_paths()
    assert {kind: ids for kind, ids in wanted.items() if ids} == named
    assert named == {
        "party": {"russia", "russia-federation"},
        "topic": {"g20", "g20-2024"},
        "source": {"tass", "reuters", "afp", "ap", "single-relay", "ria", "kremlin", "izvestia", "fact-checker"}
        | {"interfax", "rt"},
        "speaker": {"zakharova", "peskov"},
        "claim": {"c0", "c1", "c9", "c2", "c4", "c3", "7"},  # an integer id is read as text
    }


def test_each_unresolved_reference_is_named_by_its_path() -> None:
    paths = {(path, where, ident) for _, ident, path, where in references(read_document(DOCUMENT).entries)}
    assert ("claims[0]", "via[1]", "afp") in paths
    assert ("claims[0]", "responds_to", "c0") in paths
    assert ("claims[1]", "via[0]", "ap") in paths
    assert ("events[3]", "via[0]", "rt") in paths
    assert ("speakers[0]", "party", "russia-federation") in paths
