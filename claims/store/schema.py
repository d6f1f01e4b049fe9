"""The event log table and the metadata every table of claims hangs on.

The naming convention gives constraints stable names, so Alembic migrations can refer to them on
both backends. ``recorded_at`` is stored as the exact RFC 3339 text that is hashed, and the payload
as its canonical JSON, so that nothing a backend does to timestamps or JSON can break the chain.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, MetaData, String, Table, Text, UniqueConstraint

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# The schema revisions of alembic/versions, oldest first: the last is the one this code reads and
# writes. A database at an earlier one is refused with the command that upgrades it
# (``claims.api.Tracker``), not with the first column it lacks; known here without Alembic, which
# the query path does not import. tests/store/test_migrations.py holds the list to the migrations.
SCHEMA_REVISIONS = ("0001", "0002", "0003", "0004", "0005", "0006")

# A stream's versions are unique: the guard of a stream expected to be new (``eventlog.write``).
STREAM_VERSION_UNIQUE = "uq_events_stream_version"

events = Table(
    "events",
    metadata,
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("stream_id", String(200), nullable=False),
    Column("stream_version", Integer, nullable=False),
    Column("type", String(64), nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("said_at", String(40), nullable=True),
    Column("recorded_at", String(27), nullable=False),
    Column("recorded_by", String(200), nullable=False),
    Column("payload", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("stream_id", "stream_version", name=STREAM_VERSION_UNIQUE),
    # --known-at: the last position recorded at or before a time, one probe (migration 0005).
    Index("ix_events_recorded_at_position", "recorded_at", "position"),
)
