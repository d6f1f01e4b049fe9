"""Checkpoints, proofs and exports of the log (SPEC sections 6 and 7).

A checkpoint ``{"size", "root", "recorded_at"}`` commits to the first ``size`` events with the
root of an RFC 6962 Merkle tree of their hashes; the same log always gives the same checkpoint.
Inclusion proofs show one event is under a checkpoint; consistency proofs show a later checkpoint
extends an earlier one, so truncation and a rewritten, re-hashed history are caught by anyone
holding an old checkpoint. A checkpoint held to the log must also state the recorded time of the
last event it covers: nothing else commits to its ``recorded_at``.

Exports stream the log in batches (``eventlog.read``). A selection (``--party``, ``--topic``,
``--since``) is decided from the log itself: a claim belongs to a party and a topic from its
assertion on, so one pass in log order knows every claim event's membership (the ids of the
selected claims are the only state). A filtered JSONL export carries an inclusion proof per line
against the checkpoint of the whole log written into its header (see ``claims.io.trail``); the
proofs are read off the levels of the tree, built once from the event hashes (64 bytes an event).
PROV-JSON and ClaimReview are single documents, built in memory proportional to what they hold;
their parties, speakers, sources and topics are looked up in the projections at the end.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TextIO

from sqlalchemy import Connection, select

from claims.domain import events as ev
from claims.domain import merkle
from claims.domain.errors import IntegrityError, NotFoundError, ValidationError
from claims.io.progress import PROGRESS_EVERY, Progress, counted
from claims.io.trail import describe_checkpoint as describe
from claims.io.trail import filtered_line, recorded_at_mismatch, trail_header, write_csv, write_jsonl
from claims.projections import lookups
from claims.store import eventlog
from claims.store.eventlog import StoredEvent
from claims.store.hashing import LINE_FIELDS, load_payload
from claims.store.schema import events

EXPORT_FORMATS = ("jsonl", "csv", "prov-json", "claimreview")
BATCH = 5000


# Leaves are read and hashed a page at a time. A page holds 2**PAGE_HEIGHT leaves and every page
# but the last starts at a multiple of that, so a full page is a perfect subtree of the tree.
PAGE_HEIGHT = 12
PAGE_LEAVES = 1 << PAGE_HEIGHT


def leaf_pages(connection: Connection, size: int) -> Iterator[bytes]:
    """The Merkle leaf hashes of the first ``size`` events, in log order, packed 32 bytes a leaf,
    PAGE_LEAVES a page; IntegrityError if positions 1..size are not all there."""
    count = 0
    for hashes in eventlog.hash_pages(connection, size, batch=PAGE_LEAVES):
        count += len(hashes)
        yield merkle.event_leaves(hashes)
    if count != size:
        raise IntegrityError(f"the log has a gap: {count} events below position {size}")


def checkpoint(connection: Connection, size: int | None = None) -> dict[str, Any]:
    """The checkpoint of the first ``size`` events (default: the whole log), in memory that does
    not grow with the log: each full page of leaves goes into the accumulator as one subtree."""
    head = eventlog.head(connection)
    size = head.position if size is None else size
    if not 0 <= size <= head.position:
        raise ValidationError(f"the log has {head.position} events; no checkpoint of size {size}")
    accumulator = merkle.MerkleAccumulator()
    for leaves in leaf_pages(connection, size):
        if len(leaves) == PAGE_LEAVES * merkle.HASH_SIZE:
            accumulator.append_subtree(merkle.packed_root(leaves), PAGE_HEIGHT)
            continue
        accumulator.extend(merkle.unpacked(leaves))
    return {"size": size, "root": merkle.to_hex(accumulator.root()), "recorded_at": recorded_at(connection, size)}


def recorded_at(connection: Connection, size: int) -> str | None:
    """The recorded time of the last of the first ``size`` events: a checkpoint's ``recorded_at``
    (None for size 0, which covers no event)."""
    if not size:
        return None
    last = select(events.c.recorded_at).where(events.c.position <= size).order_by(events.c.position.desc()).limit(1)
    return connection.execute(last).scalar() or None


def check_checkpoint(given: Any) -> dict[str, Any]:
    """A checkpoint read from a file, checked for shape; its root in lowercase, as every root is
    written and compared (a root copied in capitals is the same root)."""
    problem = merkle.checkpoint_problem(given)
    if problem is not None:
        raise ValidationError(f"not a checkpoint: {problem}")
    return merkle.with_lowercase_root(given)


def _check_recorded_at(connection: Connection, given: dict[str, Any], name: str | None) -> None:
    """Raise IntegrityError unless ``given`` states the recorded time of the last event it covers.

    The root commits to the events' hashes, and each hash to its event's recorded time, but
    nothing commits to the checkpoint's own ``recorded_at``: a checkpoint whose time was changed
    would otherwise pass as the log's, misdating what its holder can show the log held and when.
    A checkpoint that states no time (saved as ``{"size", "root"}``, as the report's footer once
    advised) claims none, and is held to its root alone.
    """
    size, stated = given["size"], given.get("recorded_at")
    if stated is None:
        return
    actual = recorded_at(connection, size)
    if actual != stated:
        raise IntegrityError(
            f"the log does not extend {describe(given, name)}: {recorded_at_mismatch(size, actual, given)}"
        )


def _tree(connection: Connection, against: dict[str, Any] | None, name: str | None = None) -> TreeLevels:
    """The tree a proof is made in: the checkpoint's, or the whole log's."""
    head = eventlog.head(connection).position
    size = head if against is None else against["size"]
    if against is not None and size > head:
        raise IntegrityError(
            f"the log does not extend {describe(against, name)}: it has only {head} events (truncated)"
        )
    levels = tree_levels(connection, size)
    if against is not None and merkle.to_hex(levels.root()) != against["root"]:
        raise IntegrityError(
            f"the log does not extend {describe(against, name)}: its first {size} events hash to root "
            f"{merkle.to_hex(levels.root())[:16]}… (history was rewritten)"
        )
    if against is not None:
        _check_recorded_at(connection, against, name)
    return levels


def inclusion(
    connection: Connection, position: int, against: dict[str, Any] | None = None, name: str | None = None
) -> dict[str, Any]:
    """An inclusion proof of the event at ``position`` in the whole log or a checkpoint's tree."""
    levels = _tree(connection, against, name)
    if not 1 <= position <= levels.size:
        raise ValidationError(f"position {position} is not in a tree of {levels.size} events")
    return {
        "position": position,
        "leaf_index": position - 1,
        "tree_size": levels.size,
        "leaf_hash": merkle.to_hex(levels.leaf(position - 1)),
        "audit_path": [merkle.to_hex(h) for h in levels.path(position - 1)],
        "root": merkle.to_hex(levels.root()),
    }


