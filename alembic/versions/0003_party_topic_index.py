"""An index on claim_versions (party, topic, rec_to) for the questions of one party on one topic.

``narrative PARTY --topic T`` and ``compare … --topic T`` read only the claims they return, not
every claim of the party.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 12:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("claim_versions") as batch_op:
        batch_op.create_index("ix_claim_versions_party_topic", ["party", "topic", "rec_to"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("claim_versions") as batch_op:
        batch_op.drop_index("ix_claim_versions_party_topic")
