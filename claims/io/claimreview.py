"""schema.org ``ClaimReview`` JSON-LD: one review per recorded verdict.

The document is ``{"@context": {"@vocab": "https://schema.org/"}, "@graph": [...]}``. The context is
inline so that any JSON-LD processor turns it into RDF without fetching anything. Each review:

* ``claimReviewed``: the claim's text as recorded when the verdict was recorded (after any
  correction made before it); ``reviewRating``: a ``Rating`` whose ``alternateName`` is the rating;
* ``author``: the reviewing source as an ``Organization`` (``url`` when registered);
  ``url``: the verdict's own URL when given; ``datePublished``: the day the verdict was recorded;
  ``identifier``: the verdict event's id in the log;
* ``itemReviewed``: a ``Claim`` whose ``author`` is the speaker (a ``Person``, ``affiliation`` its
  party) or the party (an ``Organization``) when no speaker is known; ``datePublished`` its said
  date; ``firstAppearance`` the source it was said in and ``appearance`` that source and every
  relay after it, as ``CreativeWork`` with ``url`` and ``datePublished`` where registered.

The builder takes export lines, each claim's in log order, follows the fields of the claims it is
told to want (``track`` for events before ``--since``, ``add`` for exported ones) and keeps one
small record per verdict; the reviews come out in the log order of their verdicts, and names and
URLs are looked up once at the end through ``registry``.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, TextIO

from claims.domain import events as ev
from claims.domain.claim import CORRECTABLE_FIELDS
from claims.io.prov import Registry

SCHEMA_CONTEXT = {"@vocab": "https://schema.org/"}


@dataclass(frozen=True, slots=True)
class _Review:
    position: int
    event_id: str
    recorded_at: str
    rating: str
    by: str
    url: str | None
    claim: str
    fields: tuple[tuple[str, Any], ...]


def _drop_none(node: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in node.items() if v is not None}


class ClaimReviewBuilder:
    """Collects one review per verdict on the wanted claims (all claims when ``wanted`` is None)."""

    def __init__(self, wanted: Collection[str] | None = None) -> None:
        self.wanted = wanted
        self._claims: dict[str, dict[str, Any]] = {}
        self._reviews: list[_Review] = []

    def track(self, line: dict[str, Any]) -> None:
        """Follow the fields of a wanted claim through an event that is not itself exported."""
        if not line["stream_id"].startswith("claim:"):
            return
        event = ev.from_stored(line["type"], line["schema_version"], line["payload"])
        claim = getattr(event, "claim", None)
        if self.wanted is not None and claim not in self.wanted:
            return
        if isinstance(event, ev.ClaimAsserted):
            self._claims[event.claim] = {
                "party": event.party,
                "said_on": event.said_on,
                "source": event.source,
                "text": event.text,
                "speaker": event.speaker,
                "quote": event.quote,
                "via": list(event.via),
            }
        elif isinstance(event, ev.ClaimCorrected) and event.claim in self._claims:
            changes = {k: v for k, v in event.changes.items() if k in CORRECTABLE_FIELDS}
            self._claims[event.claim] = {**self._claims[event.claim], **changes}

    def add(self, line: dict[str, Any]) -> None:
        """An exported event: a verdict becomes a review; other claim events update the claim."""
        if line["type"] != ev.VerdictRecorded.TYPE:
            self.track(line)
            return
        event = ev.from_stored(line["type"], line["schema_version"], line["payload"])
        assert isinstance(event, ev.VerdictRecorded)
        state = self._claims.get(event.claim)
        if state is None:
            return
        self._reviews.append(
            _Review(
                position=line["position"],
                event_id=line["event_id"],
                recorded_at=line["recorded_at"],
                rating=event.rating,
                by=event.by,
                url=event.url,
                claim=event.claim,
                fields=tuple(state.items()),
            )
        )

    @property
    def reviews(self) -> int:
        return len(self._reviews)

    def write(self, out: TextIO, registry: Registry) -> None:
        """Write the JSON-LD document, one review a line."""
        out.write('{"@context": ' + json.dumps(SCHEMA_CONTEXT) + ', "@graph": [')
        separator = "\n"
        for node in self.document(registry)["@graph"]:
            out.write(separator + json.dumps(node, ensure_ascii=False))
            separator = ",\n"
        out.write("\n]}\n")

    def document(self, registry: Registry) -> dict[str, Any]:
        """The JSON-LD document with every review collected, in the log order of the verdicts."""
        self._reviews.sort(key=lambda review: review.position)
        states = [dict(review.fields) for review in self._reviews]
        speakers = registry("speaker", {s["speaker"] for s in states if s.get("speaker")}) if states else {}
        parties = {s["party"] for s in states} | {row.get("party") for row in speakers.values() if row.get("party")}
        party_rows = registry("party", parties) if parties else {}
        source_ids = {r.by for r in self._reviews} | {s["source"] for s in states}
        source_ids |= {relay for s in states for relay in s.get("via") or ()}
        sources = registry("source", source_ids) if source_ids else {}

        def organization(party: str) -> dict[str, Any]:
            return {"@type": "Organization", "name": party_rows.get(party, {}).get("name", party)}

        def work(source: str) -> dict[str, Any]:
            row = sources.get(source, {})
            return _drop_none(
                {
                    "@type": "CreativeWork",
                    "name": row.get("name", source),
                    "url": row.get("url"),
                    "datePublished": row.get("published"),
                }
            )

        graph = []
        for review, state in zip(self._reviews, states, strict=True):
            if state.get("speaker"):
                row = speakers.get(state["speaker"], {})
                author = _drop_none(
                    {
                        "@type": "Person",
                        "name": row.get("name", state["speaker"]),
                        "jobTitle": row.get("role"),
                        "affiliation": organization(row.get("party") or state["party"]),
                    }
                )
            else:
                author = organization(state["party"])
            reviewer = sources.get(review.by, {})
            appearances = [state["source"], *(state.get("via") or ())]
            claim = _drop_none(
                {
                    "@type": "Claim",
                    "author": author,
                    "datePublished": state["said_on"],
                    "text": state.get("quote"),
                    "firstAppearance": work(state["source"]),
                    "appearance": [work(source) for source in appearances],
                }
            )
            graph.append(
                _drop_none(
                    {
                        "@type": "ClaimReview",
                        "identifier": review.event_id,
                        "url": review.url,
                        "datePublished": review.recorded_at[:10],
                        "claimReviewed": state["text"],
                        "author": _drop_none(
                            {
                                "@type": "Organization",
                                "name": reviewer.get("name", review.by),
                                "url": reviewer.get("url"),
                            }
                        ),
                        "reviewRating": {"@type": "Rating", "alternateName": review.rating},
                        "itemReviewed": claim,
                    }
                )
            )
        return {"@context": SCHEMA_CONTEXT, "@graph": graph}
