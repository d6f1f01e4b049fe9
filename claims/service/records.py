"""What handlers may know about the record: the database as of this transaction, plus the events
the unit of work has accepted but not yet written.

Handlers ask ``registered``, ``claim`` and ``stream``; answers come from a cache filled on a miss
with one query, or in bulk by ``preload_*`` before a large import, so importing a million claims
costs a few thousand queries rather than several million. ``note`` takes in each event the unit
accepts, and checks the version it expects of a stream the unit began (``Stream.begun_here``).

Registry entries outlive the unit (``Registered``), so that a tracker adding claims one at a time
does not look its parties, topics, sources and speakers up again for each one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from functools import lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, select

from claims.domain import events as ev
from claims.domain.claim import ClaimFields, apply_correction, fields_of_assertion
from claims.projections.lookups import REGISTRIES
from claims.projections.projector import CHECKPOINT_SUBQUERY, CLAIM_ID_AT, current_versions, version_fields
from claims.projections.tables import claim_versions
from claims.store.bulk import fetch_on_driver, parameter_marks, rows_on_driver
from claims.store.eventlog import HEAD_SUBQUERIES, Head, head_of, stale_version
from claims.store.hashing import load_payload
from claims.store.schema import events

Entry = dict[str, Any]
_CHUNK = 500
_UNKNOWN: Any = object()  # not asked about yet (None is an answer: no such record); one lookup per question


class Stream:
    """What a unit of work needs to know of one stream: how many events it holds (the version the
    next event expects), and the (type, payload) of every event after its first, in order, which
    is what a repeated lifecycle entry would duplicate (``handlers._recorded_already``). The first
    event (an assertion, a registration) is only counted: no later event can equal it, and an
    import of a million claims would otherwise keep every payload until it commits. ``matched``:
    how far a document's lifecycle entries for the stream have matched its events (``match``).

    ``begun_here``: this unit began the stream. Either it read the stream empty (under the log's
    lock, which a unit of work holds; a checking unit, which writes nothing, reads a snapshot), or
    it appended the stream's first event without a read; then the unique (stream, version) key
    refuses that event if the stream was not new after all. Either way the stream holds only the
    unit's own events, whose count is the version known here for certain, so it is checked here
    (``note``) and not read back from the log."""

    __slots__ = ("begun_here", "later", "matched", "version")

    def __init__(self, version: int = 0, *, begun_here: bool = False) -> None:
        self.version = version
        # None until a second event: most streams (a claim never changed) hold one (no list: 56 bytes each).
        self.later: list[tuple[str, dict[str, Any]]] | None = None
        self.begun_here = begun_here
        self.matched = 0  # how many of ``later`` a document's entries have gone past (``match``)

    def add(self, type_name: str, payload: dict[str, Any]) -> None:
        if self.version:
            if self.later is None:
                self.later = []
            self.later.append((type_name, payload))
        self.version += 1

    def holds(self, type_name: str, payload: dict[str, Any]) -> bool:
        """Whether an event of this type and payload is in the stream already."""
        return self.later is not None and (type_name, payload) in self.later

    def match(self, type_name: str, payload: dict[str, Any]) -> bool:
        """Whether a document's entry is an event of the stream after those its earlier entries
        matched or were recorded as: then it is matched, and the next entry looks after it. So
        the entries of a document imported again match its events in order, [A, B, A] included,
        while an entry an earlier document or a command recorded before them does not swallow
        one of this document that comes after a change ([B, A] after A records both)."""
        later = self.later or []
        for index in range(self.matched, len(later)):
            if later[index] == (type_name, payload):
                self.matched = index + 1
                return True
        return False

    def recorded_by_document(self) -> None:
        """A document's entry was just recorded, as the stream's last event: the next entry looks after it."""
        self.matched = len(self.later or ())

    def last(self, type_name: str, **fields: Any) -> dict[str, Any] | None:
        """The payload of the stream's latest event of this type whose payload holds ``fields``."""
        for held_type, payload in reversed(self.later or ()):
            if held_type == type_name and all(payload.get(k) == v for k, v in fields.items()):
                return payload
        return None


