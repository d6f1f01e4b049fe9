"""The index on events' recorded_at also holds the position: ``--known-at`` finds it in one probe.

``eventlog.position_at`` asked for ``max(position) WHERE recorded_at <= T``. PostgreSQL answered it
by walking the primary key backwards and reading each row's recorded_at until one was early
enough; SQLite by reading every row at or before T. On a 1M-event log, a ``--known-at`` halfway
through it took 0.16 to 0.34 s with the pages cached, 7.6 s (PostgreSQL) and 41 s (SQLite) with
them on disk. Recorded time never decreases along the log (SPEC section 3), so the last position
at or before T is the last entry at or before T in (recorded_at, position) order: 0.1 ms.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 08:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch_op:
        batch_op.drop_index("ix_events_recorded_at")
        batch_op.create_index("ix_events_recorded_at_position", ["recorded_at", "position"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("events") as batch_op:
        batch_op.drop_index("ix_events_recorded_at_position")
        batch_op.create_index("ix_events_recorded_at", ["recorded_at"], unique=False)
