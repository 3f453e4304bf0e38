"""The kept verification months are summed per day, not per day of every month.

``zone_summary_add`` built each month's 31 days by joining every zone-month to the days
1-31 (2.7 million rows for a million plots: half of a bulk load's cost of the kept
figures); it now sums the plots of each day into its place of the month's array, and
groups the plots by zone and day before it groups them by month.

Revision ID: 0120
Revises: 0119
"""

from alembic import op

from locations import sql

revision = "0120"
down_revision = "0119"
branch_labels = None
depends_on = None


def upgrade() -> None:
    sql.apply(op.get_bind(), "functions", "zone_summary_add", 3)


def downgrade() -> None:
    sql.apply(op.get_bind(), "functions", "zone_summary_add", 2)