class Registered:
    """Registry entries known to be committed, by (kind, id), shared by the units of one tracker.

    The log is append-only and an entry, once recorded, is never changed (the same id with other
    fields is refused), so an entry a committed unit knew holds for every unit after it, in the
    same log and schema. But the tracker's database may since have been dropped and made again,
    restored from a copy, or migrated by another process (0002 gave sources a kind). So the
    entries are kept with a line of the log (position and hash) written after they were read, and
    the schema revision they were read at, and trusted only while the log still holds that line
    (through the hash chain, the line stands for the whole history before it) and the schema is at
    that revision. The check is one query, made once per unit, and only by a unit that asks a
    registry question; units on other threads of the tracker share the entries under a lock. The
    same query reads the log's head, which the unit needs before it writes (``Records.head``).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], Entry] = {}
        self._line: tuple[int, str] | None = None  # (position, hash): None while there are no entries
        self._revision: str | None = None

    def trusted(self, connection: Connection) -> tuple[dict[tuple[str, str], Entry], str | None, Head, int]:
        """The entries, if the database on ``connection`` still holds their line and revision (else
        none, and they are forgotten), with the revision it is at (the unit hands it back with its
        own entries: ``committed``), the log's head and the position the projections have folded."""
        with self._lock:
            line, revision, entries = self._line, self._revision, self._entries
        statement = _check(connection.dialect.paramstyle)
        ((found, current, *last, projected),) = fetch_on_driver(
            connection, statement, (0 if line is None else line[0],)
        )
        head, projected = head_of(last), projected or 0
        if line is not None and found == line[1] and current == revision:
            return entries, current, head, projected
        with self._lock:
            if self._line == line:  # not replaced meanwhile by a unit of another thread
                self._entries, self._line, self._revision = {}, None, None
        return {}, current, head, projected

    def committed(
        self, entries: Iterable[tuple[tuple[str, str], Entry]], line: tuple[int, str] | None, revision: str | None
    ) -> None:
        """Take in the entries a unit read or recorded, once it has committed: ``line``, the last it
        wrote (a unit that wrote nothing hands nothing on: no line of its own comes after what it
        read); ``revision``, the one ``trusted`` told it."""
        if line is None:
            return
        with self._lock:
            if revision != self._revision:
                self._entries, self._line, self._revision = {}, None, revision
            if self._line is None or line[0] > self._line[0]:
                self._line = line
            self._entries.update(entries)


