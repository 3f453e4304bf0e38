"""The kept verified months of a statement's plots are summed per zone and month in one
pass, and each municipality's from its zones' months (``zone_summary_add`` v6).

v5 summed the changes per zone and day first (nearly one row per plot), then grouped
those rows twice over, for the zones and, joined to their zones, for the municipalities,
by a text owner compared under the database's collation; month and day went through a
timestamp in the session's time zone and through numeric. Over the million plots of a
first load (the plot ``INSERT``'s statement trigger, and ``zone_summary_rebuild()``), the
whole function took 54-71 s before and 35-58 s after, alternated on the same plots at
load 9-12. The sums are of integers, so the months and days are the same
(``tests/test_zone_figures.py`` and ``tests/test_first_load_figures.py`` hold them to a
recomputation).

Revision ID: 0141
Revises: 0140
"""

from alembic import op

from locations import sql

revision = "0141"
down_revision = "0140"
branch_labels = None
depends_on = None


def upgrade() -> None:
    sql.apply(op.get_bind(), "functions", "zone_summary_add", 6)


def downgrade() -> None:
    sql.apply(op.get_bind(), "functions", "zone_summary_add", 5)
