"""A zone's kept Feature is locked after its plots when its municipalities are computed again.

``zone_municipality_fill`` (a zone drawn, redrawn or moved, a municipality's border
redrawn) wrote the zones' municipalities, whose statement triggers kept the zones'
Features (``zone_feature``, migration 0134) and locked their kept rows, and only then
placed the zones' plots in their municipalities, locking each plot it moved. A plot write
takes them the other way round: the plot's row, then its zone's figures and kept row. A
zone redrawn while one of its plots was written could therefore deadlock, and PostgreSQL
cancelled one of the two. Now the fill keeps the Features itself once the plots are
placed (the triggers stand aside while it writes), so both take a zone's kept row last.

Revision ID: 0136
Revises: 0135
"""

from alembic import op

from locations import sql

revision = "0136"
down_revision = "0135"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    sql.apply(conn, "functions", "zone_feature_after_zone_municipality", 2)
    sql.apply(conn, "functions", "zone_municipality_fill", 3)


def downgrade() -> None:
    conn = op.get_bind()
    sql.apply(conn, "functions", "zone_municipality_fill", 2)
    sql.apply(conn, "functions", "zone_feature_after_zone_municipality", 1)
