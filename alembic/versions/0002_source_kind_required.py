"""Every source has a kind: SourceRegistered schema version 2 (``other`` when none was given).

The log is never touched: version 1 events keep their stored payload (``"kind": null``) and hash,
and are read through the upcaster ``claims.domain.events._source_kind_required``. Only the
``sources`` projection changes, to what folding the upcast events gives: ``other`` where it held
null. Going down restores null for exactly the sources whose registration event is a version 1
event without a kind, which is what the version 1 projector folds; sources registered as version 2
keep ``other`` (their payload says so, and version 1 code reads such a payload as it is).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 12:00:00.000000
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_sources = sa.table("sources", sa.column("id", sa.String), sa.column("kind", sa.String))
_events = sa.table(
    "events",
    sa.column("stream_id", sa.String),
    sa.column("type", sa.String),
    sa.column("schema_version", sa.Integer),
    sa.column("payload", sa.Text),
)


def upgrade() -> None:
    op.execute(_sources.update().where(_sources.c.kind.is_(None)).values(kind="other"))


def downgrade() -> None:
    registrations = op.get_bind().execute(
        sa.select(_events.c.payload).where(_events.c.type == "SourceRegistered", _events.c.schema_version == 1)
    )
    without_kind = [
        payload["source"] for payload in map(json.loads, registrations.scalars()) if not payload.get("kind")
    ]
    for start in range(0, len(without_kind), 500):
        chunk = without_kind[start : start + 500]
        op.execute(_sources.update().where(_sources.c.id.in_(chunk)).values(kind=None))