class Records:
    """A read-through cache of registry entries, claims and claim streams for one transaction."""

    def __init__(self, connect: Callable[[], Connection], registered: Registered | None = None) -> None:
        # Asked for the connection on each read: a large unit's writes in flight finish first.
        self._connect = connect
        self._registered = registered
        self._committed: dict[tuple[str, str], Entry] | None = None  # registered's, once trusted (read only)
        self._revision: str | None = None  # the schema revision the trusted check saw
        self.head: Head | None = None  # the log's head, as the trusted check read it
        self.projected = 0  # the position the projections had folded, read with ``head``
        self._registry: dict[tuple[str, str], Entry | None] = {}
        # A claim asserted in this unit is kept as its event until asked about (rarely, in a
        # large import), so that its fields are not computed here and again by the projector.
        self._claims: dict[str, ClaimFields | ev.ClaimAsserted | None] = {}
        self._streams: dict[str, Stream] = {}
        self._claims_in_database: bool | None = None

    # -- questions -------------------------------------------------------------------------------

    def registered(self, kind: str, ident: str) -> Entry | None:
        """The party, speaker, source or topic ``ident`` as recorded, or None."""
        key = (kind, ident)
        found = self._registry.get(key, _UNKNOWN)
        if found is _UNKNOWN:
            found = self._trusted().get(key, _UNKNOWN)
        if found is _UNKNOWN:
            self.preload_registry(kind, [ident])
            found = self._registry[key]
        return found

    def claim(self, ident: str) -> ClaimFields | None:
        """The claim's fields as recorded now, or None when there is no such claim."""
        found = self._claims.get(ident, _UNKNOWN)
        if found is _UNKNOWN:
            self.preload_claims([ident])
            found = self._claims[ident]
        if isinstance(found, ev.ClaimAsserted):
            found = self._claims[ident] = fields_of_assertion(found)
        return found

    def stream(self, stream_id: str) -> Stream:
        """The stream as recorded, with the events accepted into it by this unit."""
        if stream_id not in self._streams:
            self.preload_streams([stream_id])
        return self._streams[stream_id]

    def _trusted(self) -> dict[tuple[str, str], Entry]:
        """The tracker's committed registry entries, checked against this unit's log once."""
        if self._committed is None:
            if self._registered is None:
                self._committed = {}
            else:
                self._committed, self._revision, self.head, self.projected = self._registered.trusted(self._connect())
        return self._committed

    def committed(self, last_written: tuple[int, str] | None) -> None:
        """Hand the registry entries this unit read or recorded to the tracker's ``Registered``,
        once the unit has committed (``last_written``: its last line, None when it wrote none).
        Only a unit that checked them has anything to add: every registry question does."""
        if self._registered is not None and self._committed is not None:
            entries = ((key, entry) for key, entry in self._registry.items() if entry is not None)
            self._registered.committed(entries, last_written, self._revision)

    def begun_here(self, stream_id: str) -> bool:
        """Whether the stream is one this unit began (``Stream.begun_here``), without a read."""
        stream = self._streams.get(stream_id)
        return stream is not None and stream.begun_here

    # -- bulk loading ----------------------------------------------------------------------------

    def preload_registry(self, kind: str, idents: Iterable[str]) -> None:
        table = REGISTRIES[kind]
        registry, committed = self._registry, self._trusted()
        wanted = sorted({i for i in idents if (kind, i) not in registry and (kind, i) not in committed})
        names = table.columns.keys()
        for chunk in _chunks(wanted):
            for row in rows_on_driver(self._connect(), table, "id", chunk):
                entry = dict(zip(names, row, strict=True))
                self._registry[(kind, entry["id"])] = entry
        for ident in wanted:
            self._registry.setdefault((kind, ident), None)

    def preload_claims(self, idents: Iterable[str]) -> None:
        # Set operations and dict.fromkeys: a first import asks for its 870k claims at once.
        wanted = set(idents).difference(self._claims)
        found = {}
        if wanted and self._may_be_recorded(len(wanted)):
            found = {row[CLAIM_ID_AT]: version_fields(row) for row in current_versions(self._connect(), sorted(wanted))}
        self._claims.update(dict.fromkeys(wanted))
        self._claims.update(found)

    def _may_be_recorded(self, asked: int) -> bool:
        """Whether claims asked about may be in the database: not when it held none when this unit
        was first asked about several claims at once. A first import into a new database then
        looks none of its claims up (870k lookups for a 1M-event document). One claim (a single
        add's) is looked up without asking first: its lookup is one query, as the question would
        be. A unit of work holds the write lock (a checking unit, which holds none, only lists
        problems: ``uow.CheckingUnit``), and the claims it records itself are noted, never looked
        up."""
        if self._claims_in_database is None and asked > 1:
            self._claims_in_database = self._connect().execute(_ANY_CLAIM).first() is not None
        return self._claims_in_database is not False

    def preload_streams(self, stream_ids: Iterable[str]) -> None:
        wanted = sorted({s for s in stream_ids if s not in self._streams})
        for stream_id in wanted:
            self._streams[stream_id] = Stream()
        for chunk in _chunks(wanted):
            rows = rows_on_driver(self._connect(), events, "stream_id", chunk, _STREAM_COLUMNS)
            for stream_id, _, type_name, payload in sorted(rows, key=itemgetter(0, 1)):  # each stream in its order
                self._streams[stream_id].add(type_name, load_payload(payload))
        for stream_id in wanted:
            self._streams[stream_id].begun_here = self._streams[stream_id].version == 0

    # -- accepted events -------------------------------------------------------------------------

    def note(self, event: ev.Event, payload: dict[str, Any], expected_version: int) -> None:
        """Take an accepted event (and its payload) into account before it is written; an event
        that expects another version of a stream this unit began is a ConflictError here, as the
        log would refuse it (the log checks only streams that were there before the unit)."""
        stream_id = event.stream_id
        stream = self._streams.get(stream_id)
        if stream is None:  # a stream appended to without a read: at the version the caller knows
            stream = self._streams[stream_id] = Stream(expected_version, begun_here=expected_version == 0)
        elif stream.begun_here and stream.version != expected_version:
            raise stale_version(stream_id, stream.version, expected_version)
        stream.add(event.TYPE, payload)
        match event:
            case ev.ClaimAsserted():  # most events: first
                self._claims[event.claim] = event
            case ev.PartyRegistered() | ev.SpeakerRegistered() | ev.SourceRegistered() | ev.TopicRegistered():
                kind = event.stream_id.split(":", 1)[0]
                entry = {("id" if k == kind else k): v for k, v in payload.items()}
                self._registry[(kind, entry["id"])] = entry
            case ev.ClaimCorrected():
                if self._claims.get(event.claim) is not None:
                    current = self.claim(event.claim)
                    assert current is not None
                    self._claims[event.claim] = apply_correction(current, event.changes)


_STREAM_COLUMNS = ("stream_id", "stream_version", "type", "payload")
# Built once: building a statement costs more than running it.
_ANY_CLAIM = select(claim_versions.c.claim_id).limit(1)


@lru_cache(maxsize=4)
def _check(paramstyle: str) -> str:
    """The hash of one line of the log, the schema revision (Alembic's table: one row, one linear
    history; max() only so that the subquery is a scalar on every backend), the log's head and the
    projections' checkpoint, in one statement on the driver (``fetch_on_driver``): a single add
    makes it before it writes."""
    (position,) = parameter_marks(paramstyle, 1)
    return (
        f'SELECT (SELECT "hash" FROM events WHERE "position" = {position}), '
        f'(SELECT max("version_num") FROM alembic_version), {HEAD_SUBQUERIES}, {CHECKPOINT_SUBQUERY}'
    )


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]
