"""Folding events into the projection tables, in batches, incrementally or from scratch.

Projections are folded inside the appending transaction (the unit of work runs ``prepare``,
``Batch.apply_all`` and ``Batch.write`` on each batch it writes), so they are never behind a
committed event that claims appended; while one appended some other way is unfolded, writes are
refused until a rebuild (``behind_the_log``). A batch is folded whole: the current state of every
claim it changes that was asserted before it is carried from the batch before (``Carryover``) or
read in bulk, the events are applied in memory, and the resulting rows are written in one batch
per table. ``rebuild``
drops the projections and replays the log through the same code (``prepare``,
``Batch.apply_all``, ``Batch.write``), so an incremental projection and a rebuilt one cannot
differ.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from functools import lru_cache, partial
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Table, and_, delete, exists, func, or_, select

from claims.domain import events as ev
from claims.domain.claim import Act, ClaimFields, apply_correction, standing_periods
from claims.domain.dates import period_end, said_key
from claims.domain.errors import StorageError
from claims.projections.queries import bytewise
from claims.projections.tables import (
    checkpoints,
    claim_acts,
    claim_periods,
    claim_versions,
    parties,
    sources,
    speakers,
    topics,
    verdicts,
)
from claims.store import eventlog
from claims.store.bulk import fetch_on_driver, insert_rows, parameter_marks, rows_on_driver, run_on_driver
from claims.store.hashing import canonical_bytes, load_payload
from claims.store.schema import events as log
from claims.store.statistics import GrowingTables, analyze

PROJECTION = "claims"
# Left by migration 0006 where the projections had folded acts of one day in their written order
# rather than their instants' (``claims_folded_in_written_order``); a rebuild drops it.
FOLDED_IN_WRITTEN_ORDER = "acts-in-written-order"
TABLES = (parties, speakers, sources, topics, claim_versions, claim_periods, claim_acts, verdicts)
REBUILD_BATCH = 10_000
_CHUNK = 500


def prepare(connect: Callable[[], Connection], decoded: Sequence[tuple[int, ev.Event]], carried: Carryover) -> Batch:
    """The first part of folding a batch, the only one that reads: bring into memory the current
    state of the claims the events change that were asserted before them, from ``carried`` when it
    holds them, else from the database (``connect`` is called only then). The caller then applies
    the events (``Batch.apply_all``, no database), hands the batch to ``carried.keep`` and writes
    the rows (``Batch.write``). A carried claim's held rows are written with this batch."""
    batch = Batch(decoded[-1][0])
    batch.changes = Counter(e.claim for _, e in decoded if isinstance(e, CHANGING_EVENTS))
    asserted_here = {e.claim for _, e in decoded if isinstance(e, ev.ClaimAsserted)}
    earlier = batch.changes.keys() - asserted_here
    if earlier:
        carried.hand_over(earlier, batch)
        earlier.difference_update(batch.claims)
    if earlier:
        batch.load(connect(), earlier)
    return batch


def checkpoint(connection: Connection) -> int:
    value = connection.execute(select(checkpoints.c.position).where(checkpoints.c.name == PROJECTION)).scalar()
    return int(value or 0)


# The projections' checkpoint as a scalar subquery in SQL (NULL before anything is folded), read
# beside the log's head by a unit of work about to write (``uow.UnitOfWork.flush``).
CHECKPOINT_SUBQUERY = f'(SELECT "position" FROM "{checkpoints.name}" WHERE "name" = \'{PROJECTION}\')'
_HEAD_AND_CHECKPOINT = f"SELECT {eventlog.HEAD_SUBQUERIES}, {CHECKPOINT_SUBQUERY}"


def head_and_checkpoint(connection: Connection) -> tuple[eventlog.Head, int]:
    """The log's head and the position the projections have folded, in one statement: one
    snapshot, so that at READ COMMITTED a commit between two reads cannot put the checkpoint past
    the head read before it. On the driver: a unit of work about to write reads them so."""
    ((*last, projected),) = fetch_on_driver(connection, _HEAD_AND_CHECKPOINT)
    return eventlog.head_of(last), int(projected or 0)


