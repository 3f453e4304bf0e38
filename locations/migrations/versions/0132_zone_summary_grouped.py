"""The kept zone figures of a statement's plots are summed by zone, status, readiness tier
and brownfield first, and each zone's twenty-six figures filtered from those groups
(``zone_summary_add`` v5) instead of from every plot.

A first load of a million plots filtered and summed each figure a million times in its
plot ``INSERT``'s statement trigger (19 s of 70 at load 16); the groups are a few per
zone. Sums of numeric are exact, so every figure is the same
(``tests/test_zone_figures.py`` holds them to a recomputation).

Revision ID: 0132
Revises: 0131
"""

from alembic import op

from locations import sql

revision = "0132"
down_revision = "0131"
branch_labels = None
depends_on = None


def upgrade() -> None:
    sql.apply(op.get_bind(), "functions", "zone_summary_add", 5)


def downgrade() -> None:
    sql.apply(op.get_bind(), "functions", "zone_summary_add", 4)