def consistency(
    connection: Connection, old_size: int, against: dict[str, Any] | None = None, name: str | None = None
) -> dict[str, Any]:
    """A consistency proof from the first ``old_size`` events to the whole log (or the checkpoint)."""
    levels = _tree(connection, against, name)
    leaves, root = levels.leaves(), levels.root()
    if not leaves:
        empty = "the log is empty" if against is None else f"{describe(against, name)} covers no events"
        raise ValidationError(f"no consistency proof from size {old_size}: {empty}")
    if not 1 <= old_size <= len(leaves):
        events = "1 event" if len(leaves) == 1 else f"{len(leaves)} events"
        raise ValidationError(
            f"no consistency proof from size {old_size}: the tree has {events} "
            f"(old size must be between 1 and {len(leaves)})"
        )
    return {
        "old_size": old_size,
        "new_size": len(leaves),
        "old_root": merkle.to_hex(merkle.root(leaves[:old_size])),
        "new_root": merkle.to_hex(root),
        "proof": [merkle.to_hex(h) for h in merkle.consistency_proof(leaves, old_size)],
    }


def extends(connection: Connection, given: dict[str, Any], name: str | None = None) -> None:
    """Raise IntegrityError, naming the checkpoint and its size, unless the log still extends ``given``."""
    head = eventlog.head(connection).position
    size = given["size"]
    if size > head:
        raise IntegrityError(f"the log does not extend {describe(given, name)}: it has only {head} events (truncated)")
    ours = checkpoint(connection, size)
    if ours["root"] != given["root"]:
        raise IntegrityError(
            f"the log does not extend {describe(given, name)}: its first {size} events hash to root "
            f"{ours['root'][:16]}… (history was rewritten)"
        )
    _check_recorded_at(connection, given, name)