def claims_folded_in_written_order(connection: Connection) -> int:
    """How many claims hold two acts at times of one day whose order as written is not the order
    of their instants, folded before migration 0006 ordered acts by instant (up to the position
    of the checkpoint FOLDED_IN_WRITTEN_ORDER it left) and not since: their status may be wrong
    until a rebuild. An act recorded since folds its claim again, all its acts in time order. Zero
    once a rebuild has dropped the checkpoint (or where migration 0006 found no such claim)."""
    marked = select(checkpoints.c.position).where(checkpoints.c.name == FOLDED_IN_WRITTEN_ORDER)
    folded_at = connection.execute(marked).scalar()
    if folded_at is None:
        return 0
    a, b, later = claim_acts.alias("a"), claim_acts.alias("b"), claim_acts.alias("later")
    # In code point order, as the projector compares them in Python.
    by_text = bytewise(a.c.on_date, connection) <= bytewise(b.c.on_date, connection)
    by_key = bytewise(a.c.on_key, connection) <= bytewise(b.c.on_key, connection)
    same_day = and_(a.c.claim_id == b.c.claim_id, a.c.on_end == b.c.on_end, a.c.position < b.c.position)
    folded_times = and_(func.length(a.c.on_date) > 10, func.length(b.c.on_date) > 10, b.c.position <= folded_at)
    orders_differ = or_(and_(by_text, ~by_key), and_(~by_text, by_key))
    not_since = ~exists().where(later.c.claim_id == a.c.claim_id, later.c.position > folded_at)
    pairs = (
        select(func.count(a.c.claim_id.distinct()))
        .select_from(a.join(b, same_day))
        .where(folded_times, orders_differ, not_since)
    )
    return int(connection.execute(pairs).scalar() or 0)


def behind_the_log(projected: int, head: int) -> StorageError:
    """The refusal of a write while the projections lack events of the log (folded up to
    ``projected``, the log at ``head``). Every writer through claims folds what it appends in the
    same transaction; only an event appended some other way (the log's INSERT privilege, granted to
    writer roles, lets a client of its own append a well-chained line) leaves them behind. A write
    would then move their checkpoint past events they never folded: a claim `show` does not know
    while `projections status` says they are up to date. A rebuild folds the whole log again; an
    event it cannot fold (an act on a claim never asserted, ``Batch._changed``) it names, and then
    writes stay refused, for the log cannot be rewritten to lose it."""
    return StorageError(
        f"the projections are {head - projected:,} event{'s' * (head - projected != 1)} behind the log "
        "(appended other than through claims): run `claims projections rebuild`, then write again"
    )


def ahead_of_the_log(projected: int, head: int) -> StorageError:
    """The refusal of a write while the projections have folded events the log no longer holds
    (folded up to ``projected``, the log ending at ``head``). The log refuses UPDATE, DELETE and
    TRUNCATE by its triggers, so only someone who could lift them has cut it short; a write would
    then take the positions of the events lost and hide the evidence, the projections' checkpoint
    past the head. The projections still answer from the lost events until a rebuild."""
    return StorageError(f"{the_log_cut_short(projected, head)}: run `claims projections rebuild` to write again")


def the_log_cut_short(projected: int, head: int) -> str:
    """What the projections' checkpoint past the log's head shows, as ``verify`` and a refused write say it."""
    lost = projected - head
    return (
        f"the log ends at position {head:,}, but its projections have folded events up to {projected:,}: "
        f"{lost:,} event{'s were' if lost != 1 else ' was'} deleted from its end outside claims"
    )


