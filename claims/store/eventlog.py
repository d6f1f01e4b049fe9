"""Appending to and reading from the event log.

An append names, for every event, the version its stream is expected to be at; a stale
expectation is a ConflictError. Appends run under the write lock (see ``engine.begin_write``), so
the head read here is the head the new events extend.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import Connection, func, select
from sqlalchemy.exc import IntegrityError as DBIntegrityError

from claims.domain.dates import utc_now
from claims.domain.errors import ConflictError, ValidationError
from claims.store.bulk import check_column_order, driver_of, fetch_on_driver, insert_rows, parameter_marks
from claims.store.hashing import GENESIS, LINE_FIELDS, canonical_bytes, line_hash, load_payload, stored_payload
from claims.store.schema import STREAM_VERSION_UNIQUE, events

if TYPE_CHECKING:
    from claims.domain.events import Event, Payload


@dataclass(slots=True)
class Pending:
    """An event to append, with the version its stream must be at before it (0: a new stream).
    Not frozen, like the events themselves: a unit of work makes one for every event."""

    event: Event
    expected_version: int
    payload: Payload | None = None  # the event's payload when the caller has computed it already


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One line of the log exactly as stored and hashed."""

    position: int
    event_id: str
    stream_id: str
    stream_version: int
    type: str
    schema_version: int
    said_at: str | None
    recorded_at: str
    recorded_by: str
    payload: Payload
    prev_hash: str
    hash: str

    def line(self) -> dict[str, Any]:
        """The JSONL export object of this event (SPEC section 6)."""
        return {
            "position": self.position,
            "event_id": self.event_id,
            "stream_id": self.stream_id,
            "stream_version": self.stream_version,
            "type": self.type,
            "schema_version": self.schema_version,
            "said_at": self.said_at,
            "recorded_at": self.recorded_at,
            "recorded_by": self.recorded_by,
            "payload": self.payload,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }

    def event(self) -> Event:
        """The domain event, upcast to its type's current schema version."""
        from claims.domain.events import from_stored  # the read path of queries never needs it

        return from_stored(self.type, self.schema_version, self.payload)


@dataclass(frozen=True, slots=True)
class Head:
    position: int
    hash: str
    recorded_at: str


# The last event's position, hash and recorded time as scalar subqueries in SQL (each NULL when the
# log is empty), for ``head`` and for a query that reads the head beside other things: a single
# add's one check before it writes (``records.Registered.trusted``), rather than a statement of its own.
HEAD_SUBQUERIES = ", ".join(
    f'(SELECT "{name}" FROM events ORDER BY "position" DESC LIMIT 1)' for name in ("position", "hash", "recorded_at")
)
_HEAD = f"SELECT {HEAD_SUBQUERIES}"


def head(connection: Connection) -> Head:
    """The last event's position, hash and recorded time (position 0 and the genesis hash when empty)."""
    return head_of(fetch_on_driver(connection, _HEAD)[0])


def head_of(values: Sequence[Any]) -> Head:
    """The Head of (position, hash, recorded time) as read by ``HEAD_SUBQUERIES``: all None when the log is empty."""
    position, last_hash, recorded_at = values
    if position is None:
        return Head(0, GENESIS, "")
    return Head(position, last_hash, recorded_at)


def stream_version(connection: Connection, stream_id: str) -> int:
    """How many events the stream holds (0 when it does not exist)."""
    value = connection.execute(
        select(func.max(events.c.stream_version)).where(events.c.stream_id == stream_id)
    ).scalar()
    return int(value or 0)


def append(connection: Connection, pending: Sequence[Pending], recorded_by: str) -> list[StoredEvent]:
    """Append events after checking each stream's expected version; returns them as stored (the
    unit of work, which needs only positions, calls ``prepare`` and ``write``).

    A stream expected to be new (version 0) is guarded by the unique (stream_id, stream_version)
    constraint; streams expected at a later version are read in bulk first. Either way a stale
    expectation is a ConflictError and nothing is written.
    """
    prepared = prepare(lambda: connection, pending, recorded_by)
    write(connection, prepared)
    return [from_row(row) for row in prepared.rows]