# --------------------------------------------------------------------------------------------------
# The levels of the tree
# --------------------------------------------------------------------------------------------------


class TreeLevels:
    """Every level of the RFC 6962 tree over some leaves, packed 32 bytes a node.

    Level 0 holds the leaves; each level above pairs the nodes of the one below and carries an
    unpaired last node up unchanged, which is RFC 6962's split at the largest power of two. All
    levels together take under 64 bytes a leaf, and once they are built any leaf's audit path is
    read off them in O(log n) with no hashing: one sibling per level, none where the node was
    carried up.
    """

    __slots__ = ("_levels",)

    def __init__(self, leaves: bytes | bytearray) -> None:
        size = merkle.HASH_SIZE
        if len(leaves) % size:
            raise ValueError(f"packed leaves must be a multiple of {size} bytes")
        level = bytes(leaves)
        self._levels = [level]
        while len(level) > size:
            level = merkle.packed_parent(level)
            self._levels.append(level)

    @classmethod
    def of(cls, leaves: Iterable[bytes]) -> TreeLevels:
        return cls(b"".join(leaves))

    @property
    def size(self) -> int:
        return len(self._levels[0]) // merkle.HASH_SIZE

    def root(self) -> bytes:
        return self._levels[-1] if self.size else merkle.EMPTY_ROOT

    def leaves(self) -> list[bytes]:
        return merkle.unpacked(self._levels[0])

    def leaf(self, index: int) -> bytes:
        start = index * merkle.HASH_SIZE
        return self._levels[0][start : start + merkle.HASH_SIZE]

    def path(self, index: int) -> list[bytes]:
        """RFC 6962 PATH(index): the audit path from leaf ``index``, lowest sibling first."""
        if not 0 <= index < self.size:
            raise ValueError(f"leaf index {index} is outside a tree of {self.size} leaves")
        proof: list[bytes] = []
        size = merkle.HASH_SIZE
        for level in self._levels[:-1]:
            sibling = index ^ 1
            if sibling * size < len(level):
                proof.append(level[sibling * size : (sibling + 1) * size])
            index >>= 1
        return proof


def tree_levels(connection: Connection, size: int) -> TreeLevels:
    """The tree levels over the first ``size`` events, read a page of hashes at a time."""
    return TreeLevels(b"".join(leaf_pages(connection, size)))


# --------------------------------------------------------------------------------------------------
# Selections and exports
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Selection:
    """What an export holds: a party's and/or a topic's events, after position ``since``.

    A party selects its registration, its speakers' registrations and every event of its claims; a
    topic its registration and every event of its claims. Given both, claim events must match both
    while either's registration events are kept. Sources are registered for everyone and are left
    out of a party or topic selection.
    """

    party: str | None = None
    topic: str | None = None
    since: int = 0

    @property
    def by_claim(self) -> bool:
        return self.party is not None or self.topic is not None

    @property
    def filtered(self) -> bool:
        return self.by_claim or self.since > 0

    def describe(self) -> dict[str, Any]:
        """The filters given, as the header of a filtered export records them."""
        given = {"party": self.party, "topic": self.topic, "since": self.since or None}
        return {k: v for k, v in given.items() if v is not None}


