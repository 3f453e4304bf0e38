"""Plots placed by their zone where the zone alone decides (``zone_placement``), and
``plot_municipality`` in PL/pgSQL, intersecting a plot with its zone's parts only when
there are two or more of them to choose from.

``plot_municipality`` v2 was a SQL function of sub-selects, which PostgreSQL never
inlines: each call planned and ran its query anew, about 90 us a plot, and with a single
part to choose from it still intersected the plot with that municipality's whole outline.
A million plots took a minute and a half of one core in the synthetic load's row trigger
and 20 s on two in the import. In the synthetic data 980,000 of a million plots lie in
zones that decide alone; the bulk loads now join ``zone_placement`` once and call the
function for the other 18,000. The answers are the same (``tests/test_plot_municipality.py``
holds them to the areas).

Revision ID: 0128
Revises: 0127
"""

from alembic import op

from locations import sql

revision = "0128"
down_revision = "0127"
branch_labels = None
depends_on = None


def upgrade() -> None:
    sql.apply(op.get_bind(), "views", "zone_placement", 1)
    sql.apply(op.get_bind(), "functions", "plot_municipality", 3)


def downgrade() -> None:
    sql.apply(op.get_bind(), "functions", "plot_municipality", 2)
    op.execute("DROP VIEW zone_placement")
