"""A deterministic generator of claims documents of any size, for benchmarks and stress tests.

``generate(claims=N)`` returns a claims/v1 document (a dict) with P parties, T topics, two speakers
per party, sources with relays, propositions taken with both stances, said dates spread over years
(some given only as a month or a year), and later reaffirmations, retractions and corrections.
The same arguments always give the same document.

    python -m bench.generate --claims 100000 --out bench/work/100k.json
"""

from __future__ import annotations

import argparse
import json
import random
from datetime import date, timedelta
from typing import Any

WORDS = (
    "summit",
    "talks",
    "delegation",
    "statement",
    "sanctions",
    "pipeline",
    "agreement",
    "withdrawal",
    "ceasefire",
    "envoy",
    "minister",
    "ministry",
    "spokesperson",
    "meeting",
    "declaration",
    "support",
    "arms",
    "supplies",
    "dialogue",
    "neutrality",
    "presidency",
    "agenda",
    "farce",
    "investigation",
    "explosion",
    "sabotage",
    "poverty",
    "climate",
    "finance",
    "governance",
)


def generate(
    claims: int,
    *,
    parties: int = 12,
    topics: int = 40,
    sources: int = 30,
    seed: int = 2023,
    claim_prefix: str = "claim-",
) -> dict[str, Any]:
    """A document with ``claims`` assertions and about 15% as many lifecycle events. Its claims
    are ``claim_prefix`` and a number: a document with another prefix adds claims of its own to a
    database holding this one (its registries, the same, are already recorded)."""
    rng = random.Random(seed)
    party_ids = [f"party-{i}" for i in range(parties)]
    speaker_ids = {p: [f"{p}-speaker-{j}" for j in range(2)] for p in party_ids}
    source_ids = [f"source-{i}" for i in range(sources)]
    topic_ids = [f"topic-{i}" for i in range(topics)]
    document: dict[str, Any] = {
        "format": "claims/v1",
        "parties": [{"id": p, "name": f"Party {p[6:]}", "kind": "state"} for p in party_ids],
        "speakers": [
            {"id": s, "name": f"Speaker {s}", "party": p, "role": "Spokesperson"}
            for p in party_ids
            for s in speaker_ids[p]
        ],
        "sources": [
            {"id": s, "name": f"Source {s[7:]}", "kind": "news-agency", "url": f"https://example.org/{s}"}
            for s in source_ids
        ],
        "topics": [{"id": t, "title": f"Topic {t[6:]}"} for t in topic_ids],
        "claims": [],
        "events": [],
    }
    start = date(2019, 1, 1)
    said_days: list[date] = []
    for index in range(claims):
        party = rng.choice(party_ids)
        day = start + timedelta(days=rng.randrange(0, 5 * 365))
        said_days.append(day)
        precision = rng.random()
        said_on = day.isoformat() if precision > 0.1 else (day.isoformat()[:7] if precision > 0.02 else str(day.year))
        claim: dict[str, Any] = {
            "id": f"{claim_prefix}{index}",
            "party": party,
            "speaker": rng.choice(speaker_ids[party]),
            "topic": rng.choice(topic_ids),
            "said_on": said_on,
            "source": rng.choice(source_ids),
            "text": " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 20))).capitalize() + ".",
        }
        if rng.random() < 0.3:
            claim["via"] = rng.sample(source_ids, rng.randint(1, 2))
        if rng.random() < 0.25:
            claim["quote"] = " ".join(rng.choice(WORDS) for _ in range(6))
        if rng.random() < 0.4:
            claim["proposition"] = f"proposition-{rng.randrange(0, max(1, claims // 50))}"
            claim["stance"] = rng.choice(("affirms", "denies"))
        document["claims"].append(claim)
    for index in rng.sample(range(claims), k=min(claims, int(claims * 0.15))):
        claim_id, day = f"{claim_prefix}{index}", said_days[index] + timedelta(days=rng.randint(1, 400))
        roll = rng.random()
        if roll < 0.45:
            document["events"].append(
                {"retract": claim_id, "on": day.isoformat(), "source": rng.choice(source_ids), "reason": "withdrawn"}
            )
        elif roll < 0.75:
            document["events"].append({"reaffirm": claim_id, "on": day.isoformat(), "source": rng.choice(source_ids)})
        else:
            document["events"].append({"correct": claim_id, "text": f"Corrected text {index}.", "reason": "typo"})
    return document


def event_count(document: dict[str, Any]) -> int:
    return sum(
        len(document.get(section, [])) for section in ("parties", "speakers", "sources", "topics", "claims", "events")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=1000)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    document = generate(args.claims)
    with open(args.out, "w", encoding="utf-8") as out:
        json.dump(document, out)
    print(f"{args.out}: {event_count(document)} events")


if __name__ == "__main__":
    main()
