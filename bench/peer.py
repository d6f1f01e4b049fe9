"""The peer: the ``eventsourcing`` library storing the same events as our import, on both backends.

Every party, speaker, source and topic of the generated document becomes an aggregate with its
created event; every claim an aggregate whose created event carries the claim's fields, and every
later retraction, reaffirmation or correction one more event on that claim's aggregate. So the
library stores exactly as many events as our import does, with the same content.

Two paths are measured, with ``Application.save`` (eventsourcing 9):

- bulk: one ``save`` of many aggregates (``batch`` at a time), its fastest way in;
- per aggregate: one ``save`` per claim, one transaction each, as ``claims add`` does.

SQLite runs with ``synchronous=NORMAL`` like claims (the library leaves SQLite's default FULL),
so both sides promise the same durability. ``eventsourcing`` is a benchmark-only dependency (the
``bench`` extra); without it every function here reports why and nothing runs.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from bench.measure import pg_parts, timed

SKIP_ENVIRONMENT = "BENCH_NO_EVENTSOURCING"


def unavailable() -> str | None:
    """None when the library can be measured; otherwise why its baselines are n/a."""
    if os.environ.get(SKIP_ENVIRONMENT):
        return f"eventsourcing skipped ({SKIP_ENVIRONMENT} is set)"
    try:
        import eventsourcing.application  # noqa: F401
    except ImportError:
        return "eventsourcing not installed (pip install -e '.[bench]')"
    return None


@cache  # the library registers each class by its topic: define them once per process
def _models() -> tuple[type[Any], type[Any]]:
    from eventsourcing.domain import Aggregate, event

    class Registered(Aggregate):
        """A party, speaker, source or topic."""

        @event("Registered")
        def __init__(self, kind: str, key: str, fields: dict[str, Any]) -> None:
            self.kind, self.key, self.fields = kind, key, fields

    class Claim(Aggregate):
        @event("Asserted")
        def __init__(self, fields: dict[str, Any]) -> None:
            self.fields = fields
            self.retracted_on: str | None = None

        @event("Retracted")
        def retract(self, on: str, source: str | None, reason: str | None) -> None:
            self.retracted_on = on

        @event("Reaffirmed")
        def reaffirm(self, on: str, source: str) -> None:
            self.retracted_on = None

        @event("Corrected")
        def correct(self, changes: dict[str, Any], reason: str) -> None:
            self.fields = {**self.fields, **changes}

    return Registered, Claim


_REGISTRIES = (("parties", "party"), ("speakers", "speaker"), ("sources", "source"), ("topics", "topic"))


def _lifecycle(claim: Any, entry: dict[str, Any]) -> None:
    if "retract" in entry:
        claim.retract(on=entry["on"], source=entry.get("source"), reason=entry.get("reason"))
    elif "reaffirm" in entry:
        claim.reaffirm(on=entry["on"], source=entry["source"])
    else:
        changes = {k: v for k, v in entry.items() if k not in ("correct", "reason")}
        claim.correct(changes=changes, reason=entry["reason"])


@contextmanager
def _sqlite_like_claims() -> Iterator[None]:
    """Open the library's SQLite connections with ``synchronous=NORMAL``, as claims opens its own."""
    from eventsourcing import sqlite

    original = sqlite.SQLiteConnectionPool._create_connection

    def create(pool: Any) -> Any:
        connection = original(pool)
        connection._sqlite_conn.execute("PRAGMA synchronous=NORMAL")
        return connection

    sqlite.SQLiteConnectionPool._create_connection = create  # type: ignore[method-assign]
    try:
        yield
    finally:
        sqlite.SQLiteConnectionPool._create_connection = original  # type: ignore[method-assign]


def _environment(backend: str, target: str) -> dict[str, str]:
    """The library's own configuration variables (eventsourcing 9: PERSISTENCE_MODULE and friends)."""
    if backend == "sqlite":
        return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": target}
    parts = pg_parts()
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": target,
        "POSTGRES_HOST": parts["host"],
        "POSTGRES_PORT": parts["port"],
        "POSTGRES_USER": parts["user"],
        "POSTGRES_PASSWORD": parts["password"],
    }


@contextmanager
def _application(backend: str, target: str) -> Iterator[Any]:
    from eventsourcing.application import Application

    class Peer(Application[Any]):
        name = "ClaimsPeer"

    with _sqlite_like_claims():
        application = Peer(env=_environment(backend, target))
        try:
            yield application
        finally:
            application.close()


def bulk(document: dict[str, Any], backend: str, target: str, batch: int = 1000) -> tuple[float, int]:
    """Seconds and events to store the document's events with one ``save`` per ``batch`` aggregates.

    ``target``: an SQLite file path, or the name of an empty PostgreSQL database.
    """
    registered_class, claim_class = _models()
    later: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in document.get("events", []):
        later[entry.get("retract") or entry.get("reaffirm") or entry["correct"]].append(entry)

    with _application(backend, target) as application:

        def store() -> int:
            stored = 0
            registry = [
                registered_class(kind=kind, key=item["id"], fields=item)
                for section, kind in _REGISTRIES
                for item in document.get(section, [])
            ]
            stored += len(application.save(*registry))
            claims = document["claims"]
            for start in range(0, len(claims), batch):
                aggregates = []
                for fields in claims[start : start + batch]:
                    claim = claim_class(fields=fields)
                    for entry in later.get(fields["id"], ()):
                        _lifecycle(claim, entry)
                    aggregates.append(claim)
                stored += len(application.save(*aggregates))
            return stored

        seconds, stored = timed(store)
    return seconds, stored


def per_aggregate(claims: list[dict[str, Any]], backend: str, target: str) -> tuple[float, int]:
    """Seconds and events to store one new claim aggregate per ``save`` (one transaction each)."""
    _, claim_class = _models()
    with _application(backend, target) as application:

        def store() -> int:
            return sum(len(application.save(claim_class(fields=fields))) for fields in claims)

        seconds, stored = timed(store)
    return seconds, stored
