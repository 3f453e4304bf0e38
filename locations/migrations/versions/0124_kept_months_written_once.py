"""The kept months' statements are written once each.

``zone_summary_add`` built the 31 days of a verification month twice, once for the zones'
months and once for the municipalities'; it now builds both in one statement. The land
supply's municipality months were summed by three copies of one upsert (zone-months
inserted, deleted or updated, and a zone given to another municipality): they now pass
their zone-months with a sign to ``municipality_supply_add``. The figures are the same.

Revision ID: 0124
Revises: 0123
"""

from alembic import op

from locations import sql

revision = "0124"
down_revision = "0123"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    sql.apply(conn, "functions", "zone_summary_add", 4)
    sql.apply(conn, "functions", "municipality_supply_add", 1)
    sql.apply(conn, "functions", "municipality_supply_after_change", 2)
    sql.apply(conn, "functions", "municipality_supply_after_zone_move", 2)


def downgrade() -> None:
    conn = op.get_bind()
    sql.apply(conn, "functions", "municipality_supply_after_zone_move", 1)
    sql.apply(conn, "functions", "municipality_supply_after_change", 1)
    op.execute("DROP FUNCTION municipality_supply_add(zone_supply_month[], integer[], integer[])")
    sql.apply(conn, "functions", "zone_summary_add", 3)
