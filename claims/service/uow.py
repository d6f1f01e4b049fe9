"""The unit of work: one write transaction holding the log's lock; rolls back unless committed.

Events appended through it are folded into the projections in the same transaction, so readers
never see an event without its projection, nor a projection ahead of the log.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType

from sqlalchemy import Connection, Engine

from claims.domain.events import Event
from claims.projections import projector
from claims.store import eventlog
from claims.store.engine import begin_write
from claims.store.eventlog import Pending, StoredEvent


class UnitOfWork:
    """``with UnitOfWork(engine, user) as uow: …; uow.commit()``."""

    def __init__(self, engine: Engine, recorded_by: str) -> None:
        self._engine = engine
        self.recorded_by = recorded_by
        self._connection: Connection | None = None
        self.appended: list[StoredEvent] = []

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            raise RuntimeError("the unit of work is not open")
        return self._connection

    def __enter__(self) -> UnitOfWork:
        self._connection = begin_write(self._engine)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        connection = self.connection
        try:
            if connection.in_transaction():
                connection.rollback()
        finally:
            connection.close()
            self._connection = None

    def append(self, event: Event, expected_version: int) -> StoredEvent:
        """Append one event whose stream must be at ``expected_version``, and fold it."""
        return self.append_all([Pending(event, expected_version)])[0]

    def append_all(self, pending: Sequence[Pending]) -> list[StoredEvent]:
        stored = eventlog.append(self.connection, pending, self.recorded_by)
        projector.fold(self.connection, stored)
        self.appended.extend(stored)
        return stored

    def commit(self) -> None:
        self.connection.commit()
