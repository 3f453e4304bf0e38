"""Each plot's outline is kept as the GeoJSON (CRS84) a search page writes, in a column
PostgreSQL computes itself from the boundary.

A page of 500 plots (a region's plots by id, issue 26's 30 ms) transformed each outline to
CRS84, turned its rings counter-clockwise and wrote it as GeoJSON on every request, the
same text for an unchanged plot every time. ``plot.boundary_geojson`` holds that text (as
json, so a Feature takes it without parsing it again), a stored generated column: every
write that sets a plot's boundary, whichever path it takes (an update, an import, a bulk
load, a lineage split or merge), gets it recomputed by the database in the same statement,
so no write path can leave it stale, and a write that leaves the boundary alone (a status)
does not recompute it. Search pages in CRS84 read it (``plot_search_features`` v2 and the
statement in locations/search.py); other CRSs still transform on the fly.

Adding the column rewrites plot once (about a minute at a million plots).

Revision ID: 0138
Revises: 0137
"""

from alembic import op

from locations import sql

revision = "0138"
down_revision = "0137"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The expression is locations.geojson.geometry_sql('boundary') for CRS84, written out:
    # a migration's effect must not change when that code does (tests/test_plot_geojson_kept.py
    # holds the two equal).
    op.execute("""
        ALTER TABLE plot ADD COLUMN boundary_geojson json NOT NULL
            GENERATED ALWAYS AS (
                CAST(ST_AsGeoJSON(ST_ForcePolygonCCW(ST_Transform(boundary, 4326)), 7) AS json)
            ) STORED
    """)
    sql.apply(op.get_bind(), "functions", "plot_search_features", 2)


def downgrade() -> None:
    sql.apply(op.get_bind(), "functions", "plot_search_features", 1)
    op.execute("ALTER TABLE plot DROP COLUMN boundary_geojson")
