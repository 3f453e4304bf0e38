"""Region levels (country, NUTS-1/2/3, national levels such as Austrian districts) and zones
that lie in several municipalities.

Regions were one flat list of NUTS-3 codes, found by code prefix: a district imported as
``AT201`` was taken for part of ``AT20``, and a municipality could belong to one region
only, so importing districts moved Graz out of its NUTS-3 region. Now every region has a
``level`` and a ``parent`` of a coarser level; national levels have codes with a tag that
no NUTS prefix can match (``AT-D-601``). ``municipality_region`` holds each municipality's
region at every level (kept by triggers), so a search, a scoring run or an account's scope
given at any level covers everything below it. Existing regions get their level from their
code, and their missing NUTS ancestors are created (boundaries the union of their parts).

``municipality.boundary_approximate`` marks a boundary drawn where no official one was at
hand (the demo's Slovenian municipalities), so maps and answers can say so.

``zone_municipality`` lists the municipalities a zone lies in (kept by triggers from the
boundaries), so a zone shared by neighbouring municipalities is found from each and their
editors keep the plots in their part.

Revision ID: 0113
Revises: 0112
"""

from alembic import op

from locations import sql

revision = "0113"
down_revision = "0112"
branch_labels = None
depends_on = None

#: Names of the NUTS ancestors the platform's regions have had; others are named by code.
KNOWN_NAMES = {
    "AT": "Österreich", "AT1": "Ostösterreich", "AT2": "Südösterreich",
    "AT3": "Westösterreich", "AT21": "Kärnten", "AT22": "Steiermark",
    "SI": "Slovenija", "SI0": "Slovenija", "SI03": "Vzhodna Slovenija",
    "SI04": "Zahodna Slovenija",
}

CODE_CHECK = (
    "code ~ CASE level WHEN 'country'::text THEN '^[A-Z]{2}$'::text "
    "WHEN 'nuts1'::text THEN '^[A-Z]{2}[0-9A-Z]$'::text "
    "WHEN 'nuts2'::text THEN '^[A-Z]{2}[0-9A-Z]{2}$'::text "
    "WHEN 'nuts3'::text THEN '^[A-Z]{2}[0-9A-Z]{3}$'::text "
    "WHEN 'district'::text THEN '^[A-Z]{2}-D-[0-9A-Z]{1,12}$'::text ELSE NULL::text END")
LEVELS = "ARRAY['country'::text, 'nuts1'::text, 'nuts2'::text, 'nuts3'::text, 'district'::text]"

OBJECTS = [
    *[("functions", name, 1) for name in (
        "region_hierarchy_derive", "region_membership_fill", "region_membership_after_change",
        "zone_municipality_fill", "municipality_boundary_after_change",
        "zone_municipality_after_change", "plot_municipality")],
    *[("triggers", name, 1) for name in (
        "region_hierarchy", "region_membership_region", "municipality_boundary",
        "zone_municipality_zone")],
]