class Prepared(NamedTuple):
    """An append computed but not yet written: the log's rows (each payload as its stored text), and
    the streams it expects to exist already, each at the version its first event expects (those
    that ``write`` checks: a unit of work leaves out the streams it began, checked as appended).

    Only the rows are kept, not each line as a dict beside its row: a line lives only while its
    hash is computed, so that a large unit's writer thread, which drops a batch once written, has
    a dict and a payload fewer per event to free (objects made seconds before, out of the cache)."""

    rows: list[list[Any]]
    expected: dict[str, int]

    @property
    def positions(self) -> list[int]:
        return [row[_POSITION_AT] for row in self.rows]

    @property
    def head(self) -> Head:
        """The head of the log once these rows are written."""
        last = self.rows[-1]
        return Head(last[_POSITION_AT], last[_HASH_AT], last[_RECORDED_AT_AT])


def prepare(
    connect: Callable[[], Connection],
    pending: Sequence[Pending],
    recorded_by: str,
    *,
    after: Head | None = None,
    same_transaction: bool = False,
) -> Prepared:
    """The first half of ``append``: compute each line, its position, id, stream version and place
    in the hash chain, from the versions the events expect (which must agree within the batch).
    Nothing is read but the head, and that only when the caller does not know it (``after``: the
    head of rows it prepared and has yet to write, so that a writer still writing them can go on
    meanwhile, or the head it read under the log's lock with another question: a single add's
    registry check); ``write`` checks the expectations against the log, then inserts the rows.

    ``same_transaction``: the rows follow ``after``, rows of the same transaction (a large
    import's next batch), and are recorded at its time. A transaction commits whole, so its events
    share one recorded time: a ``--known-at`` between two of its batches would otherwise show half
    of an import that no reader ever saw.
    """
    if not pending:
        return Prepared([], {})
    last = after or head(connect())
    recorded_at = last.recorded_at if same_transaction and after is not None else max(utc_now(), last.recorded_at)
    versions: dict[str, int] = {}
    expected: dict[str, int] = {}
    rows: list[list[Any]] = []
    prev_hash, position = last.hash, last.position
    for item, event_id in zip(pending, new_event_ids(len(pending)), strict=True):
        stream = item.event.stream_id
        version = versions.get(stream, item.expected_version) + 1
        if version != item.expected_version + 1:
            raise stale_version(stream, version - 1, item.expected_version)
        if stream not in versions and item.expected_version > 0:
            expected[stream] = item.expected_version
        versions[stream] = version
        position += 1
        row = _record(item, stream, position, event_id, version, recorded_at, recorded_by, prev_hash)
        rows.append(row)
        prev_hash = row[_HASH_AT]
    return Prepared(rows, expected)


def write(connection: Connection, prepared: Prepared, *, many_per_statement: bool = False) -> None:
    """The second half of ``append``: check that each stream expected to exist is at the version
    expected, then insert the rows. A stale expectation, or a stream expected to be new that exists
    already, is a ConflictError and nothing is written (see ``bulk.insert_rows`` for
    ``many_per_statement``)."""
    _check_expected(connection, prepared.expected)
    with stream_conflicts():
        insert_rows(connection, events, prepared.rows, many_per_statement=many_per_statement)


@contextmanager
def stream_conflicts() -> Iterator[None]:
    """Raise the database's refusal of a stream expected to be new that exists already (the log's
    unique stream_id and stream_version) as the ConflictError it is: around ``write``, and around
    writes pipelined with it (``bulk.pipelined``), where the refusal can surface at a later
    statement or at the pipeline's end. Any other refusal is raised as it is."""
    try:
        yield
    except DBIntegrityError as error:
        if _refused_stream_version(error):
            raise ConflictError("a stream expected to be new already exists: it changed since it was read") from None
        raise


