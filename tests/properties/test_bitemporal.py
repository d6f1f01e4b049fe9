"""Property tests of the two times (SPEC section 3) on random histories, on SQLite and PostgreSQL.

Each example records a random history through the Python API (each call its own transaction, so
every call gets its own ``recorded_at``): a few parties, topics and sources; claims said on full,
month-only, year-only dates and date-times, asserted out of said order, taking both stances on a
couple of propositions (sometimes one party both); then retractions, reaffirmations (dated before
and after retractions, and inside a partial said period, so before the said date's end),
corrections (text, quote, said_on, source, via) and verdicts, interleaved with the assertions.

The answers of ``narrative``, ``compare``, ``timeline``, ``list_claims`` and ``show`` for random
``as_of`` (None, full and partial dates, days between events) and ``known_at`` (None, an event's
recorded_at in several spellings, an instant before the first event, a bare date) must equal a
brute-force fold of the raw log written here, independently of the product: keep the events
recorded at or before ``known_at``; apply each claim's corrections in order; a claim stands as of
D when its said period has ended by D and the latest of its acts dated by D (ordered by the act
date's period end, then by its instant in UTC, a bare date before any time of its day, then by log
position; an act dated before the said date counts from the said date) is not a retraction.
Without ``as_of`` every act counts. Said dates of one period end are ordered the same way in
every answer.

A second property replays the log (``rebuild_projections``) and checks that every projection row
and every answer is identical to the incrementally maintained ones.

Every example gets a fresh database: a copy of an initialised SQLite file, or a PostgreSQL database
created from an initialised template, so examples never see each other's events.
"""

from __future__ import annotations

import calendar
import re
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

import claims
from claims.api import Tracker
from claims.domain.errors import NotFoundError
from claims.projections import projector
from claims.projections.projector import TABLES
from claims.projections.tables import checkpoints
from tests.conftest import BACKENDS, PG_ADMIN, _pg_admin, require_postgres

EXAMPLES = {"sqlite": 25, "postgresql": 10}
REBUILD_EXAMPLES = {"sqlite": 15, "postgresql": 6}

# The fields every claim answer carries (SPEC section 4, plus the product's responds_to and corrected).
CLAIM_KEYS = (
    "id",
    "party",
    "speaker",
    "topic",
    "said_on",
    "text",
    "quote",
    "source",
    "via",
    "proposition",
    "stance",
    "responds_to",
    "status",
    "corrected",
)
TIMELINE_KEYS = ("said_on", "kind", "party", "claim", "topic", "source", "position")


# ---------------------------------------------------------------------------------------------
# A fresh database per example
# ---------------------------------------------------------------------------------------------


class FreshDatabases:
    """Hands out empty, initialised databases quickly: copies of one initialised template."""

    def __init__(self, backend: str, workdir: Path) -> None:
        self.backend = backend
        self.workdir = workdir
        self.template = ""

    def start(self) -> None:
        if self.backend == "sqlite":
            path = self.workdir / "template.db"
            with claims.open_tracker(str(path), user="template") as tracker:
                tracker.init()
            self.template = str(path)
            return
        require_postgres()
        self.template = f"claims_tmpl_{uuid.uuid4().hex[:12]}"
        with _pg_admin() as admin:
            admin.execute(f'CREATE DATABASE "{self.template}"')
        with claims.open_tracker(self._pg_url(self.template), user="template") as tracker:
            tracker.init()

    def stop(self) -> None:
        if self.backend == "postgresql" and self.template:
            with _pg_admin() as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')

    @staticmethod
    def _pg_url(name: str) -> str:
        return PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"

    @contextmanager
    def fresh(self) -> Iterator[str]:
        if self.backend == "sqlite":
            path = self.workdir / f"{uuid.uuid4().hex[:12]}.db"
            for suffix in ("", "-wal", "-shm"):
                if Path(self.template + suffix).exists():
                    shutil.copyfile(self.template + suffix, str(path) + suffix)
            try:
                yield str(path)
            finally:
                for suffix in ("", "-wal", "-shm"):
                    with suppress(FileNotFoundError):
                        Path(str(path) + suffix).unlink()
            return
        name = f"claims_prop_{uuid.uuid4().hex[:12]}"
        with _pg_admin() as admin:
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        try:
            yield self._pg_url(name)
        finally:
            with _pg_admin() as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module", params=BACKENDS)
def databases(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FreshDatabases]:
    factory = FreshDatabases(str(request.param), tmp_path_factory.mktemp(f"bitemporal-{request.param}"))
    factory.start()
    try:
        yield factory
    finally:
        factory.stop()


# ---------------------------------------------------------------------------------------------
# Dates, written independently of claims.domain.dates
# ---------------------------------------------------------------------------------------------


def period_end(text: str) -> str:
    """The ISO date a said date's (or an --as-of date's) period ends on."""
    if re.fullmatch(r"\d{4}", text):
        return f"{text}-12-31"
    if re.fullmatch(r"\d{4}-\d{2}", text):
        year, month = int(text[:4]), int(text[5:])
        return f"{text}-{calendar.monthrange(year, month)[1]:02d}"
    return text[:10]  # a full date, or a date-time: the calendar date written in it


_WRITTEN_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?([Zz]|[+-]\d{2}:\d{2})"
)


