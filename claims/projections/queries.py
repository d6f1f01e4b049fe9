"""Read models: narratives, comparisons, timelines and claim views, answered from the projections.

Every question takes the two times of SPEC section 3: ``as_of`` (an ISO date on the world's axis;
None means now, with every recorded retraction counted) and ``known_at`` (a log position on the
database's axis; None means everything recorded). Each is one indexed query over interval columns.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    case,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    true,
    union_all,
)

from claims.projections.tables import claim_acts, claim_periods, claim_versions, verdicts
from claims.projections.tables import topics as topics_table
from claims.store.hashing import load_payload

v, p = claim_versions, claim_periods


@dataclass(frozen=True, slots=True)
class Times:
    """The two times of a question: said-time date and recorded-time position."""

    as_of: str | None = None
    known_at: int | None = None


def _recorded(table: Any, known_at: int | None) -> ColumnElement[bool]:
    if known_at is None:
        return table.c.rec_to.is_(None)
    return and_(table.c.rec_from <= known_at, or_(table.c.rec_to.is_(None), table.c.rec_to > known_at))


def _stands(times: Times, *, probed: bool = False) -> ColumnElement[bool]:
    """EXISTS a standing period of the outer claim at both times.

    ``probed``: for a filter on the claims of a few topics (``list_claims`` or ``narrative`` of a
    group), asked as a probe of the periods' index for each candidate claim. Otherwise PostgreSQL
    turns the test into a join that hashes every standing period of the log, once for each group
    that ``claims list --status`` reads: at 1M events ``list --status retracted`` took 12.7 s that
    way and 8.7 s probed, ``list --status standing --as-of`` 17.0 and 11.2 s. The OFFSET keeps
    PostgreSQL from making the subquery a join; SQLite probes either way. Elsewhere the planner
    keeps its choice: a whole ``narrative`` and the standing texts of the near-repeat check took
    the same time probed (the profiling record's fourteenth pass), and a question about many
    claims at once may be better answered by the join."""
    if times.as_of is None:
        valid = p.c.valid_to.is_(None)
    else:
        valid = and_(p.c.valid_from <= times.as_of, or_(p.c.valid_to.is_(None), p.c.valid_to > times.as_of))
    conditions = (p.c.claim_id == v.c.claim_id, _recorded(p, times.known_at), valid)
    if probed:
        return select(p.c.claim_id).where(*conditions).offset(0).exists()
    return exists().where(*conditions)


# Rows are read by position (a Row's named access costs ~0.7 µs a field); every query here
# selects claim_versions' columns first, in table order, so these positions hold for all of them.
_AT = {column.name: index for index, column in enumerate(v.columns)}
_NARRATIVE_ORDER = itemgetter(_AT["topic"], _AT["said_end"], _AT["said_key"], _AT["asserted_at"])
_VIEW_FIELDS = (
    "claim_id",
    "rec_from",
    "asserted_at",
    "party",
    "speaker",
    "topic",
    "said_on",
    "said_end",
    "text",
    "quote",
    "source",
    "via",
    "proposition",
    "stance",
    "responds_to",
    "relation",
)
_VIEW_COLUMNS = itemgetter(*(_AT[name] for name in _VIEW_FIELDS))


def claim_view(row: Sequence[Any], standing: bool, as_of: str | None = None) -> dict[str, Any]:
    """A claim as every output shows it (SPEC section 4's keys and a few more), from a row that
    begins with claim_versions' columns.

    Its status is ``standing`` or ``retracted`` at the query's times, and ``unsaid`` when the
    question is asked as of a date before the claim was said.
    """
    ident, rec_from, asserted_at, party, speaker, topic, said_on, said_end, text, quote, source, via, *rest = (
        _VIEW_COLUMNS(row)
    )
    proposition, stance, responds_to, relation = rest
    if standing:
        status = "standing"
    elif as_of is not None and said_end > as_of:
        status = "unsaid"
    else:
        status = "retracted"
    return {
        "id": ident,
        "party": party,
        "speaker": speaker,
        "topic": topic,
        "said_on": said_on,
        "text": text,
        "quote": quote,
        "source": source,
        "via": [] if via == "[]" else load_payload(via),
        "proposition": proposition,
        "stance": stance,
        "responds_to": {"claim": responds_to, "relation": relation} if responds_to else None,
        "status": status,
        "corrected": rec_from != asserted_at,
    }


def _claims_query(times: Times) -> Select[Any]:
    return select(v, _stands(times).label("standing")).where(_recorded(v, times.known_at))


_STANDING = len(v.columns)  # the place of the ``standing`` column that ``_claims_query`` adds


def bytewise(column: Any, connection: Connection) -> Any:
    """``column`` ordered by code point on every backend: PostgreSQL otherwise sorts by the
    database's collation (``topic-b`` after ``topica`` under en_US), SQLite always bytewise."""
    return column.collate("C") if connection.dialect.name == "postgresql" else column


def _ordered(query: Select[Any], connection: Connection) -> Select[Any]:
    return query.order_by(
        bytewise(v.c.topic, connection), v.c.said_end, bytewise(v.c.said_key, connection), v.c.asserted_at
    )


def narrative(
    connection: Connection,
    parties: Sequence[str],
    times: Times,
    topic: str | None = None,
    *,
    topics: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """The standing claims of ``parties`` at both times, by topic in said order; of one ``topic``,
    or of any of ``topics`` (a group of ``topic_groups``)."""
    # Standing is the filter, so it is not selected again per row; and the rows are put in
    # narrative order here: Python's string order is the bytewise order of ``_ordered``, and
    # sorting the answer costs less than the database's temporary B-tree.
    standing = _stands(times, probed=topics is not None)  # a group of topics: see ``_stands``
    query = select(v).where(_recorded(v, times.known_at), v.c.party.in_(list(parties)), standing)
    if topic is not None:
        query = query.where(v.c.topic == topic)
    if topics is not None:
        query = query.where(v.c.topic.in_(list(topics)))
    rows = connection.execute(query).all()
    rows.sort(key=_NARRATIVE_ORDER)
    return [claim_view(row, True) for row in rows]


def list_claims(
    connection: Connection,
    times: Times,
    *,
    party: str | None = None,
    topic: str | None = None,
    topics: Sequence[str] | None = None,
    parties: Sequence[str] | None = None,
    status: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Every claim recorded at ``known_at``, with its status at ``as_of``; optionally filtered (by
    one ``party`` or any of ``parties``, by one ``topic`` or any of ``topics``; an empty sequence
    matches nothing), and with ``limit`` the first that many only. A ``status`` is tested claim
    by claim (``_stands(probed=True)``): made for the claims of a group of topics, as ``claims
    list`` reads them."""
    query = _listed(times, party=party, topic=topic, topics=topics, parties=parties, status=status)
    query = _ordered(query, connection)
    if limit is not None:
        query = query.limit(limit)
    return [claim_view(row, row[_STANDING], times.as_of) for row in connection.execute(query)]


def count_claims(
    connection: Connection,
    times: Times,
    *,
    topic: str | None = None,
    parties: Sequence[str] | None = None,
) -> int:
    """How many claims ``list_claims`` would give for the same times and filters."""
    listed = _listed(times, topic=topic, parties=parties).subquery()
    return int(connection.execute(select(func.count()).select_from(listed)).scalar_one())


def _listed(
    times: Times,
    *,
    party: str | None = None,
    topic: str | None = None,
    topics: Sequence[str] | None = None,
    parties: Sequence[str] | None = None,
    status: str | None = None,
) -> Select[Any]:
    """The query of ``list_claims``, unordered; ``count_claims`` counts its rows, so that the
    number a refused report gives is the number of claims it would have shown. With a ``status``,
    the claims' standing is that status, and is not tested a second time for the column."""
    if status in ("standing", "retracted"):
        standing = _stands(times, probed=True)
        query = select(v, (true() if status == "standing" else false()).label("standing")).where(
            _recorded(v, times.known_at), standing if status == "standing" else ~standing
        )
    else:
        query = _claims_query(times)
    if party is not None:
        query = query.where(v.c.party == party)
    if parties is not None:
        query = query.where(v.c.party.in_(list(parties)))
    if topic is not None:
        query = query.where(v.c.topic == topic)
    if topics is not None:
        query = query.where(v.c.topic.in_(list(topics)))
    if times.as_of is not None:
        query = query.where(v.c.said_end <= times.as_of)  # not yet said: not yet a claim in the world
    return query


# ``topic_groups``: about as many claims as a group's read holds (1 KB or so each, as claim views),
# and at most as many topics as one statement names.
LIST_GROUP_CLAIMS = 10_000
LIST_GROUP_TOPICS = 500


def topic_groups(connection: Connection, parties: Sequence[str] | None = None) -> list[list[str]]:
    """Every recorded topic in code point order (the order answers put topics in), in groups of
    consecutive topics that each hold about LIST_GROUP_CLAIMS claims (of ``parties``), a topic of
    more being a group of its own: ``list_claims`` (or ``narrative``) of one group after another,
    each in a read of its own, is ``list_claims`` of all, holding one group's claims at a time.
    The sizes are today's; a claim's topic never changes, so a group held as of an earlier time
    holds fewer."""
    counted = select(v.c.topic, func.count()).where(v.c.rec_to.is_(None))
    if parties is not None:
        counted = counted.where(v.c.party.in_(list(parties)))
    sizes: dict[str, int] = {topic: count for topic, count in connection.execute(counted.group_by(v.c.topic))}
    groups: list[list[str]] = []
    group: list[str] = []
    held = 0
    for topic in sorted(connection.execute(select(topics_table.c.id)).scalars()):
        size = sizes.get(topic, 0)
        if group and (held + size > LIST_GROUP_CLAIMS or len(group) == LIST_GROUP_TOPICS):
            groups.append(group)
            group, held = [], 0
        group.append(topic)
        held += size
    return [*groups, group] if group else groups


def claim(connection: Connection, claim_id: str, times: Times) -> dict[str, Any] | None:
    """One claim as it stands at both times, or None when it was not recorded by ``known_at``."""
    row = connection.execute(_claims_query(times).where(v.c.claim_id == claim_id)).first()
    return None if row is None else claim_view(row, row[_STANDING], times.as_of)


def contradictions(claims: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Propositions on which the given claims take both stances, held by at least two parties."""
    sides = Sides()
    sides.note(claims)
    return sides.contradictions()


class Sides:
    """The sides claims take on each proposition, noted a page of claims at a time: what
    ``contradictions`` finds among them. Only each claim's id and party are kept, so a comparison
    can print its claims as it reads them and name its contradictions after them."""

    def __init__(self) -> None:
        # One pass into plain lists per proposition, and a proposition is contradicted unless a
        # single party holds both of its sides: a third of the time of sets of parties compared
        # pair by pair (3,416 claims of a 1M-event log: 0.9 ms against 2.8 ms).
        self._sides: dict[str, tuple[list[tuple[str, str]], list[tuple[str, str]]]] = {}

    def note(self, claims: Iterable[dict[str, Any]]) -> None:
        """Note the side each of ``claims`` takes, if it takes one, after those noted before."""
        sides = self._sides
        for item in claims:
            proposition = item["proposition"]
            if proposition:
                pair = sides.get(proposition)
                if pair is None:
                    pair = sides[proposition] = ([], [])
                stance = item["stance"]
                if stance == "affirms":
                    pair[0].append((item["id"], item["party"]))
                elif stance == "denies":
                    pair[1].append((item["id"], item["party"]))

    def contradictions(self) -> list[dict[str, Any]]:
        """Among the claims noted so far, by proposition; each side's claims in the order noted."""
        found = []
        for proposition in sorted(self._sides):
            affirming, denying = self._sides[proposition]
            if not affirming or not denying:
                continue
            parties = {party for _, party in affirming}
            parties.update(party for _, party in denying)
            if len(parties) > 1:
                found.append(
                    {
                        "proposition": proposition,
                        "affirms": [ident for ident, _ in affirming],
                        "denies": [ident for ident, _ in denying],
                    }
                )
        return found


def self_contradictions(claims: Iterable[dict[str, Any]]) -> dict[str, set[str]]:
    """For each party, the propositions it both affirms and denies among ``claims``."""
    stances: dict[tuple[str, str], set[str]] = defaultdict(set)
    for item in claims:
        if item["proposition"]:
            stances[(item["party"], item["proposition"])].add(item["stance"])
    found: dict[str, set[str]] = defaultdict(set)
    for (party, proposition), held in stances.items():
        if len(held) == 2:
            found[party].add(proposition)
    return dict(found)


def compare(connection: Connection, parties: Sequence[str], times: Times, topic: str | None = None) -> dict[str, Any]:
    """Competing narratives side by side, with the contradictions between the parties."""
    claims = narrative(connection, parties, times, topic)
    return {"parties": list(parties), "claims": claims, "contradictions": contradictions(claims)}


class Comparison:
    """``compare``'s answer as it is written out: its claims (``narrative`` of the parties, one page
    of them after another) as they are read, then its contradictions, known once every claim has
    been taken. What is held meanwhile is a page, and each claim's side on its proposition."""

    def __init__(self, parties: Sequence[str], pages: Iterable[list[dict[str, Any]]]) -> None:
        self.parties = list(parties)
        self._sides = Sides()
        self._taken = False
        self.claims: Iterator[dict[str, Any]] = self._taking(pages)
        """The claims, to be taken once: a page is read when the one before it has been taken."""

    def _taking(self, pages: Iterable[list[dict[str, Any]]]) -> Iterator[dict[str, Any]]:
        for page in pages:
            self._sides.note(page)
            yield from page
        self._taken = True

    def contradictions(self) -> list[dict[str, Any]]:
        """``contradictions`` of all the claims; refused while some are still to be taken, as a
        part of them would give a part of the answer."""
        if not self._taken:
            raise RuntimeError("a comparison's contradictions are known once all its claims have been taken")
        return self._sides.contradictions()


# A timeline entry as ``timeline_rows`` holds it: said date, kind, party, claim, topic, source (none
# for an act recorded without one) and log position.
TimelineRow = tuple[str, str, str, str, str, str | None, int]


def timeline_rows(
    connection: Connection,
    times: Times,
    *,
    topic: str | None = None,
    party: str | None = None,
    batch: int = 10_000,
) -> list[TimelineRow]:
    """Every assertion, reaffirmation and retraction recorded at ``known_at`` and dated by ``as_of``
    (a partial date counting from the end of its period), in said-time order.

    Each is a plain tuple, for ``timeline_entry`` to shape: a tuple holds a third of what the
    entry's mapping does, so an answer can be read whole, in one short transaction, and shaped as
    it is written. The rows are fetched ``batch`` at a time (on PostgreSQL, from a server-side
    cursor), so that the driver never holds all of them beside the tuples."""
    a = claim_acts
    # Entries sort by (said_end, said_key, place) and then, for acts sharing their claim's place,
    # by their own date (``own``: on_end, always ten characters, then on_key) and position; an
    # assertion's ``own`` is empty, first of its group.
    assertions = select(
        v.c.said_end.label("said_end"),
        v.c.said_key.label("said_key"),
        v.c.asserted_at.label("place"),
        literal("").label("own"),
        v.c.said_on.label("said_on"),
        v.c.asserted_at.label("position"),
        v.c.claim_id,
        v.c.party,
        v.c.topic,
        v.c.source.label("source"),
        literal("asserted").label("kind"),
    ).where(_recorded(v, times.known_at))
    # An act sorts no earlier than its own claim's assertion, whose date it may precede as written
    # while not in the world: a bare date on the day of a said date-time, a day inside a said month,
    # a said date corrected to after it. Such an act comes right after the assertion, in its own
    # date order, as ``standing_periods`` applies it; it keeps its own date to show.
    before_its_claim = or_(
        a.c.on_end < v.c.said_end,
        and_(a.c.on_end == v.c.said_end, bytewise(a.c.on_key, connection) < bytewise(v.c.said_key, connection)),
    )
    acts = (
        select(
            case((before_its_claim, v.c.said_end), else_=a.c.on_end).label("said_end"),
            case((before_its_claim, v.c.said_key), else_=a.c.on_key).label("said_key"),
            case((before_its_claim, v.c.asserted_at), else_=a.c.position).label("place"),
            (a.c.on_end + a.c.on_key).label("own"),
            a.c.on_date.label("said_on"),
            a.c.position,
            v.c.claim_id,
            v.c.party,
            v.c.topic,
            a.c.source.label("source"),
            a.c.kind.label("kind"),
        )
        .join(v, v.c.claim_id == a.c.claim_id)
        .where(_recorded(v, times.known_at))
    )
    if times.known_at is not None:
        acts = acts.where(a.c.position <= times.known_at)
    if times.as_of is not None:  # only what had surely been said or done by then
        assertions = assertions.where(v.c.said_end <= times.as_of)
        # An act counts from its claim's said date when dated before it (``standing_periods``):
        # not listed while its claim is not yet said.
        acts = acts.where(a.c.on_end <= times.as_of, v.c.said_end <= times.as_of)
    for column, value in ((v.c.topic, topic), (v.c.party, party)):
        if value is not None:
            assertions = assertions.where(column == value)
            acts = acts.where(column == value)
    combined = union_all(assertions, acts).subquery().c
    # The order of ``list`` and ``narrative``: a partial date counts from the end of its period
    # (``2023-03`` after ``2023-03-02``), then the date's key (a time's instant), then the log
    # position (unique). The sort keys are sorted on but not fetched: columns less to decode for
    # every entry.
    ordered = select(
        combined.said_on,
        combined.position,
        combined.claim_id,
        combined.party,
        combined.topic,
        combined.source,
        combined.kind,
    ).order_by(
        bytewise(combined.said_end, connection),
        bytewise(combined.said_key, connection),
        combined.place,
        bytewise(combined.own, connection),
        combined.position,
    )
    rows = connection.execute(ordered, execution_options={"yield_per": batch})
    # Unpacked by position (a Row's named access costs ~0.7 µs a field: 4 s of a 1M-event timeline),
    # and each distinct date, kind, party, topic and source held once rather than once per entry
    # (the driver makes a new string for every row).
    held: dict[Any, Any] = {}
    once = held.setdefault
    return [
        (
            once(said_on, said_on),
            once(kind, kind),
            once(party, party),
            claim_id,
            once(topic, topic),
            once(source, source),
            position,
        )
        for said_on, position, claim_id, party, topic, source, kind in rows
    ]


def timeline_entry(row: TimelineRow) -> dict[str, Any]:
    """One of ``timeline_rows`` as the timeline shows it."""
    said_on, kind, party, claim_id, topic, source, position = row
    return {
        "said_on": said_on,
        "kind": kind,
        "party": party,
        "claim": claim_id,
        "topic": topic,
        "source": source,
        "position": position,
    }


def claim_verdicts(connection: Connection, claim_id: str, known_at: int | None = None) -> list[dict[str, Any]]:
    query = select(verdicts).where(verdicts.c.claim_id == claim_id).order_by(verdicts.c.position)
    if known_at is not None:
        query = query.where(verdicts.c.position <= known_at)
    return [
        {"rating": r.rating, "by": r.by_source, "url": r.url, "position": r.position} for r in connection.execute(query)
    ]


def corrections_between(
    connection: Connection, party: str, after: int, until: int, known_at: int | None = None
) -> list[dict[str, Any]]:
    """Claims of ``party`` whose recorded fields were corrected at log positions ``(after, until]``,
    each with its status as recorded at ``known_at`` (a retraction recorded later does not count)."""
    query = (
        select(v, _stands(Times(known_at=known_at)).label("standing"))  # every version, superseded ones too
        .where(v.c.party == party, v.c.correction.is_not(None), v.c.rec_from > after, v.c.rec_from <= until)
        .order_by(v.c.rec_from)
    )
    correction, rec_from = _AT["correction"], _AT["rec_from"]
    return [
        {**claim_view(row, row[_STANDING]), "correction": row[correction], "corrected_at_position": row[rec_from]}
        for row in connection.execute(query)
    ]


def standing_texts(
    connection: Connection, party: str | None = None, topic: str | None = None, *, batch: int = 5000
) -> Iterator[dict[str, Any]]:
    """Id, text and quote of every standing claim (of ``party``, on ``topic``): the lean candidates
    claim matching scores, without building whole claim views. Each carries ``order``, its place
    in narrative order (topic, said end, said key, assertion: unique), for the matches to be put
    in; the claims themselves come in no order, fetched ``batch`` at a time, so that matching
    against every standing claim of a 1M-event log holds a batch of them rather than all (950 MB)."""
    order = (v.c.topic, v.c.said_end, v.c.said_key, v.c.asserted_at)
    query = select(v.c.claim_id, v.c.text, v.c.quote, *order).where(_recorded(v, None), _stands(Times()))
    if party is not None:
        query = query.where(v.c.party == party)
    if topic is not None:
        query = query.where(v.c.topic == topic)
    for ident, text, quote, *place in connection.execute(query, execution_options={"yield_per": batch}):
        yield {"id": ident, "text": text, "quote": quote, "order": tuple(place)}