def _refused_stream_version(error: DBIntegrityError) -> bool:
    """Whether ``error`` is the log refusing a stream version it holds already: by the constraint's
    name on PostgreSQL, whose message quotes the refused row (a text may hold any word); on SQLite
    by the messages, which quote no value, of the trigger that refuses an insert colliding with a
    recorded event (migrations 0001 and 0004; under the log's lock only a stream version can
    collide: positions follow the head, event ids are random) and of the constraint itself."""
    original = error.orig
    diagnostics = getattr(original, "diag", None)
    if diagnostics is not None:
        return bool(diagnostics.constraint_name == STREAM_VERSION_UNIQUE)
    return str(original).startswith(_SQLITE_STREAM_VERSION_REFUSALS)


_SQLITE_STREAM_VERSION_REFUSALS = (
    "the event log is append-only: this position, event id or stream version exists",
    "UNIQUE constraint failed: events.stream_id, events.stream_version",
)


def _check_expected(connection: Connection, expected: dict[str, int]) -> None:
    """Raise ConflictError unless every stream in ``expected`` is at that version; read in bulk."""
    existing = sorted(expected)
    found: dict[str, int] = {}
    for start in range(0, len(existing), 500):
        chunk = existing[start : start + 500]
        marks = ", ".join(parameter_marks(connection.dialect.paramstyle, len(chunk)))
        # On the driver: this may run inside ``bulk.pipelined`` (a unit's last writes), where its
        # fetch sends what is queued before it and SQLAlchemy's statements cannot run.
        query = (
            f'SELECT "stream_id", max("stream_version") FROM events WHERE "stream_id" IN ({marks}) GROUP BY "stream_id"'
        )
        found.update({stream: int(version) for stream, version in fetch_on_driver(connection, query, chunk)})
    for stream in existing:
        if found.get(stream, 0) != expected[stream]:
            raise stale_version(stream, found.get(stream, 0), expected[stream])


def stale_version(stream: str, found: int, expected: int) -> ConflictError:
    """The conflict of an event that expected its stream at another version than it is."""
    return ConflictError(f"{stream} is at version {found}, not {expected}: it changed since it was read")


def _record(
    item: Pending,
    stream_id: str,
    position: int,
    event_id: str,
    version: int,
    recorded_at: str,
    recorded_by: str,
    prev_hash: str,
) -> list[Any]:
    """The event's row, its line's values in order with the hash that closes the line; the payload
    is serialized once, into the canonical text that is both stored and hashed inside the line.
    ``stream_id`` is the event's, computed once by the caller."""
    event = item.event
    payload = item.payload if item.payload is not None else event.payload()
    try:
        text = canonical_bytes(payload)
    except UnicodeEncodeError:
        raise ValidationError("text is not valid Unicode (a lone surrogate)") from None
    line: dict[str, Any] = {
        "position": position,
        "event_id": event_id,
        "stream_id": stream_id,
        "stream_version": version,
        "type": event.TYPE,
        "schema_version": event.SCHEMA_VERSION,
        "said_at": event.said_at,
        "recorded_at": recorded_at,
        "recorded_by": recorded_by,
        "payload": stored_payload(text),
        "prev_hash": prev_hash,
    }
    try:
        line["hash"] = line_hash(line)
    except TypeError:  # orjson refused a lone surrogate outside the payload (a recorder, an id)
        raise ValidationError("text is not valid Unicode (a lone surrogate)") from None
    row = list(line.values())  # the line is built in LINE_FIELDS order, the log's columns' (below)
    row[_PAYLOAD_AT] = text.decode("utf-8")
    return row


