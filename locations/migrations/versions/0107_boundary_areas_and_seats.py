"""Areas from the boundaries, official areas beside them, and seats marked seat or centroid.

``area_km2`` of a region or municipality is now its boundary's area, kept by a trigger
(``boundary_area_derive``), so no writer can leave an old or typed-in area behind (the
API reported Gorenjska's area from the old demo value); the area a file states (GURS's
``POV_KM2``, GISCO's ``AREA_KM2``) goes to ``official_area_km2`` beside it. A
municipality's ``seat`` is its town's position (labels, distances); ``seat_kind`` tells
a seat (the town) from an official centroid (GURS's ``CEN_E``/``CEN_N``), which a
crescent-shaped municipality may even have outside itself.

Revision ID: 0107
Revises: 0106
"""

from alembic import op

from locations import sql

revision = "0107"
down_revision = "0106"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("region", "municipality"):
        op.execute(f"ALTER TABLE {table} ADD COLUMN official_area_km2 double precision, "
                   f"ADD CONSTRAINT {table}_official_area_km2_check "
                   "CHECK (official_area_km2 > 0::double precision)")
    op.execute("ALTER TABLE municipality ADD COLUMN seat_kind text, "
               "ADD CONSTRAINT municipality_seat_kind_check "
               "CHECK (seat_kind = ANY (ARRAY['seat'::text, 'centroid'::text]))")
    op.execute("UPDATE municipality SET seat_kind = 'seat' WHERE seat IS NOT NULL")
    conn = op.get_bind()
    sql.apply(conn, "functions", "boundary_area_derive", 1)
    sql.apply(conn, "triggers", "region_area", 1)
    sql.apply(conn, "triggers", "municipality_area", 1)
    # The areas as the boundaries have them now (the triggers fire on this update).
    for table in ("region", "municipality"):
        op.execute(f"UPDATE {table} SET area_km2 = NULL WHERE boundary IS NOT NULL")


def downgrade() -> None:
    op.execute("DROP TRIGGER municipality_area ON municipality")
    op.execute("DROP TRIGGER region_area ON region")
    op.execute("DROP FUNCTION boundary_area_derive()")
    op.execute("ALTER TABLE municipality DROP COLUMN seat_kind")
    for table in ("region", "municipality"):
        op.execute(f"ALTER TABLE {table} DROP COLUMN official_area_km2")
