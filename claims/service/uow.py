"""The unit of work: one write transaction holding the log's lock; rolls back unless committed.

Handlers append events to it; it keeps them pending (``records`` already answers as if they were
written, so a later command in the same unit sees an earlier one) and writes them in one batch on
``flush`` or ``commit``: the events with their hash chain, then the projections folded from them,
in the same transaction. Readers never see an event without its projection.

``CheckingUnit`` takes the same appends and writes nothing: it finds every problem of a document
that is rejected anyway, without the lock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from claims.domain.events import Event
from claims.projections import projector
from claims.service.records import Records, Registered
from claims.store import eventlog
from claims.store.bulk import pipelined
from claims.store.engine import begin_write, restore_page_cache, widen_page_cache
from claims.store.eventlog import Pending
from claims.store.schema import events
from claims.store.statistics import GrowingTables, analyze

if TYPE_CHECKING:
    from claims.store.background import BackgroundWriter

# Events a large unit holds before it writes them. Larger batches walk the B-trees in fewer passes
# (written in place, a 1M-event SQLite import took 91 s at 20,000 and 88 s at 50,000), but the
# writer thread writes the last one while the commit waits: at 1M events on PostgreSQL that wait
# was 11 s at 50,000 and 3.6 s at 20,000, and the batches held in memory are smaller.
FLUSH_EVERY = 20_000

# A batch of at most this many events, written in place, is pipelined (``_pipelined_if_few``):
# enough for any single command, while a larger batch keeps PostgreSQL's COPY, which cannot be
# pipelined (``bulk.insert_rows``).
PIPELINED_AT_MOST = 16


class Unit(Protocol):
    """What a handler needs of a unit: what is recorded, and a place to append what it decides."""

    @property
    def records(self) -> Records: ...

    def append(self, event: Event, expected_version: int, payload: dict[str, Any] | None = None) -> None: ...


class UnitOfWork:
    """``with UnitOfWork(engine, user) as uow: …; uow.commit()``."""

    def __init__(self, engine: Engine, recorded_by: str, *, registered: Registered | None = None) -> None:
        """``registered``: the registry entries known to be committed (shared with the units
        before and after this one, ``Records``); this unit adds what it knew once it commits."""
        self._engine = engine
        self.recorded_by = recorded_by
        self._registered = registered
        self._connection: Connection | None = None
        self._records: Records | None = None
        self._pending: list[Pending] = []
        self.count = 0  # events appended through this unit
        self._growing = GrowingTables(engine.dialect.name)
        self._large = False  # set by expect_large
        self._page_cache: int | None = None  # the SQLite setting to restore after a large unit
        self._writer: BackgroundWriter | None = None  # set by write_in_background
        self._head: eventlog.Head | None = None  # of the rows this unit has written or handed to its writer
        self._carried = projector.Carryover()

    @property
    def connection(self) -> Connection:
        """The unit's connection, once the writes in flight on it (a large unit's) are done."""
        connection = self._open()
        if self._writer is not None:
            self._writer.wait()
        return connection

    def _open(self) -> Connection:
        if self._connection is None:
            raise RuntimeError("the unit of work is not open")
        return self._connection

    def _connect(self) -> Connection:
        """``connection``, for those that ask for it only when they must read (records, prepare)."""
        return self.connection

    @property
    def records(self) -> Records:
        """What is recorded, including events appended to this unit but not yet written."""
        if self._records is None:
            self._records = Records(self._connect, self._registered)
        return self._records

    def __enter__(self) -> UnitOfWork:
        self._connection = begin_write(self._engine)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        writer, self._writer = self._writer, None
        try:
            if writer is not None:
                writer.close()  # a write still running ends before the rollback
        finally:
            connection = self.connection
            try:
                if connection.in_transaction():
                    connection.rollback()
            finally:
                self._restore_page_cache(connection)
                connection.close()
                self._connection = None
                self._records = None
                self._pending = []
                self._large, self._page_cache, self._head = False, None, None
                self._carried = projector.Carryover()

    def expect_large(self) -> None:
        """Ready the connection for a large write, once (a unit that flushes early, a rebuild): a
        wider SQLite page cache until the unit ends."""
        if not self._large:
            self._large = True
            self._page_cache = widen_page_cache(self.connection)

    def will_change(self, claim_ids: Iterable[str]) -> None:
        """Announce the changes that events appended later will make, a claim id once for each
        retraction, reaffirmation or correction (an importer knows them from its document): the
        claims' projection state is carried from batch to batch until then rather than read back
        (``projector.Carryover``)."""
        self._carried.want(claim_ids)

    def write_in_background(self) -> None:
        """From now on, write each flushed batch on a thread of its own while the caller computes
        the next one (``claims.store.background``); used by a unit that flushes early."""
        if self._writer is None:
            from claims.store.background import BackgroundWriter  # a thread pool: not for a single add

            self._writer = BackgroundWriter()

    def _restore_page_cache(self, connection: Connection) -> None:
        """Give the pooled connection back with SQLite's own page cache; one that cannot be told
        is dropped rather than pooled with a cache meant for one large write."""
        if self._page_cache is None:
            return
        try:
            restore_page_cache(connection, self._page_cache)
        except (connection.dialect.loaded_dbapi.Error, SQLAlchemyError):
            connection.invalidate()

    def append(self, event: Event, expected_version: int, payload: dict[str, Any] | None = None) -> None:
        """Accept an event whose stream must be at ``expected_version`` when it is written (a
        stream this unit began is checked now, and a wrong expectation is a ConflictError here;
        the log checks the others when the batch is written). ``payload``: ``event.payload()``,
        when the caller has made it already."""
        if payload is None:
            payload = event.payload()
        self.records.note(event, payload, expected_version)
        self._pending.append(Pending(event, expected_version, payload))
        self.count += 1
        if len(self._pending) >= FLUSH_EVERY:
            self.expect_large()
            self.write_in_background()
            self.flush()
            tables = self._growing.due()  # the rest of a large unit plans with current statistics
            if tables:
                self._write(analyze, tables)

    def flush(self, *, last: bool = False) -> None:
        """Write the pending events and fold them into the projections (still uncommitted).

        In the background (``write_in_background``) the rows are written while this goes on: the
        events' while their projection rows are computed, the projections' while the caller
        prepares the next batch. Until the last flush (``last``, by ``commit``) the rows of claims
        carried for a change still to come may be held back (``projector.Carryover``): inside the
        unit's transaction the projection tables can lack them while the checkpoint is past their
        events. Nothing in a unit reads them back (``Records`` keeps the unit's own claims in
        memory); a reader added inside a unit must not rely on them before the commit."""
        if not self._pending:
            if last and self._carried.holding:  # the rows held back, with no event left to carry them
                assert self._head is not None  # rows are held back only by a batch this unit wrote
                batch = projector.Batch(self._head.position)
                self._carried.keep(batch, last=True)
                self._write(partial(batch.write, many_per_statement=self._writer is not None))
            return
        # The head is known when this unit wrote before, or read it with its registry check (it holds
        # the log's lock, so the head cannot have moved since); otherwise it is read now. Before its
        # first batch, the unit also learns how far the projections have folded the log.
        known, projected = self._head_and_projected() if self._head is None else (self._head, None)
        if projected is not None and projected < known.position:  # appended other than through claims
            raise projector.behind_the_log(projected, known.position)
        if projected is not None and projected > known.position:  # deleted from the end other than through claims
            raise projector.ahead_of_the_log(projected, known.position)
        prepared = eventlog.prepare(
            self._connect, self._pending, self.recorded_by, after=known, same_transaction=self._head is not None
        )
        # Streams this unit began were checked as their events were appended (``Records.note``);
        # the log checks the others (at 1M events, 130k lifecycle streams: 5 s of PostgreSQL's time).
        records = self.records
        expected = {s: v for s, v in prepared.expected.items() if not records.begun_here(s)}
        prepared = prepared._replace(expected=expected)
        pending, self._pending = self._pending, []
        decoded = [(position, p.event) for position, p in zip(prepared.positions, pending, strict=True)]
        batch = projector.prepare(self._connect, decoded, self._carried)
        if self._writer is not None:
            self._writer.wait()  # one batch in flight at most: its rows are held until written
        many_per_statement = self._writer is not None
        with self._pipelined_if_few(len(decoded)):
            self._write(partial(eventlog.write, many_per_statement=many_per_statement), prepared)
            self._head = prepared.head
            batch.apply_all(decoded)
            self._carried.keep(batch, last=last)
            written = batch.counts()  # before the rows are written (sorted in place)
            self._write(partial(batch.write, many_per_statement=many_per_statement))
        self._growing.wrote({events.name: len(decoded), **written})

    def _head_and_projected(self) -> tuple[eventlog.Head, int]:
        """The log's head and the position the projections have folded, as the registry check read
        them (``Records.head``), or read now in one statement, under the log's lock either way."""
        records = self.records
        if records.head is not None:
            return records.head, records.projected
        return projector.head_and_checkpoint(self._connect())

    @contextmanager
    def _pipelined_if_few(self, count: int) -> Iterator[None]:
        """Around a batch's writes, once its reads are done: a batch of few events (a single
        command's) written in place goes to PostgreSQL in one round trip (``bulk.pipelined``; one
        more when the log must check a changed claim's version first), where a single add made
        one for each statement (loops of 2,000 adds on a 115k-event log, interleaved: 2.30 to
        2.42 ms an add before, 1.84 to 1.87 ms after). Its COMMIT is not in it: a write that
        fails is then known to have failed before the COMMIT was sent, and nothing was recorded
        (``claims.service.retry``)."""
        if self._writer is not None or count > PIPELINED_AT_MOST:
            yield
            return
        # A stream expected to be new that exists already, refused by the events' INSERT, can now
        # surface while the projections' statements are sent, or when the pipeline ends.
        with eventlog.stream_conflicts(), pipelined(self._open()):
            yield

    def _write(self, write: Callable[..., None], *args: Any) -> None:
        """``write(connection, *args)`` on the unit's connection: now, or on the writer thread
        after the writes handed to it before (``write_in_background``)."""
        connection = self._open()
        if self._writer is None:
            write(connection, *args)
        else:
            self._writer.submit(write, connection, *args)

    def commit(self) -> None:
        self.flush(last=True)
        self.connection.commit()
        if self._records is not None:
            self._records.committed(None if self._head is None else (self._head.position, self._head.hash))