def rebuild(connection: Connection, progress: Callable[[int], None] | None = None) -> int:
    """Drop every projection row and replay the whole log; returns the number of events folded.

    The claims that retractions, reaffirmations and corrections change after their assertion are
    carried from batch to batch (up to CARRY_LIMIT of them) rather than read back: at 1M events on
    PostgreSQL, reading them back took 9 s of 68.

    Each batch's rows are written on a thread of its own (``claims.store.background``) while the
    next batch is decoded and folded: writing was half of a rebuild's time, and the driver writes
    without the interpreter lock. The writer has the connection to itself while it writes: the
    next page of the log is fetched before a batch is handed to it, and a batch that must read
    back a claim (``prepare``) waits for it first.
    """
    from claims.store.background import BackgroundWriter  # a thread pool: not for a single add

    for table in reversed(TABLES):
        connection.execute(delete(table))
    connection.execute(delete(checkpoints))
    carried = Carryover()
    changes = _changes_per_claim(connection, CARRY_LIMIT)
    carried.want(changes)
    # The tables refill from empty inside this one transaction: claims read back as they refill
    # (more changed claims than are carried) need the planner's statistics kept up with them.
    # Otherwise nothing reads the projections until the commit, and the statistics of the rows
    # deleted stand for the same rows written again: ANALYZE would only cost the writer thread
    # time (a 195k-event rebuild on PostgreSQL, interleaved: 5.6 to 6.6 s with it, 4.7 to 5.3 s
    # without).
    growing = GrowingTables(connection.dialect.name) if len(changes) >= CARRY_LIMIT else None
    writer = BackgroundWriter()

    def idle() -> Connection:
        writer.wait()
        return connection

    pages = eventlog.replay_pages(connection, batch=REBUILD_BATCH)
    count = 0
    try:
        page = next(pages, None)
        while page is not None:
            decoded = eventlog.decode(page)
            batch = prepare(idle, decoded, carried)
            batch.apply_all(decoded)
            writer.wait()
            page = next(pages, None)  # None: this batch is the last, and holds no rows back
            carried.keep(batch, last=page is None)
            if growing is not None:
                growing.wrote(batch.counts())  # before the rows are written (sorted in place)
            writer.submit(partial(batch.write, many_per_statement=True), connection)
            if growing is not None and page is not None:  # (the commit follows the last batch)
                tables = growing.due()
                if tables:  # after the rows it counts
                    writer.submit(analyze, connection, tables)
            count += len(decoded)
            if progress:
                progress(count)
        writer.wait()
    finally:
        try:
            writer.close()  # before the connection is used again, for a rollback if this failed
        finally:
            pages.close()
    return count


# Claims a rebuild keeps in memory between batches, at most, each with the rows it holds back
# (about 2 KB a claim: at 1M events on SQLite, 130k claims, a peak of 495 MB against 403 MB before
# they held rows back and 226 MB without carrying); any others that lifecycle events touch are
# read back from the rows written.
CARRY_LIMIT = 200_000

# The events that change a claim after its assertion (a verdict is only recorded beside it).
CHANGING_EVENTS = (ev.ClaimReaffirmed, ev.ClaimRetracted, ev.ClaimCorrected)


def _changes_per_claim(connection: Connection, limit: int) -> Counter[str]:
    """How many events change each claim after its assertion, for at most ``limit`` claims."""
    query = (
        select(log.c.stream_id, func.count())
        .where(log.c.type.in_([kind.TYPE for kind in CHANGING_EVENTS]))
        .group_by(log.c.stream_id)
        .limit(limit)
    )
    return Counter({stream_id.removeprefix("claim:"): int(count) for stream_id, count in connection.execute(query)})


def projection_counts(connection: Connection) -> Iterable[tuple[str, int]]:
    """Row counts of every projection table (for ``projections status``)."""
    for table in TABLES:
        yield table.name, int(connection.execute(select(func.count()).select_from(table)).scalar() or 0)