def check_selection(connection: Connection, selection: Selection) -> None:
    """One clear error for an unknown party or topic or a negative position."""
    if selection.since < 0:
        raise ValidationError(f"--since must be a position (0 or more), got {selection.since}")
    for kind, ident in (("party", selection.party), ("topic", selection.topic)):
        if ident is not None and not lookups.known_ids(connection, kind, [ident]):
            raise NotFoundError(f"unknown {kind}: {ident}")


def _selected(
    selection: Selection,
    claims: set[str],
    stream_id: str,
    type_name: str,
    event: Callable[[], ev.Event],
    stored_text: str | None = None,
) -> bool:
    """Whether an event belongs to a party/topic selection; learns selected claims from assertions.

    ``event()`` makes the domain event, asked for only when an assertion or a speaker's
    registration must be looked into. ``stored_text``, the payload as the log stores it at its
    type's current schema version, lets a reader of raw rows skip that for an event that cannot
    name the selection (``_may_name``); the database has left most such rows out already
    (``_candidates``).
    """
    kind, _, ident = stream_id.partition(":")
    if kind == "claim":
        if (
            type_name == ev.ClaimAsserted.TYPE
            and _may_name(stored_text, selection.party)
            and _may_name(stored_text, selection.topic)
        ):
            asserted = event()
            assert isinstance(asserted, ev.ClaimAsserted)
            if selection.party in (None, asserted.party) and selection.topic in (None, asserted.topic):
                claims.add(asserted.claim)
        return ident in claims
    if kind == "party":
        return ident == selection.party
    if kind == "speaker":
        return (
            selection.party is not None
            and _may_name(stored_text, selection.party)
            and getattr(event(), "party", None) == selection.party
        )
    if kind == "topic":
        return ident == selection.topic
    return False


def _may_name(stored_text: str | None, ident: str | None) -> bool:
    """Whether a stored payload may hold ``ident`` as a value. The log stores each payload as the
    canonical JSON that was hashed (``verify`` holds it to that), where an id, being a slug, is
    written as itself in quotes: a payload without that text cannot name it. None (no text at
    hand, or no id asked for) may. A payload rewritten in the database with an id's letters
    written as JSON escapes would be missed here; ``verify`` catches such a rewrite."""
    return stored_text is None or ident is None or _quoted(ident) in stored_text


def _quoted(ident: str) -> str:
    """An id as canonical JSON writes it: a slug needs no escape."""
    return f'"{ident}"'


def _stored_selected(stored: StoredEvent, selection: Selection, claims: set[str]) -> bool:
    """``_selected`` for an event already read whole."""
    return _selected(selection, claims, stored.stream_id, stored.type, stored.event)


_POSITION_AT, _STREAM_AT, _TYPE_AT, _SCHEMA_VERSION_AT, _PAYLOAD_AT = (
    LINE_FIELDS.index(name) for name in ("position", "stream_id", "type", "schema_version", "payload")
)


def _row_selected(row: tuple[Any, ...], selection: Selection, claims: set[str]) -> bool:
    """``_selected`` for a row of ``eventlog.read_rows``, its payload parsed only when it must be
    (always when its schema version is not its type's current one)."""
    type_name, version = row[_TYPE_AT], row[_SCHEMA_VERSION_AT]

    def event() -> ev.Event:
        return ev.from_stored(type_name, version, load_payload(row[_PAYLOAD_AT]))

    known = ev.EVENT_TYPES.get(type_name)
    current = known is not None and version == known.SCHEMA_VERSION
    return _selected(selection, claims, row[_STREAM_AT], type_name, event, row[_PAYLOAD_AT] if current else None)