def in_time(text: str) -> tuple[int, str]:
    """What orders the said dates of one period end: a bare year, month or day as written, before
    every date-time, and date-times by their instants in UTC (the offset subtracted here)."""
    m = _WRITTEN_TIME.fullmatch(text)
    if not m:
        return (0, text)
    year, month, day, hour, minute = (int(m[i]) for i in range(1, 6))
    local = datetime(year, month, day, hour, minute, int(m[6] or 0), int((m[7] or "0").ljust(6, "0")))
    offset = timedelta(0)
    if m[8] not in ("Z", "z"):
        sign = -1 if m[8][0] == "-" else 1
        offset = sign * timedelta(hours=int(m[8][1:3]), minutes=int(m[8][4:6]))
    return (1, (local - offset).strftime("%Y%m%d%H%M%S%f"))


def period_start(text: str) -> date:
    if re.fullmatch(r"\d{4}", text):
        return date(int(text), 1, 1)
    if re.fullmatch(r"\d{4}-\d{2}", text):
        return date(int(text[:4]), int(text[5:]), 1)
    return date.fromisoformat(text[:10])


def recorded_cutoff(known_at: str | None) -> str | None:
    """--known-at as a recorded_at string: RFC 3339 to UTC with microseconds, a bare date to its last instant."""
    if known_at is None:
        return None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", known_at):
        return f"{known_at}T23:59:59.999999Z"
    moment = datetime.fromisoformat(known_at.replace("Z", "+00:00"))
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def write_said(day: date, precision: str, clock: tuple[int, int, str, str, str] = (12, 0, "Z", "T", ":00")) -> str:
    """A said date as a person might write it: a date-time with any offset, ``T``, ``t`` or a space,
    seconds or none, a fraction or none, ``Z`` or ``z``: what orders such times of one day as
    written is not what orders them in time."""
    if precision == "year":
        return f"{day.year}"
    if precision == "month":
        return f"{day:%Y-%m}"
    if precision == "datetime":
        hour, minute, offset, separator, seconds = clock
        return f"{day.isoformat()}{separator}{hour:02d}:{minute:02d}{seconds}{offset}"
    return day.isoformat()


# ---------------------------------------------------------------------------------------------
# Random histories
# ---------------------------------------------------------------------------------------------

PARTY_POOL = ("north", "north-east", "south", "west")
TOPIC_POOL = ("topic-a", "topic-b", "topica")
SOURCE_POOL = ("wire", "paper", "tv", "post")
CLAIM_POOL = tuple(
    f"claim-{name}" for name in ("ash", "birch", "cedar", "elm", "fir", "hazel", "larch", "oak", "pine", "yew")
)
PROPOSITIONS = ("prop-met", "prop-guilty")

FIRST_SAID = date(2021, 1, 1)
LAST_SAID = date(2024, 12, 31)
LAST_ACT = date(2025, 12, 31)

precisions = st.sampled_from(("day", "day", "day", "month", "year", "datetime"))
clocks = st.tuples(
    st.integers(0, 23),
    st.integers(0, 59),
    st.sampled_from(("Z", "+05:30", "-08:00", "+00:00", "z", "+14:00")),
    st.sampled_from(("T", "T", " ", "t")),
    st.sampled_from((":00", "", ":30.5", ":00.000001")),
)
# A few anchor days make ties likely: equal said days, a month's last day against the month itself.
ANCHORS = (date(2022, 2, 24), date(2023, 3, 2), date(2023, 3, 31), date(2023, 12, 31))
said_days = st.one_of(st.sampled_from(ANCHORS), st.dates(min_value=FIRST_SAID, max_value=LAST_SAID))
said_dates = st.builds(write_said, said_days, precisions, clocks)


@dataclass(frozen=True)
class ClaimPlan:
    party: int
    topic: int
    said_on: str
    source: int
    via: int | None
    speaker: bool
    quote: bool
    proposition: tuple[str, str] | None
    responds_to: tuple[int, str] | None


@dataclass(frozen=True)
class ActPlan:
    kind: str  # retract | reaffirm
    claim: int
    offset: int  # days after the start of the claim's current said period
    precision: str
    source: int | None
    reason: bool
    on: str | None = None  # an explicit date instead of ``offset`` and ``precision``
    clock: tuple[int, int, str, str, str] = (12, 0, "Z", "T", ":00")  # for a date-time


@dataclass(frozen=True)
class CorrectionPlan:
    claim: int
    text: bool
    quote: bool
    said_on: str | None
    source: int | None
    via: int | None


@dataclass(frozen=True)
class VerdictPlan:
    claim: int
    rating: str


@dataclass(frozen=True)
class History:
    parties: tuple[str, ...]
    topics: tuple[str, ...]
    sources: tuple[str, ...]
    claim_ids: tuple[str, ...]
    steps: tuple[ClaimPlan | ActPlan | CorrectionPlan | VerdictPlan, ...]