def current_versions(connection: Connection, claim_ids: Sequence[str]) -> Iterator[tuple[Any, ...]]:
    """The current claim_versions row of each of ``claim_ids`` that has one, as a tuple of the
    table's columns, _CHUNK ids a query, read on the driver (``bulk.rows_on_driver``).

    Current (open) versions are picked here, not in SQL: with "rec_to IS NULL" in the query,
    PostgreSQL may AND in an index scan over every open version of every claim.
    """
    for start in range(0, len(claim_ids), _CHUNK):
        for row in rows_on_driver(connection, claim_versions, "claim_id", claim_ids[start : start + _CHUNK]):
            if row[_VERSION_REC_TO] is None:
                yield row


# Positions in a claim_versions row as ``current_versions`` reads it (named access to a Row cost
# ~0.7 µs a field, and an import loads every claim a lifecycle entry touches).
_VERSION_COLUMNS = claim_versions.c.keys()
CLAIM_ID_AT, _ASSERTED_AT_AT = _VERSION_COLUMNS.index("claim_id"), _VERSION_COLUMNS.index("asserted_at")
_FIELD_NAMES = [f.name for f in dataclass_fields(ClaimFields)]
_FIELD_COLUMNS = itemgetter(*(_VERSION_COLUMNS.index("claim_id" if n == "claim" else n) for n in _FIELD_NAMES))
_VIA = _FIELD_NAMES.index("via")
# The columns ``Batch.load`` reads of a claim's acts and of its standing periods.
_ACTS = ("claim_id", "kind", "on_end", "on_key", "position")
_PERIODS = ("claim_id", "valid_from", "valid_to")


def version_fields(row: Sequence[Any]) -> ClaimFields:
    """The ClaimFields of a claim_versions row."""
    values = list(_FIELD_COLUMNS(row))
    values[_VIA] = tuple(load_payload(values[_VIA]))
    return ClaimFields(*values)


@dataclass(slots=True)
class _Claim:
    """A claim's current projection state while a batch is folded.

    ``periods`` are the standing periods as (start, end); ``version`` and ``period_rows`` are the
    open rows about to be inserted (with this batch, or with a later one when a
    ``Carryover`` holds them back), or None and [] when the open rows are already in the database
    (``stored_*`` then says so, and a change closes them by UPDATE).

    ``fields`` are what the open version says. A claim asserted in the batch has only its row
    until a later event asks for them (most never do: at 1M events, 870k claims, 130k of them
    changed later), so that an import builds no ClaimFields for the others.
    """

    claim_id: str
    asserted_at: int
    acts: list[Act]
    periods: list[tuple[str, str | None]]
    version: list[Any] | None = None
    period_rows: list[list[Any]] = field(default_factory=list)
    stored_version: bool = False
    stored_periods: bool = False
    known_fields: ClaimFields | None = None  # None: read them from ``version`` when asked

    @property
    def fields(self) -> ClaimFields:
        if self.known_fields is None:
            assert self.version is not None  # a claim without its row in memory was loaded with its fields
            self.known_fields = version_fields(self.version)
        return self.known_fields

    @fields.setter
    def fields(self, value: ClaimFields) -> None:
        self.known_fields = value