class _TimeOrderedIds:
    """Event ids as UUIDs of version 7 (RFC 9562): a millisecond timestamp, 12 random bits, then a
    62-bit counter that starts at a random value below 2**61 and counts up, so that each id is
    greater than the one before.

    Why not random (version 4) ids: the log's unique index on event_id is a B-tree, and random keys
    land on random pages of it, each read, changed and written again. Ids in the order they are
    written are appended at its right edge instead. Inserting the rows of a 1M-event log into SQLite
    took 12.0 s with random ids and 7.5 s with these; in a 1M-event import, the writer thread's
    inserts into the log went from 19.7 to 11.6 s, and a PostgreSQL import from 61 to 57 s. The
    73 random bits keep ids from different processes apart (two batches would have to start within
    a batch's length of each other, in the same millisecond); counting on within one process keeps
    them ordered even when the clock stands still or steps back (a forked child starts afresh:
    ``_renew_after_fork``)."""

    _COUNTER = (1 << 62) - 1  # the bits after the variant: the counter
    _VARIANT = 2 << 62

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = -1  # the 122 bits that are neither version nor variant, of the last id issued

    def take(self, count: int) -> list[str]:
        random = int.from_bytes(os.urandom(10))  # 80 bits: 12 above the counter, 61 in it
        with self._lock:
            now = (time.time_ns() // 1_000_000) << 74 | (random >> 68) << 62 | random & (1 << 61) - 1
            first = max(now, self._last + 1)
            self._last = first + count - 1
        head, counter = first >> 62, first & self._COUNTER
        if counter + count > self._COUNTER + 1:  # the counter would run over into the random bits
            return [_uuid7(value >> 62, value & self._COUNTER) for value in range(first, first + count)]
        prefix = _uuid7(head, 0)[:19]  # the timestamp, version and random bits: the same for all
        tails = (f"{self._VARIANT | value:016x}" for value in range(counter, counter + count))
        return [f"{prefix}{tail[:4]}-{tail[4:]}" for tail in tails]


def _uuid7(head: int, counter: int) -> str:
    """The text of the version 7 UUID of ``head`` (48-bit timestamp, 12 random bits) and
    ``counter`` (62 bits), as ``str(uuid.UUID(...))`` writes it."""
    stamp, tail = f"{head >> 12:012x}", f"{_TimeOrderedIds._VARIANT | counter:016x}"
    return f"{stamp[:8]}-{stamp[8:]}-7{head & 0xFFF:03x}-{tail[:4]}-{tail[4:]}"


_event_ids = _TimeOrderedIds()


def _renew_after_fork() -> None:
    """Give a forked child a generator of its own: counting on from the parent's last id, a parent
    and a child that drew lower starts in the same millisecond would issue the same ids, and a lock
    held by another thread at the fork would never be released in the child."""
    global _event_ids
    _event_ids = _TimeOrderedIds()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_renew_after_fork)


def new_event_ids(count: int) -> list[str]:
    """``count`` new event ids, each greater than any this process issued before (``_TimeOrderedIds``),
    in the usual text of a UUID (``str(uuid.UUID(...))``)."""
    return _event_ids.take(count)


_LINE_COLUMNS = [events.c[name] for name in LINE_FIELDS]
_PAYLOAD_AT = LINE_FIELDS.index("payload")
_POSITION_AT, _HASH_AT, _RECORDED_AT_AT = (LINE_FIELDS.index(name) for name in ("position", "hash", "recorded_at"))
check_column_order(events, LINE_FIELDS)  # a line's values, in order, are its row's


def from_row(row: Sequence[Any]) -> StoredEvent:
    """A StoredEvent from a row of ``_LINE_COLUMNS`` (StoredEvent's own field order): one of ``read_rows``."""
    values = list(row)
    values[_PAYLOAD_AT] = load_payload(values[_PAYLOAD_AT])
    return StoredEvent(*values)


def read(
    connection: Connection, *, since: int = 0, limit: int | None = None, batch: int = 5000
) -> Iterator[StoredEvent]:
    """Events after position ``since``, in position order, fetched in batches (memory stays flat)."""
    for row in read_rows(connection, since=since, limit=limit, batch=batch):
        yield from_row(row)


