"""The land-supply trigger writes its zone-months in key order.

Two statements that changed plots of the same zones at once could take the row locks of
``zone_supply_month`` in different orders and deadlock; written in (zone, month) order,
the second waits for the first instead.

Revision ID: 0114
Revises: 0113
"""

from alembic import op

from locations import sql

revision = "0114"
down_revision = "0113"
branch_labels = None
depends_on = None


def upgrade() -> None:
    sql.apply(op.get_bind(), "functions", "zone_supply_after_event", 2)


def downgrade() -> None:
    sql.apply(op.get_bind(), "functions", "zone_supply_after_event", 1)
