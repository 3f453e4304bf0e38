"""Each zone's distances to the nearest infrastructure are kept, as each plot's are.

A zone ranking by distance (``GET /zones?sort=motorway``, the rankings page) looked up every
zone's nearest motorway junction on each request: 1,566 lookups for Styria at a million
plots, most of the route's SQL. ``zone_proximity`` keeps the five distances of
``plot_proximity`` per zone, computed again when a zone is drawn or redrawn (a row trigger
on zone) and for every zone when infrastructure changes (a statement trigger: a few thousand
lookups); a deleted zone takes its row along.

Revision ID: 0123
Revises: 0122
"""

from alembic import op

from locations import sql

revision = "0123"
down_revision = "0122"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE zone_proximity (
            zone_id integer NOT NULL,
            motorway_km double precision,
            rail_station_km double precision,
            rail_freight_km double precision,
            airport_km double precision,
            public_transport_km double precision,
            computed_at timestamp with time zone DEFAULT now() NOT NULL,
            CONSTRAINT zone_proximity_pkey PRIMARY KEY (zone_id),
            CONSTRAINT zone_proximity_zone_id_fkey
                FOREIGN KEY (zone_id) REFERENCES zone (id) ON DELETE CASCADE
        )
    """)
    conn = op.get_bind()
    sql.apply(conn, "functions", "zone_proximity_refresh", 1)
    sql.apply(conn, "functions", "zone_proximity_after_zone", 1)
    sql.apply(conn, "functions", "zone_proximity_after_infrastructure", 1)
    sql.apply(conn, "triggers", "zone_proximity_zone", 1)
    sql.apply(conn, "triggers", "zone_proximity_infrastructure", 1)
    op.execute("SELECT zone_proximity_refresh(NULL)")


def downgrade() -> None:
    op.execute("DROP TRIGGER zone_proximity_infrastructure ON infrastructure")
    op.execute("DROP TRIGGER zone_proximity_zone ON zone")
    op.execute("DROP FUNCTION zone_proximity_after_infrastructure()")
    op.execute("DROP FUNCTION zone_proximity_after_zone()")
    op.execute("DROP FUNCTION zone_proximity_refresh(integer[])")
    op.execute("DROP TABLE zone_proximity")
