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
are left as they were folded: a claim with two retractions or reaffirmations at times of one day,
recorded out of the order of their instants, gets its corrected status from
``claims projections rebuild``.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 12:00:00.000000
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, date column, key column)
_KEYED = (("claim_versions", "said_on", "said_key"), ("claim_acts", "on_date", "on_key"))
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _said_key(text: str) -> str:
    """``claims.domain.dates.said_key`` as of this revision, for a date already stored (and so valid)."""
    if not _DATETIME.match(text):
        return text
    moment = datetime.fromisoformat(text.replace("z", "Z").replace("t", "T"))
    with contextlib.suppress(OverflowError):
        moment = moment.astimezone(UTC)
    return f"{text[:10]}T{moment.replace(tzinfo=None).isoformat(timespec='microseconds')}"


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


def downgrade() -> None:
    for table, _, keyed in reversed(_KEYED):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column(keyed)
