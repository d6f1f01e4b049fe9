"""What the tests of large writes share: a generated document, every row a write leaves behind,
the statements the engine runs, and a row the database itself refuses."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Connection, select
from sqlalchemy import event as sqlalchemy_event

from bench.generate import generate
from claims.api import Tracker
from claims.projections.projector import TABLES
from claims.projections.tables import claim_acts, claim_periods, claim_versions
from claims.store.schema import events

# Batches small enough that a document of a few hundred claims is written in dozens of them, its
# lifecycle entries folded onto claims asserted several batches earlier.
SMALL_BATCH = 37
# Fields of a log line that do not depend on when or by which process it was written.
SAME_IN_EVERY_IMPORT = ("position", "stream_id", "stream_version", "type", "schema_version", "said_at", "payload")


def write_document(tmp_path: Path, claims_count: int = 300) -> Path:
    """A generated document of ``claims_count`` claims, written as JSON."""
    return write_documents(tmp_path, generate(claims_count))[0]


def claims_changed(document: Path) -> set[str]:
    """The claims the document's retractions, reaffirmations and corrections change."""
    entries = json.loads(document.read_text(encoding="utf-8"))["events"]
    return {entry[action] for entry in entries for action in ("retract", "reaffirm", "correct") if action in entry}


def contents(tracker: Tracker) -> dict[str, list[tuple[Any, ...]]]:
    """Every projection table's rows and the log's lines (their write-independent fields), in order."""
    with tracker.engine.connect() as connection:
        found = {table.name: rows_of(connection, table) for table in TABLES}
        columns = [events.c[name] for name in SAME_IN_EVERY_IMPORT]
        found["events"] = [tuple(row) for row in connection.execute(select(*columns).order_by(events.c.position))]
    return found


def rows_of(connection: Connection, table: Any) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in connection.execute(select(table).order_by(*table.primary_key.columns))]


def statements_run(tracker: Tracker, seen: Callable[[str], None] | None = None) -> list[str]:
    """Every statement the tracker's connections send to the database, from their next checkout
    on, through SQLAlchemy or on the driver's own cursor (a single add's reads, the bulk writes).
    On SQLite, what SQLite itself runs: its trace, with the parameters written in, and a statement
    again each time one of its triggers runs (an INSERT into the log once per row). On PostgreSQL,
    what psycopg's client-side cursors are given (not a named, server-side cursor's). ``seen`` is
    told each statement as it runs, on the thread that runs it."""
    statements: list[str] = []

    def record(statement: str) -> None:
        statements.append(statement)
        if seen is not None:
            seen(statement)

    recording = _recording_cursor(record)

    def trace(driver: Any, *_: Any) -> None:
        if tracker.engine.dialect.name == "sqlite":
            driver.set_trace_callback(record)
        else:
            driver.cursor_factory = recording

    sqlalchemy_event.listen(tracker.engine, "checkout", trace)
    return statements


def _recording_cursor(record: Callable[[str], None]) -> type[psycopg.Cursor[Any]]:
    """A psycopg cursor that tells ``record`` each statement it is given to run."""

    class Recording(psycopg.Cursor[Any]):
        def execute(self, query: Any, params: Any = None, **options: Any) -> Any:
            record(str(query))
            return super().execute(query, params, **options)

        def executemany(self, query: Any, params_seq: Any, **options: Any) -> None:
            record(str(query))
            super().executemany(query, params_seq, **options)

        def copy(self, statement: Any, params: Any = None, **options: Any) -> Any:
            record(str(statement))
            return super().copy(statement, params, **options)

    return Recording


def reads_back(statements: list[str]) -> list[str]:
    """Reads of claims' projection rows (``is any claim recorded?``, LIMIT 1 and no WHERE, aside)."""
    tables = (claim_versions, claim_periods, claim_acts)
    return [
        s
        for s in statements
        if s.lstrip().upper().startswith("SELECT") and any(f"FROM {t.name}" in s for t in tables) and "WHERE" in s
    ]


def refuse_claim_versions_of(connection: Connection, claim_id: str) -> None:
    """Make the database itself refuse one claim's new projection rows, as a real failure would."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(
            "CREATE TRIGGER refuse_one BEFORE INSERT ON claim_versions"
            f" WHEN NEW.claim_id = '{claim_id}' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
        )
    else:
        connection.exec_driver_sql(
            f"ALTER TABLE claim_versions ADD CONSTRAINT refuse_one CHECK (claim_id <> '{claim_id}') NOT VALID"
        )


def busy_lifecycles(claims_count: int = 300, busy: int = 30) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two documents whose lifecycle entries reach everything a batch can carry or read back.

    The first is a generated document (each of its changed claims changed once) with, on its first
    ``busy`` claims, changes spread over many batches: a retraction and a reaffirmation on the day
    said, a correction of the said date (the standing periods are recomputed), a correction of the
    text, a verdict, then a second retraction and a reaffirmation from another source. The second
    holds only changes to claims of the first: imported after it, they are read back or carried
    from before the unit.
    """
    first = generate(claims_count)
    busy_claims = first["claims"][:busy]
    rounds: list[list[dict[str, Any]]] = [
        [{"retract": c["id"], "on": c["said_on"], "source": "source-1", "reason": "withdrawn"} for c in busy_claims],
        [{"reaffirm": c["id"], "on": c["said_on"], "source": "source-2"} for c in busy_claims],
        [{"correct": c["id"], "said_on": "2018-01-01", "reason": "misdated"} for c in busy_claims],
        [{"correct": c["id"], "text": f"Corrected again {c['id']}.", "reason": "typo"} for c in busy_claims],
        [{"verdict": c["id"], "rating": "misleading", "by": "source-3"} for c in busy_claims],
        [{"retract": c["id"], "on": c["said_on"], "source": "source-4", "reason": "denied"} for c in busy_claims],
    ]
    first["events"] = [entry for round_ in rounds for entry in round_] + first["events"]
    later = [{"reaffirm": c["id"], "on": c["said_on"], "source": "source-5"} for c in first["claims"][busy : 2 * busy]]
    second = {
        "format": first["format"],
        "events": [
            *({"reaffirm": c["id"], "on": c["said_on"], "source": "source-6"} for c in busy_claims),
            *later,
            *({"correct": c["id"], "said_on": "2018-06-01", "reason": "misdated again"} for c in busy_claims),
        ],
    }
    return first, second


def write_documents(tmp_path: Path, *documents: dict[str, Any]) -> list[Path]:
    paths = []
    for number, document in enumerate(documents):
        path = tmp_path / f"document-{number}.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        paths.append(path)
    return paths
