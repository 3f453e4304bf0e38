"""Land supply recomputed with a plan made for each call: one plot by the index, a million
by a hash join.

``supply_contributions`` v2 was planned once for any array of plots; for a first load or
a rebuild of a million plots that plan walked the index on ``plot_event.plot_id`` a
million times (a rebuild took 4 minutes instead of under one). v3 runs the same query by
``EXECUTE``, planned with the arrays in hand.

Revision ID: 0112
Revises: 0111
"""

from alembic import op

from locations import sql

revision = "0112"
down_revision = "0111"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP FUNCTION supply_contributions(bigint[], bigint[])")
    sql.apply(op.get_bind(), "functions", "supply_contributions", 3)


def downgrade() -> None:
    op.execute("DROP FUNCTION supply_contributions(bigint[], bigint[])")
    sql.apply(op.get_bind(), "functions", "supply_contributions", 2)