def scan(
    connection: Connection,
    selection: Selection,
    *,
    size: int | None = None,
    from_start: bool = False,
    progress: Progress | None = None,
) -> Iterator[tuple[StoredEvent, bool]]:
    """The selected events up to position ``size``, in log order, each with whether it is after ``since``.

    Events at or before ``since`` are only read (and yielded with False) when ``from_start`` asks for
    them, or when a party or topic selection needs the claims' assertions; otherwise reading starts
    after ``since``. Without ``size``, a party or topic selection reads up to the head it finds
    first (on PostgreSQL, one prefix of the log however long the read takes).
    """
    for row, after_since in scan_rows(connection, selection, size=size, from_start=from_start, progress=progress):
        yield eventlog.from_row(row), after_since


def scan_rows(
    connection: Connection,
    selection: Selection,
    *,
    size: int | None = None,
    from_start: bool = False,
    progress: Progress | None = None,
) -> Iterator[tuple[tuple[Any, ...], bool]]:
    """``scan``'s events as the driver's rows (``eventlog.read_rows``: the payload as the stored
    text), for a writer that needs no payload parsed (the CSV export)."""
    start = 0 if (from_start or selection.by_claim) else selection.since
    if not selection.by_claim:
        limit = None if size is None else max(size - start, 0)
        for row in counted(eventlog.read_rows(connection, since=start, limit=limit, batch=BATCH), progress):
            yield row, row[_POSITION_AT] > selection.since
        return
    # A party's or a topic's events are a few of the log's. The database leaves out the assertions
    # (and a party's look at speakers' registrations) that cannot name the selection, and each row
    # that comes is looked at as the driver gives it, its payload parsed only when it must be (a
    # 1M-event export of one topic of 40 spent half its time parsing the payloads of the others,
    # then half of the rest fetching them).
    end = eventlog.head(connection).position if size is None else size
    candidates = eventlog.read_rows(connection, since=start, until=end, batch=BATCH, holding=_candidates(selection))
    claims: set[str] = set()
    for row in _passed(candidates, start, end, progress):
        if _row_selected(row, selection, claims):
            yield row, row[_POSITION_AT] > selection.since


def _candidates(selection: Selection) -> dict[str, tuple[int, list[str]]]:
    """``read_rows``'s ``holding`` for a party or topic selection: the assertions whose stored
    payload holds each id given, and for a party, its speakers' registrations (``_may_name``).
    Rows of another schema version all come, to be read whole: an upcaster may name fields
    otherwise, and a version newer than this code is refused when read, as before."""
    ids = [_quoted(ident) for ident in (selection.party, selection.topic) if ident is not None]
    holding = {ev.ClaimAsserted.TYPE: (ev.ClaimAsserted.SCHEMA_VERSION, ids)}
    if selection.party is not None:
        holding[ev.SpeakerRegistered.TYPE] = (ev.SpeakerRegistered.SCHEMA_VERSION, [_quoted(selection.party)])
    return holding


def _passed(
    rows: Iterable[tuple[Any, ...]], start: int, end: int, progress: Progress | None
) -> Iterator[tuple[Any, ...]]:
    """``rows`` (some of the log's rows after ``start``, up to ``end``) unchanged, telling
    ``progress`` how many of the log's events have been read past: as ``counted`` does, by position
    rather than by row."""
    if progress is None:
        yield from rows
        return
    told = 0
    for row in rows:
        passed = row[_POSITION_AT] - start
        if passed // PROGRESS_EVERY > told // PROGRESS_EVERY:
            progress(passed)
            told = passed
        yield row
    progress(max(end - start, 0))


def filtered_trail(
    connection: Connection, selection: Selection, progress: Progress | None = None
) -> Iterator[dict[str, Any]]:
    """The lines of a filtered JSONL export: the header, then each selected event with its inclusion proof."""
    head = eventlog.head(connection)
    size = head.position
    levels = tree_levels(connection, size)
    checkpoint = {"size": size, "root": merkle.to_hex(levels.root()), "recorded_at": head.recorded_at or None}
    yield trail_header(selection.describe(), checkpoint)
    for stored, exported in scan(connection, selection, size=size, progress=progress):
        if not exported:
            continue
        index = stored.position - 1
        if levels.leaf(index) != merkle.event_leaf_hash(stored.hash):
            raise IntegrityError(f"the log changed during the export at position {stored.position}")
        yield filtered_line(stored.line(), index, size, [merkle.to_hex(h) for h in levels.path(index)])