class Carryover:
    """The state of claims that later batches of one transaction will change, kept from batch to
    batch in memory rather than read back from the rows the earlier batches wrote.

    An import knows from its document which claims its lifecycle entries change, a rebuild from
    the log (a million events: 130k claims, most asserted in earlier batches). Read back, they
    cost a query per 500 claims, and in a large import each read must first wait for the writer
    thread to finish the rows in flight. A claim is kept until as many changes as were announced
    for it have been applied; one nobody announced is read from the database.

    A kept claim's open rows are held back, not written, until the batch that changes it: the
    change closes them in memory and they are written once, closed. Written open, each would be
    closed by an UPDATE, which rewrites the row and its index entries (at 1M events on
    PostgreSQL, 91k UPDATEs took 11 s of the writer thread's time).
    """

    def __init__(self) -> None:
        self._wanted: Counter[str] = Counter()  # changes still to come, by claim
        self._claims: dict[str, _Claim] = {}

    @property
    def holding(self) -> bool:
        """Whether claims are kept, with rows held back that a later batch must write."""
        return bool(self._claims)

    def want(self, changes: Iterable[str] | Counter[str]) -> None:
        """Announce changes to come: a claim id once per change, or a count of changes by claim."""
        self._wanted.update(changes)

    def hand_over(self, claim_ids: Iterable[str], batch: Batch) -> None:
        """Give the batch that changes them those of ``claim_ids`` that are kept, with the rows
        they hold back (written with that batch, or held back again by ``keep``)."""
        kept = self._claims
        for claim_id in claim_ids:
            if claim_id in kept:
                batch.add_claim(kept.pop(claim_id))

    def keep(self, batch: Batch, *, last: bool = False) -> None:
        """Keep the claims of a batch whose events are applied that have changes still to come,
        their open rows held back from the batch's rows. ``last``: the transaction's last batch,
        which holds nothing back and writes the rows of every claim still kept (one whose
        announced change never came: a repeated lifecycle entry is recorded once)."""
        if last:
            for claim in self._claims.values():
                batch.add_claim(claim)
            self._claims.clear()
            self._wanted.clear()
            return
        wanted = self._wanted
        held: set[int] = set()
        for claim_id in wanted.keys() & batch.claims.keys():
            left = wanted[claim_id] - batch.changes[claim_id]
            if left <= 0:
                del wanted[claim_id]
                continue
            wanted[claim_id] = left
            claim = batch.claims[claim_id]
            if claim.version is not None:
                held.add(id(claim.version))
            held.update(id(row) for row in claim.period_rows)
            self._claims[claim_id] = claim
        if held:
            batch.hold_back(held)


