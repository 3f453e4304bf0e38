"""Each zone's GeoJSON outline, properties and Feature are kept as the text zone reads write.

A page of OGC API zone items (and of GET /zones) wrote each zone's properties anew per
request: a record of 35 columns from the zone, its municipality and region, the names of
every municipality it lies in and its kept plot figures turned into JSON, and its outline
transformed to CRS84 and written as GeoJSON, some 0.1 ms of database CPU per zone, most
of the request at a million plots. ``zone_feature`` keeps the three texts per zone (fewer
than a few thousand rows), computed by ``zone_feature_refresh`` in the writing statement's
own transaction: statement triggers on zone, zone_summary (so every plot write that changes a
zone's figures), zone_municipality, municipality and region. A read joins a page of zone
ids to it and sends each kept Feature as it is (in CRS84; in another CRS, or with a
ranking's columns, written around the kept properties): the same bytes. The keys of the
default order are kept with them and indexed, and zones get an index by name, so that a
page in either order is read down an index instead of sorting every matching zone.

Revision ID: 0134
Revises: 0133
"""

from alembic import op

from locations import sql

revision = "0134"
down_revision = "0133"
branch_labels = None
depends_on = None

SOURCES = ("zone", "summary", "zone_municipality", "municipality", "region")
TRIGGERS = {
    "zone_feature_zone_insert": "zone", "zone_feature_zone_update": "zone",
    "zone_feature_summary_insert": "zone_summary", "zone_feature_summary_update": "zone_summary",
    "zone_feature_summary_delete": "zone_summary",
    "zone_feature_municipalities_insert": "zone_municipality",
    "zone_feature_municipalities_update": "zone_municipality",
    "zone_feature_municipalities_delete": "zone_municipality",
    "zone_feature_municipality": "municipality", "zone_feature_region": "region",
}


def upgrade() -> None:
    op.execute("""
        CREATE TABLE zone_feature (
            zone_id integer NOT NULL,
            region_code text NOT NULL,
            municipality_name text NOT NULL,
            name text NOT NULL,
            geometry json NOT NULL,
            properties json NOT NULL,
            feature text NOT NULL,
            CONSTRAINT zone_feature_pkey PRIMARY KEY (zone_id),
            CONSTRAINT zone_feature_zone_id_fkey
                FOREIGN KEY (zone_id) REFERENCES zone (id) ON DELETE CASCADE
        )
    """)
    # A page in the default order (region, municipality, name) read down this index, and
    # one by name (sortby=name) down zone_name_idx, stop after the page's zones instead of
    # sorting every match: the zones' joins gave no index that order.
    op.execute("CREATE INDEX zone_feature_listing_idx ON zone_feature "
               "(region_code, municipality_name, name, zone_id)")
    op.execute("CREATE INDEX zone_name_idx ON zone (name, id)")
    conn = op.get_bind()
    sql.apply(conn, "functions", "zone_feature_refresh", 1)
    for source in SOURCES:
        sql.apply(conn, "functions", f"zone_feature_after_{source}", 1)
    # Kept before the triggers exist would miss a write in between; the migration's
    # transaction holds every source for both.
    op.execute("LOCK TABLE zone, zone_summary, zone_municipality, municipality, region "
               "IN SHARE MODE")
    for name in TRIGGERS:
        sql.apply(conn, "triggers", name, 1)
    op.execute("SELECT zone_feature_refresh(NULL, NULL)")


def downgrade() -> None:
    for name, table in TRIGGERS.items():
        op.execute(f"DROP TRIGGER {name} ON {table}")
    for source in SOURCES:
        op.execute(f"DROP FUNCTION zone_feature_after_{source}()")
    op.execute("DROP FUNCTION zone_feature_refresh(integer[], integer[])")
    op.execute("DROP INDEX zone_name_idx")
    op.execute("DROP TABLE zone_feature")