def registry(connection: Connection) -> Callable[[str, set[str]], dict[str, dict[str, Any]]]:
    """Look up registered parties, speakers, sources and topics in the projections, 500 ids a query."""

    def lookup(kind: str, idents: set[str]) -> dict[str, dict[str, Any]]:
        table = lookups.REGISTRIES[kind]
        wanted = sorted(idents)
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(wanted), 500):
            query = select(table).where(table.c.id.in_(wanted[start : start + 500]))
            found.update({row.id: dict(row._mapping) for row in connection.execute(query)})
        return found

    return lookup


def reviewed_claims(connection: Connection, since: int = 0, until: int | None = None) -> set[str]:
    """The claims with a verdict recorded after ``since`` (and at or before ``until``), read from the log."""
    query = select(events.c.payload).where(events.c.type == ev.VerdictRecorded.TYPE, events.c.position > since)
    if until is not None:
        query = query.where(events.c.position <= until)
    return {json.loads(payload)["claim"] for payload in connection.execute(query).scalars()}


@dataclass(frozen=True, slots=True)
class ExportSummary:
    """What an export wrote: the events it covers, and the checkpoint or review count where it has one."""

    format: str
    events: int
    checkpoint: dict[str, Any] | None = None
    reviews: int | None = None


def export(
    connection: Connection,
    fmt: str,
    out: TextIO,
    selection: Selection = Selection(),
    progress: Progress | None = None,
) -> ExportSummary:
    """Write the export of ``selection`` in ``fmt`` to ``out``."""
    check_selection(connection, selection)
    if fmt == "jsonl" and selection.filtered:
        lines = filtered_trail(connection, selection, progress)
        header = next(lines)
        write_jsonl([header], out)
        return ExportSummary(fmt, write_jsonl(lines, out), checkpoint=header["checkpoint"])
    if fmt == "jsonl":  # the whole log: lines written as stored, no payload parsed
        lines = counted(eventlog.read_lines(connection, batch=BATCH), progress)
        return ExportSummary(fmt, write_jsonl(lines, out))
    if fmt == "csv":  # rows written as stored, no payload parsed
        rows = (row for row, exported in scan_rows(connection, selection, progress=progress) if exported)
        return ExportSummary(fmt, write_csv(rows, out))
    if fmt == "prov-json":
        from claims.io.prov import ProvBuilder

        prov = ProvBuilder()
        for stored, exported in scan(connection, selection, from_start=True, progress=progress):
            if exported:
                prov.add(stored.line())
            elif stored.stream_id.startswith("claim:"):
                prov.track(stored.line())
        prov.write(out, registry(connection))
        return ExportSummary(fmt, prov.events)
    if fmt == "claimreview":
        from claims.io.claimreview import ClaimReviewBuilder

        # Only a claim with a verdict after ``since`` gives a review, so only those claims' streams
        # are read, through the stream index: on a 1M-event log, reading it all took 12 s. Every
        # read stops at the head found first, so that on PostgreSQL, where each query sees what is
        # committed when it starts, the reviews are those of one prefix of the log.
        head = eventlog.head(connection).position
        wanted = reviewed_claims(connection, selection.since, head)
        review = ClaimReviewBuilder(wanted)
        claims: set[str] = set()
        read = 0
        streams = eventlog.read_streams(connection, (f"claim:{c}" for c in wanted), until=head)
        for stored in counted(streams, progress):
            read += 1
            if not selection.by_claim or _stored_selected(stored, selection, claims):
                (review.add if stored.position > selection.since else review.track)(stored.line())
        review.write(out, registry(connection))
        return ExportSummary(fmt, read, reviews=review.reviews)
    raise ValidationError(f"unknown export format {fmt!r}: choose from {', '.join(EXPORT_FORMATS)}")