def read_rows(
    connection: Connection,
    *,
    since: int = 0,
    limit: int | None = None,
    until: int | None = None,
    batch: int = 5000,
    holding: Mapping[str, tuple[int, Sequence[str]]] | None = None,
) -> Iterator[tuple[Any, ...]]:
    """``read``'s events (none after position ``until``) as the driver's rows: each line's values in
    ``LINE_FIELDS`` order, the payload as the stored text, for a reader that makes a StoredEvent
    (``from_row``) only of the rows it keeps.

    ``holding`` maps event types to a schema version and texts: of each type at that version, only
    the rows whose stored payload holds every one of the texts come, the database looking. Rows of
    other types or other versions all come. ``limit`` counts the rows that come."""
    for rows in _pages(connection, since, limit, batch, until=until, holding=holding):
        yield from rows


def read_streams(
    connection: Connection, stream_ids: Iterable[str], *, until: int | None = None, chunk: int = 500
) -> Iterator[StoredEvent]:
    """Every event of the given streams (at or before position ``until``), found through the stream
    index rather than by reading the log: ``chunk`` streams a query, each query's events in position
    order. So one stream's events come in version order, but streams of different chunks are not
    interleaved by position."""
    wanted = sorted(set(stream_ids))
    for start in range(0, len(wanted), chunk):
        query = select(*_LINE_COLUMNS).where(events.c.stream_id.in_(wanted[start : start + chunk]))
        if until is not None:
            query = query.where(events.c.position <= until)
        for row in connection.execute(query.order_by(events.c.position)).all():
            yield from_row(row)


def replay_pages(connection: Connection, *, batch: int = 5000) -> Generator[list[tuple[Any, ...]], None, None]:
    """Every event of the log as the driver's rows (position, type, schema version, payload), in
    position order, ``batch`` at a time: what a projection rebuild folds. Read apart from their
    decoding (``decode``), so that a rebuild can fetch the next page before it hands the last
    one's rows to its writer thread, and only the four columns that make an event (a StoredEvent
    of every line cost a rebuild several percent of its time)."""
    return _pages(connection, 0, None, batch, _REPLAY_COLUMNS)


def decode(rows: Iterable[tuple[Any, ...]]) -> list[tuple[int, Event]]:
    """The (position, domain event) of each row of ``replay_pages``."""
    from claims.domain.events import from_stored  # the read path of queries never needs it

    return [
        (position, from_stored(type_name, schema_version, load_payload(payload)))
        for position, type_name, schema_version, payload in rows
    ]


_REPLAY_COLUMNS = [events.c.position, events.c.type, events.c.schema_version, events.c.payload]


def read_lines(connection: Connection, *, since: int = 0, batch: int = 5000) -> Iterator[dict[str, Any]]:
    """The export lines of the events after ``since``, in position order, fetched in batches, each
    payload left as the stored text (``hashing.stored_payload``): the fast path of the whole-log
    export and of ``verify``, which only hash and write lines. Memory stays flat."""
    for rows in _pages(connection, since, None, batch):
        for row in rows:
            line = dict(zip(LINE_FIELDS, row, strict=True))
            line["payload"] = stored_payload(row[_PAYLOAD_AT])
            yield line