class Batch:
    """Rows to write for one batch of events, computed in memory, and the checkpoint they move to."""

    def __init__(self, last_position: int) -> None:
        self.last_position = last_position
        self.claims: dict[str, _Claim] = {}
        self.changes: Counter[str] = Counter()  # events changing each claim after its assertion
        self.rows: dict[str, list[Sequence[Any]]] = {table.name: [] for table in TABLES}
        # (rec_to, claim_id) of claims whose stored open row this batch closes, per table
        self.closed_versions: list[tuple[int, str]] = []
        self.closed_periods: list[tuple[int, str]] = []

    def load(self, connection: Connection, claim_ids: set[str]) -> None:
        """Bring the current state of claims asserted in earlier batches into memory."""
        wanted = sorted(claim_ids)
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            for row in current_versions(connection, chunk):
                claim_id = row[CLAIM_ID_AT]
                self.claims[claim_id] = _Claim(
                    claim_id,
                    row[_ASSERTED_AT_AT],
                    [],
                    [],
                    stored_version=True,
                    stored_periods=True,
                    known_fields=version_fields(row),
                )
            acts = rows_on_driver(connection, claim_acts, "claim_id", chunk, _ACTS)
            for claim_id, kind, on_end, key, position in acts:
                self.claims[claim_id].acts.append(Act(kind, on_end, key, position))
            periods = rows_on_driver(connection, claim_periods, "claim_id", chunk, _PERIODS, open_only=True)
            for claim_id, valid_from, valid_to in sorted(periods, key=itemgetter(0, 1)):  # each claim's in order
                self.claims[claim_id].periods.append((valid_from, valid_to))

    def add_claim(self, claim: _Claim) -> None:
        """Take in a claim carried from an earlier batch, with the open rows it held back."""
        self.claims[claim.claim_id] = claim
        if claim.version is not None:
            self.rows[claim_versions.name].append(claim.version)
        self.rows[claim_periods.name].extend(claim.period_rows)

    def hold_back(self, held: set[int]) -> None:
        """Leave out of this batch's rows those whose ``id`` is in ``held`` (``Carryover.keep``)."""
        for table in (claim_versions, claim_periods):
            self.rows[table.name] = [row for row in self.rows[table.name] if id(row) not in held]

    def apply_all(self, decoded: Iterable[tuple[int, ev.Event]]) -> None:
        for position, event in decoded:
            self.apply(position, event)

    def apply(self, position: int, event: ev.Event) -> None:
        match event:
            case ev.ClaimAsserted():  # most events: first
                self._assert(position, event)
            case ev.PartyRegistered():
                self._registry(parties, id=event.party, name=event.name, kind=event.kind, position=position)
            case ev.SpeakerRegistered():
                self._registry(
                    speakers, id=event.speaker, name=event.name, party=event.party, role=event.role, position=position
                )
            case ev.SourceRegistered():
                self._registry(
                    sources,
                    id=event.source,
                    name=event.name,
                    kind=event.kind,
                    url=event.url,
                    published=event.published,
                    position=position,
                )
            case ev.TopicRegistered():
                self._registry(topics, id=event.topic, title=event.title, position=position)
            case ev.ClaimReaffirmed() | ev.ClaimRetracted():
                kind = "retracted" if isinstance(event, ev.ClaimRetracted) else "reaffirmed"
                on_end, key = period_end(event.on), said_key(event.on)
                reason = getattr(event, "reason", None)
                act_row = (position, event.claim, kind, event.on, on_end, event.source, reason, key)  # its columns
                self.rows[claim_acts.name].append(act_row)
                claim = self._changed(position, event)
                claim.acts.append(Act(kind, on_end, key, position))
                self._refresh_periods(claim, position)
            case ev.ClaimCorrected():
                claim = self._changed(position, event)
                before = claim.fields.said_end
                self._close_version(claim, position)
                claim.fields = apply_correction(claim.fields, event.changes)
                self._open_version(claim, position, correction=event.reason)
                if claim.fields.said_end != before:
                    self._refresh_periods(claim, position)
            case ev.VerdictRecorded():
                self.rows[verdicts.name].append((position, event.claim, event.rating, event.by, event.url))

    def _changed(self, position: int, event: ev.ClaimRetracted | ev.ClaimReaffirmed | ev.ClaimCorrected) -> _Claim:
        """The claim an act or a correction changes. Every handler refuses one on a claim the log
        never asserted, so only a line appended other than through claims can hold one: a rebuild
        names it in one line rather than failing with a KeyError. It cannot be folded, and the log
        cannot be rewritten to lose it."""
        claim = self.claims.get(event.claim)
        if claim is None:
            raise StorageError(
                f"event {position} of the log ({event.TYPE}) cannot be folded: no claim {event.claim} is "
                "asserted before it (it was appended other than through claims)"
            )
        return claim

    def _assert(self, position: int, event: ev.ClaimAsserted) -> None:
        """A new claim's open rows, straight from its event: its first version, and the one standing
        period of a claim without acts, from its said date on (``standing_periods``). This runs for
        most events of an import."""
        claim_id, said_end = event.claim, period_end(event.said_on)
        version = _version_row(event, said_end, position, position, None)
        period = [claim_id, position, said_end, None, None]  # claim_periods' order
        self.claims[claim_id] = _Claim(claim_id, position, [], [(said_end, None)], version, [period])
        self.rows[claim_versions.name].append(version)
        self.rows[claim_periods.name].append(period)

    def _registry(self, table: Table, **row: Any) -> None:
        self.rows[table.name].append(tuple(row[column.name] for column in table.columns))

    def _open_version(self, claim: _Claim, position: int, correction: str | None) -> None:
        f = claim.fields
        row = _version_row(f, f.said_end, position, claim.asserted_at, correction)
        self.rows[claim_versions.name].append(row)
        claim.version = row

    def _close_version(self, claim: _Claim, position: int) -> None:
        if claim.version is not None:
            claim.version[_VERSION_REC_TO] = position
        elif claim.stored_version:
            self.closed_versions.append((position, claim.claim_id))
            claim.stored_version = False

    def _refresh_periods(self, claim: _Claim, position: int) -> None:
        """Recompute the standing periods; when they change, close the open rows and open new ones."""
        wanted = standing_periods(claim.fields.said_end, claim.acts)
        if wanted == claim.periods:
            return
        for row in claim.period_rows:
            row[_PERIOD_REC_TO] = position
        if claim.stored_periods:
            self.closed_periods.append((position, claim.claim_id))
            claim.stored_periods = False
        claim.periods = wanted
        claim_id = claim.claim_id
        claim.period_rows = [[claim_id, position, start, None, end] for start, end in wanted]  # claim_periods' order
        self.rows[claim_periods.name].extend(claim.period_rows)

    def counts(self) -> dict[str, int]:
        """Rows to insert into each projection table that gets any."""
        return {name: len(rows) for name, rows in self.rows.items() if rows}

    def write(self, connection: Connection, *, many_per_statement: bool = False) -> None:
        """Close superseded rows that were already stored, insert every new row and move the
        checkpoint (see ``bulk.insert_rows`` for ``many_per_statement``)."""
        for table, closed in ((claim_versions, self.closed_versions), (claim_periods, self.closed_periods)):
            if closed:
                run_on_driver(connection, _close_statement(table.name, connection.dialect.paramstyle), closed)
        for table in TABLES:
            rows = self.rows[table.name]
            if table is claim_versions or table is claim_periods:
                rows.sort(key=_BY_CLAIM)
            insert_rows(connection, table, rows, many_per_statement=many_per_statement)
        _set_checkpoint(connection, self.last_position)


