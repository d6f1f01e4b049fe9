"""Running a write again when the database refused it only because another writer was in the way.

Every write of claims is one transaction. When the database answers that it is busy or locked
(SQLite), or that the transaction lost a serialization check, was chosen as a deadlock victim or
could not get a lock (PostgreSQL), or that it cannot take the connection yet, the transaction was
rolled back whole and nothing was recorded, so ``run`` starts it again from the beginning: at most
``ATTEMPTS`` times, waiting with exponential backoff and jitter in between. SQLite first waits up
to 60 s on its own busy handler (the engine's ``timeout``), so these attempts are a last resort.

Nothing else is retried, and each failure becomes one ClaimsError:

- a stale expected version or an id already taken stays the ConflictError the user must see;
- a connection lost during the write (the server ended the session, the network failed) is a
  StorageError: the server rolled the transaction back, so nothing was recorded; only when the
  connection was lost while committing is the outcome unknown, and the message says so (running
  the command again is safe: what is already recorded is skipped).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import TypeVar

from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import DBAPIError

from claims.domain.errors import StorageError

T = TypeVar("T")

ATTEMPTS = 6
FIRST_DELAY = 0.05  # seconds; doubled after each attempt, at most MAX_DELAY, times a jitter in [0.5, 1)
MAX_DELAY = 2.0
# serialization_failure, deadlock_detected, lock_not_available, too_many_connections, cannot_connect_now
_POSTGRES_TRANSIENT = frozenset({"40001", "40P01", "55P03", "53300", "57P03"})
_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6

_committing: ContextVar[bool] = ContextVar("claims_committing", default=False)


def run(engine: Engine, work: Callable[[], T]) -> T:
    """Run ``work`` (one whole transaction) and return its result, retrying transient refusals."""
    if not event.contains(engine, "commit", _note_commit):
        event.listen(engine, "commit", _note_commit)
    for attempt in range(1, ATTEMPTS + 1):
        token = _committing.set(False)
        try:
            return work()
        except DBAPIError as error:
            if error.connection_invalidated:
                raise _lost_connection(error, while_committing=_committing.get()) from None
            if not is_transient(error):
                raise
            if attempt == ATTEMPTS:
                raise StorageError(
                    f"the database stayed busy after {ATTEMPTS} attempts ({first_line(error)}); "
                    "nothing was recorded: try again"
                ) from None
            _pause(min(MAX_DELAY, FIRST_DELAY * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0))
        finally:
            _committing.reset(token)
    raise AssertionError("unreachable")  # pragma: no cover


def is_transient(error: DBAPIError) -> bool:
    """Whether the database rolled the transaction back because of other writers (safe to rerun)."""
    original = error.orig
    sqlstate = getattr(original, "sqlstate", None)
    if sqlstate is not None:
        return sqlstate in _POSTGRES_TRANSIENT
    code = getattr(original, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)
    message = str(original).lower()
    return "database is locked" in message or "database table is locked" in message


def first_line(error: BaseException) -> str:
    original = getattr(error, "orig", None) or error
    lines = str(original).strip().splitlines()
    return lines[0] if lines else type(original).__name__


def _lost_connection(error: DBAPIError, *, while_committing: bool) -> StorageError:
    reason = first_line(error)
    if while_committing:
        return StorageError(
            f"lost the connection to the database while committing ({reason}): the write may or may not "
            "be recorded; running the command again is safe (what is already recorded is skipped)"
        )
    return StorageError(f"lost the connection to the database during the write ({reason}); nothing was recorded")


def _note_commit(connection: Connection) -> None:
    _committing.set(True)


def _pause(seconds: float) -> None:
    time.sleep(seconds)