def upgrade() -> None:
    names = ", ".join(f"('{code}', '{name}')" for code, name in KNOWN_NAMES.items())
    op.execute(f"""
        ALTER TABLE region ADD COLUMN level text, ADD COLUMN parent_id integer,
            DROP CONSTRAINT region_code_check;
        UPDATE region SET level = CASE length(code) WHEN 2 THEN 'country' WHEN 3 THEN 'nuts1'
                                                    WHEN 4 THEN 'nuts2' ELSE 'nuts3' END;
        INSERT INTO region (code, name, country, level)
        SELECT DISTINCT a.code, coalesce(n.name, a.code), left(a.code, 2),
               CASE length(a.code) WHEN 2 THEN 'country' WHEN 3 THEN 'nuts1' ELSE 'nuts2' END
        FROM region r
        CROSS JOIN LATERAL (VALUES (left(r.code, 2)), (left(r.code, 3)), (left(r.code, 4))) a(code)
        LEFT JOIN (VALUES {names}) n(code, name) ON n.code = a.code
        WHERE length(a.code) < length(r.code)
          AND NOT EXISTS (SELECT 1 FROM region x WHERE x.code = a.code);
        UPDATE region r SET parent_id = p.id FROM region p
        WHERE r.level <> 'country' AND p.code = left(r.code, length(r.code) - 1);
        UPDATE region a SET boundary = u.boundary, area_km2 = ST_Area(u.boundary) / 1e6
        FROM (SELECT a.id, ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_Union(r.boundary)), 3))
                               AS boundary
              FROM region a JOIN region r ON r.level = 'nuts3' AND r.code LIKE a.code || '%'
              WHERE a.boundary IS NULL AND r.boundary IS NOT NULL
              GROUP BY a.id) u
        WHERE a.id = u.id;
        ALTER TABLE region ALTER COLUMN level SET NOT NULL,
            ADD CONSTRAINT region_code_check CHECK ({CODE_CHECK}),
            ADD CONSTRAINT region_code_in_country CHECK (left(code, 2) = country::text),
            ADD CONSTRAINT region_level_check CHECK (level = ANY ({LEVELS})),
            ADD CONSTRAINT region_parent_id_fkey FOREIGN KEY (parent_id) REFERENCES region (id)
                ON DELETE RESTRICT;
        CREATE INDEX region_parent_idx ON region USING btree (parent_id);
        ALTER TABLE municipality ADD COLUMN boundary_approximate boolean DEFAULT false NOT NULL;

        CREATE TABLE municipality_region (
            municipality_id integer NOT NULL,
            level text NOT NULL,
            region_id integer NOT NULL,
            CONSTRAINT municipality_region_pkey PRIMARY KEY (municipality_id, level),
            CONSTRAINT municipality_region_level_check CHECK (level = ANY ({LEVELS})),
            CONSTRAINT municipality_region_municipality_id_fkey FOREIGN KEY (municipality_id)
                REFERENCES municipality (id) ON DELETE CASCADE,
            CONSTRAINT municipality_region_region_id_fkey FOREIGN KEY (region_id)
                REFERENCES region (id) ON DELETE CASCADE
        );
        CREATE INDEX municipality_region_region_idx ON municipality_region
            USING btree (region_id, municipality_id);

        CREATE TABLE zone_municipality (
            zone_id integer NOT NULL,
            municipality_id integer NOT NULL,
            share double precision,
            CONSTRAINT zone_municipality_pkey PRIMARY KEY (zone_id, municipality_id),
            CONSTRAINT zone_municipality_share_check
                CHECK (share >= 0::double precision AND share <= 1.000001::double precision),
            CONSTRAINT zone_municipality_zone_id_fkey FOREIGN KEY (zone_id)
                REFERENCES zone (id) ON DELETE CASCADE,
            CONSTRAINT zone_municipality_municipality_id_fkey FOREIGN KEY (municipality_id)
                REFERENCES municipality (id) ON DELETE CASCADE
        );
        CREATE INDEX zone_municipality_municipality_idx ON zone_municipality
            USING btree (municipality_id, zone_id);
    """)
    conn = op.get_bind()
    for kind, name, version in OBJECTS:
        sql.apply(conn, kind, name, version)
    op.execute("SELECT region_membership_fill(); SELECT zone_municipality_fill(NULL)")


def downgrade() -> None:
    conn = op.get_bind()
    for kind, name, _ in reversed(OBJECTS):
        if kind == "triggers":
            table = {"region_hierarchy": "region", "region_membership_region": "region",
                     "municipality_boundary": "municipality",
                     "zone_municipality_zone": "zone"}[name]
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    for kind, name, _ in reversed(OBJECTS):
        if kind == "functions":
            conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS {name} CASCADE")
    op.execute("""
        DROP TABLE zone_municipality;
        DROP TABLE municipality_region;
        UPDATE region SET parent_id = NULL;
        DELETE FROM region WHERE level IN ('country', 'district')
            AND NOT EXISTS (SELECT 1 FROM municipality m WHERE m.region_id = region.id);
        ALTER TABLE region DROP CONSTRAINT region_code_check,
            DROP CONSTRAINT region_code_in_country, DROP CONSTRAINT region_level_check,
            DROP CONSTRAINT region_parent_id_fkey,
            ADD CONSTRAINT region_code_check CHECK (code ~ '^[A-Z]{2}[0-9A-Z]{1,3}$'::text);
        DROP INDEX region_parent_idx;
        ALTER TABLE municipality DROP COLUMN boundary_approximate;
        ALTER TABLE region DROP COLUMN parent_id, DROP COLUMN level;
    """)