def _version_row(
    f: ClaimFields | ev.ClaimAsserted, said_end: str, position: int, asserted_at: int, correction: str | None
) -> list[Any]:
    """A claim_versions row, open, in its columns' order: the fields ``f`` (a claim's, or those an
    assertion gives it) as recorded from ``position`` on."""
    return [
        f.claim,
        position,
        None,
        f.party,
        f.topic,
        f.speaker,
        f.said_on,
        said_end,
        f.source,
        canonical_bytes(list(f.via)).decode("utf-8") if f.via else "[]",
        f.text,
        f.quote,
        f.proposition,
        f.stance,
        f.responds_to,
        f.relation,
        asserted_at,
        correction,
        said_key(f.said_on),
    ]


# Rows are sequences of values in their table's column order (``bulk.insert_rows``), the order of
# claims/projections/tables.py, built by ``Batch`` positionally (registry rows by name, being few);
# tests/store/test_row_layout.py holds each builder to its table. A claim's open rows are lists:
# the change that closes one sets its rec_to.
_VERSION_REC_TO = claim_versions.columns.keys().index("rec_to")
_PERIOD_REC_TO = claim_periods.columns.keys().index("rec_to")
_BY_CLAIM = itemgetter(0)  # claim_id, first in claim_versions and claim_periods

# The statements a batch writes are run on the driver (``bulk.run_on_driver``): they cost less
# there, and a single add's are pipelined on PostgreSQL (``bulk.pipelined``), where SQLAlchemy's
# own statements cannot run. The checkpoint's upsert (ON CONFLICT) needs SQLite 3.24 or later (engine.MINIMUM_SQLITE).


@lru_cache(maxsize=8)
def _close_statement(table: str, paramstyle: str) -> str:
    """Close a claim's open rows in ``table``: parameters (rec_to, claim_id)."""
    to, claim = parameter_marks(paramstyle, 2)
    return f'UPDATE "{table}" SET "rec_to" = {to} WHERE "claim_id" = {claim} AND "rec_to" IS NULL'


@lru_cache(maxsize=4)
def _checkpoint_statement(paramstyle: str) -> str:
    """Set the projection's checkpoint, whether it has one yet or not: parameters (name, position)."""
    name, position = parameter_marks(paramstyle, 2)
    return (
        f'INSERT INTO "{checkpoints.name}" ("name", "position") VALUES ({name}, {position}) '
        'ON CONFLICT ("name") DO UPDATE SET "position" = excluded."position"'
    )


def _set_checkpoint(connection: Connection, position: int) -> None:
    run_on_driver(connection, _checkpoint_statement(connection.dialect.paramstyle), [(PROJECTION, position)])
