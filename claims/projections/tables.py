"""The projection tables, on the same metadata as the log so Alembic sees them all."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, String, Table, Text

from claims.store.schema import metadata

ID = String(120)
DAY = String(10)

checkpoints = Table(
    "projection_checkpoints",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("position", BigInteger, nullable=False),
)

parties = Table(
    "parties",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", Text, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("position", BigInteger, nullable=False),
)

speakers = Table(
    "speakers",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", Text, nullable=False),
    Column("party", ID, nullable=False),
    Column("role", Text),
    Column("position", BigInteger, nullable=False),
)

sources = Table(
    "sources",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", Text, nullable=False),
    Column("kind", String(32)),
    Column("url", Text),
    Column("published", String(40)),
    Column("position", BigInteger, nullable=False),
)

topics = Table(
    "topics",
    metadata,
    Column("id", ID, primary_key=True),
    Column("title", Text, nullable=False),
    Column("position", BigInteger, nullable=False),
)

claim_versions = Table(
    "claim_versions",
    metadata,
    Column("claim_id", ID, primary_key=True),
    Column("rec_from", BigInteger, primary_key=True),
    Column("rec_to", BigInteger),
    Column("party", ID, nullable=False),
    Column("topic", ID, nullable=False),
    Column("speaker", ID),
    Column("said_on", String(40), nullable=False),
    Column("said_end", DAY, nullable=False),
    Column("source", ID, nullable=False),
    Column("via", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("quote", Text),
    Column("proposition", ID),
    Column("stance", String(8)),
    Column("responds_to", ID),
    Column("relation", String(12)),
    Column("asserted_at", BigInteger, nullable=False),
    Column("correction", Text),
    # What orders said dates of one said_end (``dates.said_key``): a time's instant in UTC (migration 0006).
    Column("said_key", String(40), nullable=False),
    Index("ix_claim_versions_topic", "topic", "rec_to"),
    Index("ix_claim_versions_party_topic", "party", "topic", "rec_to"),  # by party alone too
)

claim_periods = Table(
    "claim_periods",
    metadata,
    Column("claim_id", ID, primary_key=True),
    Column("rec_from", BigInteger, primary_key=True),
    Column("valid_from", DAY, primary_key=True),
    Column("rec_to", BigInteger),
    Column("valid_to", DAY),
    # Every column the standing test reads, so that it never needs the table row (migration 0004).
    Index("ix_claim_periods_standing", "claim_id", "rec_from", "rec_to", "valid_from", "valid_to"),
)

claim_acts = Table(
    "claim_acts",
    metadata,
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("claim_id", ID, nullable=False),
    Column("kind", String(12), nullable=False),
    Column("on_date", String(40), nullable=False),
    Column("on_end", DAY, nullable=False),
    Column("source", ID),
    Column("reason", Text),
    Column("on_key", String(40), nullable=False),  # ``dates.said_key`` of on_date (migration 0006)
    Index("ix_claim_acts_claim", "claim_id"),
    Index("ix_claim_acts_on_end", "on_end"),
)

verdicts = Table(
    "verdicts",
    metadata,
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("claim_id", ID, nullable=False),
    Column("rating", Text, nullable=False),
    Column("by_source", ID, nullable=False),
    Column("url", Text),
    Index("ix_verdicts_claim", "claim_id"),
)