claim_plans = st.builds(
    ClaimPlan,
    party=st.integers(0, 2),
    topic=st.integers(0, 1),
    said_on=said_dates,
    source=st.integers(0, 3),
    via=st.none() | st.integers(0, 3),
    speaker=st.booleans(),
    quote=st.booleans(),
    proposition=st.none() | st.tuples(st.sampled_from(PROPOSITIONS), st.sampled_from(("affirms", "denies"))),
    responds_to=st.none() | st.tuples(st.integers(0, 9), st.sampled_from(("contradicts", "supports"))),
)
act_plans = st.builds(
    ActPlan,
    kind=st.sampled_from(("retract", "retract", "reaffirm")),
    claim=st.integers(0, 9),
    offset=st.one_of(st.just(0), st.integers(0, 45), st.integers(0, 500)),
    precision=st.sampled_from(("day", "day", "day", "month", "year", "datetime")),
    source=st.none() | st.integers(0, 3),
    reason=st.booleans(),
    clock=clocks,
)
correction_plans = st.builds(
    CorrectionPlan,
    claim=st.integers(0, 9),
    text=st.booleans(),
    quote=st.booleans(),
    said_on=st.none() | said_dates,
    source=st.none() | st.integers(0, 3),
    via=st.none() | st.integers(0, 3),
)
verdict_plans = st.builds(VerdictPlan, claim=st.integers(0, 9), rating=st.sampled_from(("false", "misleading")))


@st.composite
def histories(draw: st.DrawFn) -> History:
    parties = tuple(draw(st.permutations(PARTY_POOL))[: draw(st.integers(2, 3))])
    topics = tuple(draw(st.permutations(TOPIC_POOL))[: draw(st.integers(1, 2))])
    sources = tuple(draw(st.permutations(SOURCE_POOL))[: draw(st.integers(2, 4))])
    claim_ids = tuple(draw(st.permutations(CLAIM_POOL)))
    asserted = draw(st.lists(claim_plans, min_size=3, max_size=10))
    later = draw(
        st.lists(
            st.one_of(act_plans, act_plans, correction_plans, verdict_plans),
            max_size=14,
        )
    )
    # Interleave: the first step is an assertion, the rest in a random order.
    tags = draw(st.permutations(["a"] * (len(asserted) - 1) + ["o"] * len(later)))
    steps: list[ClaimPlan | ActPlan | CorrectionPlan | VerdictPlan] = [asserted[0]]
    rest_a, rest_o = iter(asserted[1:]), iter(later)
    for tag in tags:
        steps.append(next(rest_a) if tag == "a" else next(rest_o))
    return History(parties, topics, sources, claim_ids, tuple(steps))


@dataclass
class Recorded:
    """What the test itself knows it asked for, only to keep its commands valid."""

    said_on: dict[str, str] = field(default_factory=dict)
    fields: dict[str, dict[str, Any]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)


def record_history(tracker: Tracker, history: History) -> Recorded:
    """Play ``history`` through the Python API, one call (one transaction) per step."""
    for party in history.parties:
        tracker.add_party(party, name=party.title(), kind="state")
        tracker.add_speaker(f"{party}-speaker", name=f"Speaker of {party}", party=party, role="Spokesperson")
    for topic in history.topics:
        tracker.add_topic(topic, title=topic.upper())
    for source in history.sources:
        tracker.add_source(source, name=source.title(), kind="newspaper")
    known = Recorded()
    counter = 0

    def src(index: int) -> str:
        return history.sources[index % len(history.sources)]

    for step in history.steps:
        counter += 1
        if isinstance(step, ClaimPlan):
            claim_id = history.claim_ids[len(known.order)]
            party = history.parties[step.party % len(history.parties)]
            responds = None
            if step.responds_to is not None and known.order:
                responds = (known.order[step.responds_to[0] % len(known.order)], step.responds_to[1])
            fields = {
                "text": f"{claim_id} as first recorded ({counter})",
                "quote": f"quoted {counter}" if step.quote else None,
                "source": src(step.source),
                "via": [src(step.via)] if step.via is not None else [],
            }
            outcome = tracker.add_claim(
                id=claim_id,
                party=party,
                topic=history.topics[step.topic % len(history.topics)],
                said_on=step.said_on,
                speaker=f"{party}-speaker" if step.speaker else None,
                proposition=step.proposition[0] if step.proposition else None,
                stance=step.proposition[1] if step.proposition else None,
                responds_to=responds[0] if responds else None,
                relation=responds[1] if responds else None,
                **fields,
            )
            assert outcome.recorded and outcome.id == claim_id
            known.order.append(claim_id)
            known.said_on[claim_id] = step.said_on
            known.fields[claim_id] = fields
            continue
        claim_id = known.order[step.claim % len(known.order)]
        if isinstance(step, ActPlan):
            day = min(period_start(known.said_on[claim_id]) + timedelta(days=step.offset), LAST_ACT)
            on = step.on or write_said(day, step.precision, step.clock)
            if step.kind == "retract":
                tracker.retract(
                    claim_id,
                    on=on,
                    source=src(step.source) if step.source is not None else None,
                    reason=f"withdrawn {counter}" if step.reason else None,
                )
            else:
                tracker.reaffirm(claim_id, on=on, source=src(step.source or 0))
        elif isinstance(step, CorrectionPlan):
            current = known.fields[claim_id]
            changes: dict[str, Any] = {}
            if step.text:
                changes["text"] = f"{claim_id} corrected ({counter})"
            if step.quote:
                changes["quote"] = f"corrected quote {counter}"
            if step.said_on is not None and step.said_on != known.said_on[claim_id]:
                changes["said_on"] = step.said_on
            if step.source is not None and src(step.source) != current["source"]:
                changes["source"] = src(step.source)
            if step.via is not None and [src(step.via)] != current["via"]:
                changes["via"] = [src(step.via)]
            if not changes:
                changes["text"] = f"{claim_id} corrected ({counter})"
            tracker.correct(claim_id, reason=f"our typo {counter}", **changes)
            current.update(changes)
            if "said_on" in changes:
                known.said_on[claim_id] = changes["said_on"]
        else:
            tracker.verdict(claim_id, rating=step.rating, by=src(0))
    return known


