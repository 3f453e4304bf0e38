"""One plot's write recomputes its land supply through the index on plot_event.plot_id.

``supply_contributions`` v1 took NULL for "every plot"; that alternative kept the planner
from the index, so the trigger read the whole audit trail for a single status change
(100 ms at 20,000 plots, seconds at a million). v2 always takes the plots it is about,
and the rebuild names every plot.

Revision ID: 0111
Revises: 0110
"""

from alembic import op

from locations import sql

revision = "0111"
down_revision = "0110"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    sql.apply(conn, "functions", "supply_contributions", 2)
    sql.apply(conn, "functions", "zone_supply_rebuild", 2)


def downgrade() -> None:
    conn = op.get_bind()
    sql.apply(conn, "functions", "zone_supply_rebuild", 1)
    sql.apply(conn, "functions", "supply_contributions", 1)