class CheckingUnit:
    """``with CheckingUnit(engine) as unit: …``: a unit that only checks. Handlers append to it as
    to a UnitOfWork, and ``records`` takes in what they append, so that a later command sees an
    earlier one; nothing is ever written. It reads in a read-only transaction of its own and takes
    no lock: checking a document that is rejected anyway holds no writer up, and no writer holds it
    up.

    Its reads see one snapshot of the log (SQLite's deferred transaction keeps the one its first
    read takes; PostgreSQL's is asked for, REPEATABLE READ), so its problems are those of the
    document against the record as it stood at one moment, which an import of the same document
    may find changed."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Connection | None = None
        self._records: Records | None = None

    def __enter__(self) -> CheckingUnit:
        connection = self._engine.connect()
        try:
            if connection.dialect.name == "postgresql":
                connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            connection.begin()
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        connection, self._connection, self._records = self._connection, None, None
        if connection is not None:
            connection.close()  # and its transaction, which wrote nothing, with it

    def _open(self) -> Connection:
        if self._connection is None:
            raise RuntimeError("the checking unit is not open")
        return self._connection

    @property
    def records(self) -> Records:
        """What is recorded, including what was appended to this unit."""
        if self._records is None:
            self._records = Records(self._open)
        return self._records

    def append(self, event: Event, expected_version: int, payload: dict[str, Any] | None = None) -> None:
        """Take the event into ``records``, as ``UnitOfWork.append`` does, and write nothing."""
        self.records.note(event, event.payload() if payload is None else payload, expected_version)