# ---------------------------------------------------------------------------------------------
# The brute-force fold
# ---------------------------------------------------------------------------------------------


@dataclass
class FoldedClaim:
    position: int
    fields: dict[str, Any]
    corrected: bool = False
    acts: list[dict[str, Any]] = field(default_factory=list)  # kind, on, on_end, position, source


class Oracle:
    """Answers computed from the raw log lines alone."""

    def __init__(self, lines: list[dict[str, Any]], known_at: str | None) -> None:
        cutoff = recorded_cutoff(known_at)
        self.claims: dict[str, FoldedClaim] = {}
        for line in lines:
            if cutoff is not None and line["recorded_at"] > cutoff:
                continue
            payload = line["payload"]
            kind = line["type"]
            if kind == "ClaimAsserted":
                fields = {
                    "id": payload["claim"],
                    "party": payload["party"],
                    "speaker": payload.get("speaker"),
                    "topic": payload["topic"],
                    "said_on": payload["said_on"],
                    "text": payload["text"],
                    "quote": payload.get("quote"),
                    "source": payload["source"],
                    "via": list(payload.get("via") or []),
                    "proposition": payload.get("proposition"),
                    "stance": payload.get("stance"),
                    "responds_to": (
                        {"claim": payload["responds_to"], "relation": payload["relation"]}
                        if payload.get("responds_to")
                        else None
                    ),
                }
                self.claims[payload["claim"]] = FoldedClaim(line["position"], fields)
            elif kind == "ClaimCorrected":
                folded = self.claims[payload["claim"]]
                for name, value in payload["changes"].items():
                    folded.fields[name] = list(value) if name == "via" else value
                folded.corrected = True
            elif kind in ("ClaimRetracted", "ClaimReaffirmed"):
                self.claims[payload["claim"]].acts.append(
                    {
                        "kind": "retracted" if kind == "ClaimRetracted" else "reaffirmed",
                        "on": payload["on"],
                        "on_end": period_end(payload["on"]),
                        "position": line["position"],
                        "source": payload.get("source"),
                    }
                )

    @staticmethod
    def said_by(claim: FoldedClaim, day: str | None) -> bool:
        return day is None or period_end(claim.fields["said_on"]) <= day

    def stands(self, claim: FoldedClaim, day: str | None) -> bool:
        if not self.said_by(claim, day):
            return False
        acts = [a for a in claim.acts if day is None or a["on_end"] <= day]
        if not acts:
            return True
        latest = max(acts, key=lambda a: (a["on_end"], in_time(a["on"]), a["position"]))
        return latest["kind"] != "retracted"

    def view(self, claim: FoldedClaim, day: str | None) -> dict[str, Any]:
        return {
            **claim.fields,
            "status": "standing" if self.stands(claim, day) else "retracted",
            "corrected": claim.corrected,
        }

    @staticmethod
    def _order(claim: FoldedClaim) -> tuple[str, str, tuple[int, str], int]:
        said_on = claim.fields["said_on"]
        return (claim.fields["topic"], period_end(said_on), in_time(said_on), claim.position)

    def _sorted(self, keep: Any) -> list[FoldedClaim]:
        return sorted((c for c in self.claims.values() if keep(c)), key=self._order)

    def narrative(self, party: str, day: str | None, topic: str | None = None) -> list[dict[str, Any]]:
        chosen = self._sorted(
            lambda c: (
                c.fields["party"] == party and (topic is None or c.fields["topic"] == topic) and self.stands(c, day)
            ),
        )
        stances: dict[str, set[str]] = {}
        for claim in chosen:
            if claim.fields["proposition"]:
                stances.setdefault(claim.fields["proposition"], set()).add(claim.fields["stance"])
        return [
            {
                **self.view(c, day),
                "self_contradiction": bool(c.fields["proposition"]) and len(stances[c.fields["proposition"]]) == 2,
            }
            for c in chosen
        ]

    def compare(self, parties: list[str], day: str | None, topic: str | None = None) -> dict[str, Any]:
        chosen = self._sorted(
            lambda c: (
                c.fields["party"] in parties and (topic is None or c.fields["topic"] == topic) and self.stands(c, day)
            ),
        )
        contradictions = []
        for proposition in sorted({c.fields["proposition"] for c in chosen if c.fields["proposition"]}):
            affirms = [c for c in chosen if c.fields["proposition"] == proposition and c.fields["stance"] == "affirms"]
            denies = [c for c in chosen if c.fields["proposition"] == proposition and c.fields["stance"] == "denies"]
            if any(a.fields["party"] != d.fields["party"] for a in affirms for d in denies):
                contradictions.append(
                    {
                        "proposition": proposition,
                        "affirms": [c.fields["id"] for c in affirms],
                        "denies": [c.fields["id"] for c in denies],
                    }
                )
        return {
            "parties": list(parties),
            "claims": [self.view(c, day) for c in chosen],
            "contradictions": contradictions,
        }

    def list_claims(
        self, day: str | None, party: str | None = None, topic: str | None = None, status: str | None = None
    ) -> list[dict[str, Any]]:
        """Claims said by ``day`` (the rows whose status is well defined), with their status."""
        chosen = self._sorted(
            lambda c: (
                self.said_by(c, day)
                and (party is None or c.fields["party"] == party)
                and (topic is None or c.fields["topic"] == topic)
            ),
        )
        views = [self.view(c, day) for c in chosen]
        return [v for v in views if status is None or v["status"] == status]

    def timeline(
        self, topic: str | None = None, party: str | None = None, day: str | None = None
    ) -> list[dict[str, Any]]:
        """Every assertion and act, of what had been said and done by ``day``: an act dated before
        its claim counts from the claim's said date, so not before the claim is said."""
        entries = []
        for claim in self.claims.values():
            f = claim.fields
            if (topic is not None and f["topic"] != topic) or (party is not None and f["party"] != party):
                continue
            if not self.said_by(claim, day):
                continue
            common = {"party": f["party"], "claim": f["id"], "topic": f["topic"]}
            said = (period_end(f["said_on"]), in_time(f["said_on"]))
            entries.append(
                {"said_on": f["said_on"], "kind": "asserted", "source": f["source"], "position": claim.position}
                | common
                | {"key": (*said, claim.position, ())}
            )
            for act in claim.acts:
                if day is not None and act["on_end"] > day:
                    continue
                own = (period_end(act["on"]), in_time(act["on"]))
                # No earlier than its own assertion, which it may precede as written (a day inside a
                # said month, a said date corrected to after it): then right after it, in date order.
                key = (*said, claim.position, (*own, act["position"])) if own < said else (*own, act["position"], ())
                entries.append(
                    {"said_on": act["on"], "kind": act["kind"], "source": act["source"], "position": act["position"]}
                    | common
                    | {"key": key}
                )
        # A partial date counts from the end of its period, as in ``list`` and ``narrative``.
        entries.sort(key=lambda e: e["key"])
        return [{k: value for k, value in e.items() if k != "key"} for e in entries]