def _pages(
    connection: Connection,
    since: int,
    limit: int | None,
    batch: int,
    columns: Sequence[Any] = _LINE_COLUMNS,
    *,
    until: int | None = None,
    holding: Mapping[str, tuple[int, Sequence[str]]] | None = None,
) -> Generator[list[tuple[Any, ...]], None, None]:
    """Rows of ``columns`` (position first) after position ``since`` (at most ``limit`` of them,
    none after position ``until``, ``holding`` as ``read_rows`` says), ``batch`` at a time, as the
    driver's tuples. Every whole-log read goes through here (export, verify, rebuild, the Merkle
    tree), and through SQLAlchemy's rows a million lines took 3.5 to 5.1 s to fetch, through the
    driver's own cursor 2.4 to 4.0 s."""
    conditions: list[str] = []
    parameters: list[Any] = []
    if until is not None:
        conditions.append('"position" <= {}')
        parameters.append(until)
    if holding:
        condition, values = _holding(connection.dialect.name, holding)
        conditions.append(condition)
        parameters.extend(values)
    after, *marks = parameter_marks(connection.dialect.paramstyle, 1 + len(parameters))
    where = "".join(f" AND {c}" for c in conditions).format(*marks)
    names = ", ".join(f'"{column.name}"' for column in columns)
    query = f'SELECT {names} FROM events WHERE "position" > {after}{where} ORDER BY "position" LIMIT '
    with driver_of(connection, query + str(int(batch))) as driver:
        cursor = driver.cursor()
        try:
            remaining = limit
            while remaining is None or remaining > 0:
                size = batch if remaining is None else min(batch, remaining)
                cursor.execute(query + str(int(size)), (since, *parameters))
                rows = cursor.fetchall()
                if rows:
                    yield rows
                if len(rows) < size:
                    return
                since = rows[-1][0]
                if remaining is not None:
                    remaining -= len(rows)
        finally:  # a reader abandoned after its connection closed finds the cursor closed with it
            with suppress(connection.dialect.loaded_dbapi.Error):
                cursor.close()


# Where each backend finds a text in another: its place, counted from 1, or 0 when it is not there.
# Unlike LIKE, neither gives a character of the text a meaning, nor folds case.
_FIND = {"sqlite": "instr", "postgresql": "strpos"}


def _holding(dialect: str, holding: Mapping[str, tuple[int, Sequence[str]]]) -> tuple[str, list[Any]]:
    """``read_rows``'s condition for ``holding``, a ``{}`` in it for each of the parameters given
    beside it (and nowhere else: ``_pages`` puts its marks there)."""
    find = _FIND[dialect]
    types = sorted(holding)
    parts = [f'"type" NOT IN ({", ".join("{}" for _ in types)})']
    parameters: list[Any] = list(types)
    for type_name in types:
        version, texts = holding[type_name]
        found = " AND ".join(f'{find}("payload", {{}}) > 0' for _ in texts) or "1 = 1"
        parts.append(f'("type" = {{}} AND ("schema_version" <> {{}} OR ({found})))')
        parameters.extend([type_name, version, *texts])
    return f"({' OR '.join(parts)})", parameters


def hash_pages(connection: Connection, size: int, *, batch: int = 4096) -> Iterator[list[str]]:
    """The hashes of the first ``size`` events, in position order, ``batch`` at a time: the leaves
    of the Merkle tree that checkpoints, proofs and filtered exports build (through SQLAlchemy's
    rows, a million hashes took 1.4 to 2.0 s; as the driver's tuples, 0.7 s)."""
    for rows in _pages(connection, 0, None, batch, (events.c.position, events.c.hash), until=size):
        yield [digest for _, digest in rows]


def read_stream(connection: Connection, stream_id: str) -> list[StoredEvent]:
    """Every event of one stream, in version order."""
    rows = connection.execute(
        select(*_LINE_COLUMNS).where(events.c.stream_id == stream_id).order_by(events.c.stream_version)
    ).all()
    return [from_row(row) for row in rows]


def position_at(connection: Connection, recorded_at: str) -> int:
    """The last position recorded at or before ``recorded_at`` (0 when none was).

    Recorded time never decreases along the log (``append``), so that position is the last entry
    at or before the time in (recorded_at, position) order: one probe of the index that holds
    both. Asked as ``max(position)``, both backends read every row back to the time instead
    (migration 0005)."""
    query = (
        select(events.c.position)
        .where(events.c.recorded_at <= recorded_at)
        .order_by(events.c.recorded_at.desc(), events.c.position.desc())
        .limit(1)
    )
    return int(connection.execute(query).scalar() or 0)
