"""Said dates of one day in the order of their instants: a sort key stored beside each said date.

Claims and acts of one period end (``said_end``, ``on_end``) were ordered by their said date as
written, so that times with different offsets, a space for the ``T`` or a fraction of a second
sorted against time: ``2023-03-02T10:00+05:30`` (04:30 UTC) after ``2023-03-02T06:00Z``. The new
columns ``claim_versions.said_key`` and ``claim_acts.on_key`` hold ``claims.domain.dates.said_key``
of the date: a year, month or day as written, a date-time as its calendar date and its instant in
UTC. ``narrative``, ``compare``, ``list`` and ``timeline`` order by them, and the projector applies
a claim's acts in their order.

The keys of the rows already projected are computed here, by a copy of that function as it was
written for this revision (a migration must not change when the code does). The standing periods
are left as they were folded, with a claim's acts of one day applied in the order of their text,
which may not be that of their instants: where a claim has two acts at times of one day whose
two orders differ, the migration leaves a checkpoint named ``acts-in-written-order`` at the
position the projections had folded. ``claims init``, ``claims db upgrade`` and ``claims projections
status`` then count those claims and say to run ``claims projections rebuild``, which drops the
checkpoint with every other.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 12:00:00.000000
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, date column, key column)
_KEYED = (("claim_versions", "said_on", "said_key"), ("claim_acts", "on_date", "on_key"))
_DATETIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?(Z|z|[+-]\d{2}:\d{2})\Z", re.ASCII
)


def _said_key(text: str) -> str:
    """``claims.domain.dates.said_key`` as of this revision, for a date already stored (and so valid)."""
    m = _DATETIME.match(text)
    if not m:
        return text
    hour, minute, second = int(m[4]), int(m[5]), int(m[6] or 0)
    offset = 0 if m[8] in ("Z", "z") else (1 if m[8][0] == "+" else -1) * (int(m[8][1:3]) * 3600 + int(m[8][4:6]) * 60)
    seconds = 86_400 + hour * 3600 + minute * 60 + second - offset
    return f"{text[:10]}T{seconds:06d}.{(m[7] or '').ljust(6, '0')}"


# Two acts of one claim at times of one day whose order as written (what the projector sorted them
# by before this revision) is not the order of their keys (their instants).
_ACTS_IN_WRITTEN_ORDER = (
    "SELECT 1 FROM claim_acts a JOIN claim_acts b ON a.claim_id = b.claim_id AND a.on_end = b.on_end"
    " AND a.position < b.position WHERE length(a.on_date) > 10 AND length(b.on_date) > 10"
    " AND ((a.on_date{collate} <= b.on_date{collate}) <> (a.on_key{collate} <= b.on_key{collate}))"
)
_WRITTEN_ORDER = "acts-in-written-order"


def _collate() -> str:
    """Code point order on PostgreSQL, as the projector compared the dates (SQLite compares so)."""
    return ' COLLATE "C"' if op.get_bind().dialect.name == "postgresql" else ""


def upgrade() -> None:
    connection = op.get_bind()
    for table, dated, keyed in _KEYED:
        op.add_column(table, sa.Column(keyed, sa.String(length=40), nullable=True))
        # A year, month or day is its own key: one pass. Date-times, far fewer and repeated, get
        # theirs through a table of each distinct one's key (no index on the dates to probe).
        op.execute(f'UPDATE "{table}" SET "{keyed}" = "{dated}" WHERE length("{dated}") <= 10')
        times = connection.execute(sa.text(f'SELECT DISTINCT "{dated}" FROM "{table}" WHERE length("{dated}") > 10'))
        pairs = [{"said": said, "ordered": _said_key(said)} for (said,) in times]
        if pairs:
            keys = sa.table("said_keys_0006", sa.column("said", sa.String), sa.column("ordered", sa.String))
            op.execute("CREATE TEMPORARY TABLE said_keys_0006 (said VARCHAR(40) PRIMARY KEY, ordered VARCHAR(40))")
            connection.execute(keys.insert(), pairs)
            looked_up = f'SELECT k.ordered FROM said_keys_0006 k WHERE k.said = "{table}"."{dated}"'
            op.execute(f'UPDATE "{table}" SET "{keyed}" = ({looked_up}) WHERE length("{dated}") > 10')
            op.execute("DROP TABLE said_keys_0006")
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column(keyed, existing_type=sa.String(length=40), nullable=False)
    if connection.execute(sa.text(f"SELECT EXISTS ({_ACTS_IN_WRITTEN_ORDER.format(collate=_collate())})")).scalar():
        op.execute(
            "INSERT INTO projection_checkpoints (name, position) "
            f"SELECT '{_WRITTEN_ORDER}', position FROM projection_checkpoints WHERE name = 'claims'"
        )


def downgrade() -> None:
    op.execute(f"DELETE FROM projection_checkpoints WHERE name = '{_WRITTEN_ORDER}'")
    for table, _, keyed in reversed(_KEYED):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column(keyed)