def pick(item: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    missing = [k for k in keys if k not in item]
    assert not missing, f"answer lacks {missing}: {item}"
    return {k: item[k] for k in keys}


def claims_of(items: list[dict[str, Any]], keys: tuple[str, ...] = CLAIM_KEYS) -> list[dict[str, Any]]:
    return [pick(item, keys) for item in items]


# ---------------------------------------------------------------------------------------------
# Drawing the two times of a question
# ---------------------------------------------------------------------------------------------


def as_of_choices(lines: list[dict[str, Any]]) -> st.SearchStrategy[str | None]:
    days = sorted({period_end(line["said_at"]) for line in lines if line["said_at"]})
    near = sorted({(date.fromisoformat(d) + timedelta(days=shift)).isoformat() for d in days for shift in (-1, 1)})
    partial = sorted({d[:7] for d in days} | {d[:4] for d in days})
    anywhere = st.dates(min_value=date(2020, 12, 1), max_value=date(2026, 1, 31)).map(date.isoformat)
    return st.one_of(
        st.none(),
        st.sampled_from(days),
        st.sampled_from(near),
        st.sampled_from(partial),
        anywhere,
    )


def respell(stamp: str, how: str) -> str:
    """Write one recorded_at instant as --known-at in another, equivalent spelling."""
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    if how == "offset":
        return moment.astimezone(timezone(timedelta(hours=5, minutes=30))).isoformat()
    if how == "utc-offset":
        return stamp.replace("Z", "+00:00")
    if how == "just-before":
        return (moment - timedelta(microseconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return stamp


def known_at_choices(lines: list[dict[str, Any]]) -> st.SearchStrategy[str | None]:
    stamps = [line["recorded_at"] for line in lines]
    first = datetime.fromisoformat(stamps[0].replace("Z", "+00:00"))
    return st.one_of(
        st.none(),
        st.builds(respell, st.sampled_from(stamps), st.sampled_from(("as-is", "as-is", "offset", "utc-offset"))),
        st.builds(respell, st.sampled_from(stamps[1:] or stamps), st.just("just-before")),
        st.just(respell(stamps[0], "just-before")),
        st.sampled_from(((first - timedelta(days=1)).date().isoformat(), stamps[-1][:10])),
    )


@dataclass(frozen=True)
class Filters:
    """The narrower questions asked besides the whole ones: one topic, one party, two parties compared."""

    topic: str
    party: str
    pair: list[str]


def draw_filters(data: st.DataObject, history: History) -> Filters:
    return Filters(
        topic=data.draw(st.sampled_from(history.topics), label="topic filter"),
        party=data.draw(st.sampled_from(history.parties), label="party filter"),
        pair=data.draw(st.permutations(history.parties), label="compared")[:2],
    )


def answers_equal_fold(
    tracker: Tracker,
    history: History,
    lines: list[dict[str, Any]],
    as_of: str | None,
    known_at: str | None,
    filters: Filters,
) -> None:
    topic, party = filters.topic, filters.party
    oracle = Oracle(lines, known_at)
    day = period_end(as_of) if as_of is not None else None
    times = {"as_of": as_of, "known_at": known_at}
    for party in history.parties:
        assert claims_of(tracker.narrative(party, **times), (*CLAIM_KEYS, "self_contradiction")) == oracle.narrative(
            party, day
        ), f"narrative {party}"
    assert claims_of(
        tracker.narrative(party, topic=topic, **times), (*CLAIM_KEYS, "self_contradiction")
    ) == oracle.narrative(party, day, topic)

    for parties in (
        list(history.parties),
        filters.pair,
    ):
        got = tracker.compare(parties, **times)
        want = oracle.compare(parties, day)
        assert got["parties"] == want["parties"]
        assert claims_of(got["claims"]) == want["claims"], f"compare {parties} claims"
        assert [pick(c, ("proposition", "affirms", "denies")) for c in got["contradictions"]] == want[
            "contradictions"
        ], f"compare {parties} contradictions"
    got = tracker.compare(list(history.parties), topic=topic, **times)
    assert claims_of(got["claims"]) == oracle.compare(list(history.parties), day, topic)["claims"]

    said = {c["id"] for c in oracle.list_claims(day)}
    recorded = set(oracle.claims)
    for filters in (
        {},
        {"party": party},
        {"topic": topic},
        {"status": "standing"},
        {"status": "retracted"},
    ):
        got_list = tracker.list_claims(**filters, **times)
        assert {c["id"] for c in got_list} <= recorded, f"list {filters}: claims not recorded at known_at"
        # A claim not yet said as of the date is left out of list answers (it is not yet a claim).
        assert claims_of([c for c in got_list if c["id"] in said]) == oracle.list_claims(day, **filters), (
            f"list {filters}"
        )
        unsaid = [c["id"] for c in got_list if c["id"] not in said]
        assert not unsaid, f"list {filters}: claims not yet said as of {as_of} are listed: {unsaid}"

    for claim_id in sorted(history.claim_ids[:3]):
        if claim_id in oracle.claims:
            view = tracker.show(claim_id, **times)["claim"]
            if claim_id in said:
                assert pick(view, CLAIM_KEYS) == oracle.view(oracle.claims[claim_id], day), f"show {claim_id}"
            else:
                assert view["status"] == "unsaid", f"show {claim_id}: {view['status']} before it was said"
                fields = pick(view, CLAIM_KEYS)
                del fields["status"]
                expected = oracle.view(oracle.claims[claim_id], day)
                del expected["status"]
                assert fields == expected, f"show {claim_id}"
        else:
            with pytest.raises(NotFoundError):
                tracker.show(claim_id, **times)

    assert claims_of(tracker.timeline(known_at=known_at), TIMELINE_KEYS) == oracle.timeline()
    assert claims_of(tracker.timeline(topic=topic, known_at=known_at), TIMELINE_KEYS) == oracle.timeline(topic=topic)
    assert claims_of(tracker.timeline(party=party, known_at=known_at), TIMELINE_KEYS) == oracle.timeline(party=party)
    assert claims_of(tracker.timeline(**times), TIMELINE_KEYS) == oracle.timeline(day=day), f"timeline {times}"


# ---------------------------------------------------------------------------------------------
# Hand-made histories for the corners random ones reach only rarely
# ---------------------------------------------------------------------------------------------


def said(said_on: str, party: int = 0, proposition: tuple[str, str] | None = None, topic: int = 0) -> ClaimPlan:
    return ClaimPlan(party, topic, said_on, 0, None, True, False, proposition, None)


def retract(claim: int, on: str) -> ActPlan:
    return ActPlan("retract", claim, 0, "day", 1, True, on)


def reaffirm(claim: int, on: str) -> ActPlan:
    return ActPlan("reaffirm", claim, 0, "day", 1, False, on)


def fix_said_on(claim: int, said_on: str) -> CorrectionPlan:
    return CorrectionPlan(claim, False, False, said_on, None, None)


def fix_text(claim: int) -> CorrectionPlan:
    return CorrectionPlan(claim, True, False, None, None, None)


AFFIRMS, DENIES = ("prop-met", "affirms"), ("prop-met", "denies")

EDGE_STEPS: dict[str, tuple[ClaimPlan | ActPlan | CorrectionPlan | VerdictPlan, ...]] = {
    # Acts dated inside a partial said period, so before the period's end: they count from its end.
    "acts-inside-a-partial-said-period": (
        said("2023"),
        said("2023-06-15", party=1),
        retract(0, "2023-03-01"),
        reaffirm(0, "2023-06-01"),
        retract(1, "2023-06"),
        said("2023-03", party=1),
        retract(2, "2023-03-02"),
        reaffirm(2, "2023-03-20"),
    ),
    # A date-time counts by the calendar date written in it, whatever its offset.
    "date-times-count-by-the-day-written": (
        said("2023-03-02T23:30:00-08:00", proposition=AFFIRMS),
        said("2023-03-02T01:00:00+05:30", party=1, proposition=DENIES),
        said("2023-03-01T20:00:00Z", party=1),
        said("2023-03-02", party=0),
        retract(2, "2023-03-02"),
    ),
    # Acts on one day apply in log order.
    "acts-on-one-day-in-log-order": (
        said("2023-03-02"),
        said("2023-03-02", party=1),
        retract(0, "2023-03-05"),
        reaffirm(0, "2023-03-05"),
        reaffirm(1, "2023-03-05"),
        retract(1, "2023-03-05"),
        reaffirm(1, "2023-03-04"),  # dated before the retraction, recorded after it
        reaffirm(1, "2023-03-09"),
    ),
    # Acts at times of one day apply in the order of their times, whatever the log's.
    "acts-at-times-of-one-day-in-their-order": (
        said("2023-03-01"),
        said("2023-03-01", party=1),
        retract(0, "2023-03-10T18:00:00Z"),
        reaffirm(0, "2023-03-10T09:00:00Z"),  # recorded after, dated before: the retraction stands
        reaffirm(1, "2023-03-10T18:00:00Z"),
        retract(1, "2023-03-10T09:00:00Z"),  # recorded after, dated before: the reaffirmation stands
        retract(1, "2023-03-10"),  # a bare date: before the day's times
    ),
    # Times of one day whose order as written is not their order in time: another offset, a space
    # for the T, a fraction of a second; for claims as for acts.
    "times-of-one-day-written-out-of-time-order": (
        said("2023-03-02T10:00+05:30"),  # 04:30 UTC
        said("2023-03-02T06:00Z", party=1),
        said("2023-03-02 07:00:00.5z"),
        said("2023-03-02T07:00:00Z", party=1),
        retract(0, "2023-03-10T10:00+05:30"),  # 04:30 UTC: before the reaffirmation
        reaffirm(0, "2023-03-10T06:00Z"),  # written before, happened after: the claim stands
        reaffirm(1, "2023-03-10 05:00Z"),
        retract(1, "2023-03-10T06:00:00+00:00"),  # after the reaffirmation: retracted
        retract(2, "2023-03-10T09:00:00.5Z"),
        reaffirm(2, "2023-03-10T09:00Z"),  # half a second before the retraction: retracted
    ),
    # Corrected said dates move the claim's standing, known-at after the correction only.
    "said-on-corrected-around-its-acts": (
        said("2023-03-02"),
        said("2023-03", party=1),
        retract(0, "2023-03-05"),
        fix_said_on(0, "2023-04"),
        fix_said_on(1, "2022"),
        retract(1, "2023-01-10"),
        fix_text(1),
        fix_said_on(1, "2022-06-30T22:00:00-05:00"),
    ),
    # A retraction on the said day: it never stood.
    "retracted-on-the-day-said": (
        said("2023-03-02", proposition=AFFIRMS),
        retract(0, "2023-03-02"),
        said("2023-03-02", party=1, proposition=DENIES),
    ),
    # One party on both sides is a self-contradiction; another party's stance makes a contradiction.
    "self-contradiction-then-contradiction": (
        said("2023-03-02", proposition=AFFIRMS),
        said("2023-03-01", proposition=DENIES),
        said("2022", party=1),
        said("2023-06-01", party=1, proposition=AFFIRMS),
        retract(1, "2023-07-01"),
        said("2023-06", party=1, proposition=DENIES, topic=1),
    ),
}


def edge_history(steps: tuple[ClaimPlan | ActPlan | CorrectionPlan | VerdictPlan, ...]) -> History:
    return History(("north", "south"), ("topic-a", "topic-b"), ("wire", "paper"), CLAIM_POOL, steps)


def every_time(lines: list[dict[str, Any]]) -> tuple[list[str | None], list[str | None]]:
    """The as-of dates on and just before every day something happens, and the known-at instants
    of every lifecycle event and before anything was recorded (plus None for both)."""
    days = sorted({period_end(line["said_at"]) for line in lines if line["said_at"]})
    eves = {(date.fromisoformat(d) - timedelta(days=1)).isoformat() for d in days}
    as_ofs: list[str | None] = [None, days[0][:4], *sorted(set(days) | eves)]
    claim_lines = [line for line in lines if line["stream_id"].startswith("claim:")]
    known_ats: list[str | None] = [None, respell(claim_lines[0]["recorded_at"], "just-before")]
    known_ats += [line["recorded_at"] for line in claim_lines if line["type"] != "ClaimAsserted"]
    return as_ofs, known_ats


@pytest.mark.parametrize("name", sorted(EDGE_STEPS))
def test_hand_made_histories_equal_the_fold_at_every_time(databases: FreshDatabases, name: str) -> None:
    history = edge_history(EDGE_STEPS[name])
    with databases.fresh() as url, claims.open_tracker(url, user="prop") as tracker:
        record_history(tracker, history)
        lines = list(tracker.log())
        as_ofs, known_ats = every_time(lines)
        for known_at in known_ats:
            oracle = Oracle(lines, known_at)
            assert claims_of(tracker.timeline(known_at=known_at), TIMELINE_KEYS) == oracle.timeline()
            for as_of in as_ofs:
                day = period_end(as_of) if as_of is not None else None
                times = {"as_of": as_of, "known_at": known_at}
                where = f"as_of={as_of} known_at={known_at}"
                assert claims_of(tracker.timeline(**times), TIMELINE_KEYS) == oracle.timeline(day=day), where
                for party in history.parties:
                    got = claims_of(tracker.narrative(party, **times), (*CLAIM_KEYS, "self_contradiction"))
                    assert got == oracle.narrative(party, day), f"narrative {party} {where}"
                got_compare = tracker.compare(list(history.parties), **times)
                want = oracle.compare(list(history.parties), day)
                assert claims_of(got_compare["claims"]) == want["claims"], where
                assert got_compare["contradictions"] == want["contradictions"], where
                said_by = {c["id"] for c in oracle.list_claims(day)}
                listed = [c for c in tracker.list_claims(**times) if c["id"] in said_by]
                assert claims_of(listed) == oracle.list_claims(day), f"list {where}"


# ---------------------------------------------------------------------------------------------
# The properties
# ---------------------------------------------------------------------------------------------


def _settings(count: int) -> settings:
    return settings(
        max_examples=count,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def test_every_answer_equals_a_brute_force_fold_of_the_log(databases: FreshDatabases) -> None:
    @_settings(EXAMPLES[databases.backend])
    @given(history=histories(), data=st.data())
    def check(history: History, data: st.DataObject) -> None:
        with databases.fresh() as url, claims.open_tracker(url, user="prop") as tracker:
            record_history(tracker, history)
            lines = list(tracker.log())
            assert [line["position"] for line in lines] == list(range(1, len(lines) + 1))
            assert [line["recorded_at"] for line in lines] == sorted(line["recorded_at"] for line in lines)
            as_of_of, known_at_of = as_of_choices(lines), known_at_choices(lines)
            for _ in range(4):
                as_of = data.draw(as_of_of, label="as_of")
                known_at = data.draw(known_at_of, label="known_at")
                answers_equal_fold(tracker, history, lines, as_of, known_at, draw_filters(data, history))

    check()


def _table_rows(tracker: Tracker) -> dict[str, list[tuple[Any, ...]]]:
    rows: dict[str, list[tuple[Any, ...]]] = {}
    with tracker.engine.connect() as connection:
        for table in (*TABLES, checkpoints):
            key = list(table.primary_key.columns)
            rows[table.name] = [tuple(r) for r in connection.execute(select(table).order_by(*key))]
    return rows


def _all_answers(tracker: Tracker, history: History, times: list[tuple[str | None, str | None]]) -> list[Any]:
    answers: list[Any] = []
    for as_of, known_at in times:
        for party in history.parties:
            answers.append(tracker.narrative(party, as_of=as_of, known_at=known_at))
        answers.append(tracker.compare(list(history.parties), as_of=as_of, known_at=known_at))
        answers.append(tracker.list_claims(as_of=as_of, known_at=known_at))
        answers.append(tracker.timeline(known_at=known_at))
    return answers


def _rebuild_equals_incremental(tracker: Tracker, history: History, data: st.DataObject) -> None:
    record_history(tracker, history)
    lines = list(tracker.log())
    as_of_of, known_at_of = as_of_choices(lines), known_at_choices(lines)
    times = [(None, None)] + [
        (data.draw(as_of_of, label="as_of"), data.draw(known_at_of, label="known_at")) for _ in range(5)
    ]
    tables_before = _table_rows(tracker)
    answers_before = _all_answers(tracker, history, times)
    status_before = tracker.projections_status()
    assert status_before["checkpoint"] == status_before["head"] == len(lines)

    assert tracker.rebuild_projections() == len(lines)

    assert _table_rows(tracker) == tables_before
    assert _all_answers(tracker, history, times) == answers_before
    assert tracker.projections_status() == status_before
    assert list(tracker.log()) == lines  # a rebuild never touches the log


def test_rebuilt_projections_equal_the_incremental_ones(databases: FreshDatabases) -> None:
    @_settings(REBUILD_EXAMPLES[databases.backend])
    @given(history=histories(), data=st.data())
    def check(history: History, data: st.DataObject) -> None:
        with databases.fresh() as url, claims.open_tracker(url, user="prop") as tracker:
            _rebuild_equals_incremental(tracker, history, data)

    check()


def test_projections_rebuilt_in_small_batches_equal_the_incremental_ones(databases: FreshDatabases) -> None:
    """A generated history is a few dozen events, which a rebuild folds in one batch of
    REBUILD_BATCH: here batches of one to seven events make it carry claims from batch to batch
    (``projector.Carryover``) or, beyond CARRY_LIMIT of them, read them back from the rows it wrote."""

    @_settings(REBUILD_EXAMPLES[databases.backend])
    @given(
        history=histories(),
        data=st.data(),
        batch=st.integers(min_value=1, max_value=7),
        carried=st.sampled_from([0, 1, 2, 3, projector.CARRY_LIMIT]),
    )
    def check(history: History, data: st.DataObject, batch: int, carried: int) -> None:
        with (
            patch.object(projector, "REBUILD_BATCH", batch),
            patch.object(projector, "CARRY_LIMIT", carried),
            databases.fresh() as url,
            claims.open_tracker(url, user="prop") as tracker,
        ):
            _rebuild_equals_incremental(tracker, history, data)

    check()


def test_order_does_not_depend_on_the_postgresql_collation(tmp_path: Path) -> None:
    require_postgres()
    import psycopg

    name = f"claims_coll_{uuid.uuid4().hex[:12]}"
    try:
        with _pg_admin() as admin:
            # ICU with punctuation ignorable: ordered as glibc's en_US.UTF-8 orders text.
            admin.execute(
                f"CREATE DATABASE \"{name}\" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-u-ka-shifted' "
                "LOCALE 'C.UTF-8'"
            )
    except psycopg.Error as error:
        pytest.skip(f"this server cannot make an ICU-collated database: {error}")
    answers = {}
    try:
        for backend, url in (("sqlite", str(tmp_path / "order.db")), ("postgresql", FreshDatabases._pg_url(name))):
            with claims.open_tracker(url, user="prop") as tracker:
                tracker.init()
                tracker.add_party("north", name="North", kind="state")
                tracker.add_source("wire", name="Wire", kind="newspaper")
                for topic in ("topica", "topic-b"):
                    tracker.add_topic(topic, title=topic)
                    tracker.add_claim(
                        id=f"claim-{topic}", party="north", topic=topic, said_on="2023-03-02", source="wire", text=topic
                    )
                answers[backend] = [c["topic"] for c in tracker.narrative("north")]
    finally:
        with _pg_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    assert answers["sqlite"] == sorted(answers["sqlite"]) == ["topic-b", "topica"]
    assert answers["postgresql"] == answers["sqlite"]
