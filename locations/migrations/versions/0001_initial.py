"""The core model: regions, municipalities, zones, plots, infrastructure, constraints, audit, accounts.

Every geometry is EPSG:3035 with a GiST index; the database itself refuses
invalid or empty geometry, a wrong SRID or type, unknown codes, non-positive
areas, a cadastral reference twice in one country, and dangling references.

Revision ID: 0001
Revises:
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

PLOT_STATUSES = ("available", "reserved", "under_negotiation", "sold", "occupied", "not_for_sale")
USES = ("manufacturing", "logistics", "services", "technology", "retail", "mixed")


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def _valid_geometry(column: str, table: str) -> str:
    return (
        f"CONSTRAINT {table}_{column}_valid CHECK (ST_IsValid({column})), "
        f"CONSTRAINT {table}_{column}_not_empty CHECK (NOT ST_IsEmpty({column}))"
    )


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute(
        f"""
        CREATE TABLE region (
            id          serial PRIMARY KEY,
            code        text NOT NULL UNIQUE CHECK (code ~ '^[A-Z]{{2}}[0-9A-Z]{{1,3}}$'),
            name        text NOT NULL CHECK (length(trim(name)) > 0),
            country     char(2) NOT NULL CHECK (country ~ '^[A-Z]{{2}}$'),
            area_km2    double precision CHECK (area_km2 > 0),
            boundary    geometry(MultiPolygon, 3035),
            {_valid_geometry("boundary", "region")}
        );
        CREATE INDEX region_boundary_gist ON region USING gist (boundary);

        CREATE TABLE municipality (
            id          serial PRIMARY KEY,
            code        text NOT NULL CHECK (length(trim(code)) > 0),
            name        text NOT NULL CHECK (length(trim(name)) > 0),
            region_id   integer NOT NULL REFERENCES region (id) ON DELETE RESTRICT,
            country     char(2) NOT NULL CHECK (country ~ '^[A-Z]{{2}}$'),
            population  integer CHECK (population >= 0),
            area_km2    double precision CHECK (area_km2 > 0),
            seat        geometry(Point, 3035),
            boundary    geometry(MultiPolygon, 3035),
            {_valid_geometry("boundary", "municipality")},
            UNIQUE (country, code)
        );
        CREATE INDEX municipality_region_idx ON municipality (region_id);
        CREATE INDEX municipality_boundary_gist ON municipality USING gist (boundary);
        CREATE INDEX municipality_seat_gist ON municipality USING gist (seat);

        CREATE TABLE zone (
            id                  serial PRIMARY KEY,
            municipality_id     integer NOT NULL REFERENCES municipality (id) ON DELETE RESTRICT,
            name                text NOT NULL CHECK (length(trim(name)) > 0),
            kind                text NOT NULL
                CHECK (kind IN ('industrial', 'business', 'logistics', 'technology', 'mixed')),
            lifecycle           text NOT NULL DEFAULT 'operational'
                CHECK (lifecycle IN ('planned', 'developing', 'operational')),
            allowed_uses        text[] NOT NULL DEFAULT '{{}}'
                CHECK (allowed_uses <@ ARRAY{list(USES)}::text[]),
            brownfield          boolean NOT NULL DEFAULT false,
            power_mw            double precision CHECK (power_mw >= 0),
            gas                 boolean,
            water               boolean,
            sewage              text CHECK (sewage IN ('treated', 'other', 'none')),
            broadband           text CHECK (broadband IN ('none', 'basic', 'fast', 'ftth')),
            rail_siding         boolean,
            district_heating    boolean,
            manager_name        text,
            manager_email       text,
            manager_phone       text,
            description_en      text,
            description_sl      text,
            description_de      text,
            property_sheet_url  text,
            facts_source        text,
            boundary            geometry(MultiPolygon, 3035) NOT NULL,
            area_m2             double precision GENERATED ALWAYS AS (ST_Area(boundary)) STORED,
            last_verified       date,
            version             integer NOT NULL DEFAULT 1,
            updated_at          timestamptz NOT NULL DEFAULT now(),
            {_valid_geometry("boundary", "zone")},
            CONSTRAINT zone_area_positive CHECK (area_m2 > 0),
            UNIQUE (municipality_id, name)
        );
        CREATE INDEX zone_municipality_idx ON zone (municipality_id);
        CREATE INDEX zone_boundary_gist ON zone USING gist (boundary);

        CREATE TABLE plot (
            id              bigserial PRIMARY KEY,
            zone_id         integer NOT NULL REFERENCES zone (id) ON DELETE RESTRICT,
            country         char(2) NOT NULL,
            cadastral_ref   text NOT NULL CHECK (length(trim(cadastral_ref)) > 0),
            boundary        geometry(MultiPolygon, 3035) NOT NULL,
            area_m2         double precision GENERATED ALWAYS AS (ST_Area(boundary)) STORED,
            status          text NOT NULL DEFAULT 'available',
            ownership       text CHECK (ownership IN ('public', 'private', 'several')),
            offer           text CHECK (offer IN ('sale', 'lease', 'sale_or_lease')),
            price_eur_m2    numeric(10, 2) CHECK (price_eur_m2 > 0),
            allowed_uses    text[] NOT NULL DEFAULT '{{}}'
                CHECK (allowed_uses <@ ARRAY{list(USES)}::text[]),
            readiness       text CHECK (readiness IN ('registered', 'serviced', 'shovel_ready')),
            brownfield      boolean NOT NULL DEFAULT false,
            power_mw        double precision CHECK (power_mw >= 0),
            available_from  date,
            last_verified   date,
            owner_contact   text,
            internal_note   text,
            retired_at      timestamptz,
            version         integer NOT NULL DEFAULT 1,
            updated_at      timestamptz NOT NULL DEFAULT now(),
            {_valid_geometry("boundary", "plot")},
            CONSTRAINT plot_status_known CHECK (status IN {_in(PLOT_STATUSES)}),
            CONSTRAINT plot_area_positive CHECK (area_m2 > 0),
            CONSTRAINT plot_cadastral_ref_unique_in_country UNIQUE (country, cadastral_ref)
        );
        CREATE INDEX plot_zone_idx ON plot (zone_id);
        CREATE INDEX plot_status_idx ON plot (status);
        CREATE INDEX plot_area_idx ON plot (area_m2);
        CREATE INDEX plot_price_idx ON plot (price_eur_m2);
        CREATE INDEX plot_last_verified_idx ON plot (last_verified);
        CREATE INDEX plot_boundary_gist ON plot USING gist (boundary);

        -- A plot's country is its zone's; derived here so no loader can get it wrong.
        CREATE FUNCTION plot_set_country() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            SELECT m.country INTO NEW.country
            FROM zone z JOIN municipality m ON m.id = z.municipality_id
            WHERE z.id = NEW.zone_id;
            RETURN NEW;
        END $$;
        CREATE TRIGGER plot_country BEFORE INSERT OR UPDATE OF zone_id ON plot
            FOR EACH ROW EXECUTE FUNCTION plot_set_country();

        CREATE TABLE infrastructure (
            id          serial PRIMARY KEY,
            kind        text NOT NULL CHECK (kind IN (
                            'motorway_junction', 'rail_station', 'rail_freight_terminal',
                            'airport', 'port', 'substation', 'broadband_node', 'university',
                            'border_crossing', 'bus_stop')),
            name        text NOT NULL CHECK (length(trim(name)) > 0),
            code        text,
            geom        geometry(Geometry, 3035) NOT NULL,
            properties  jsonb NOT NULL DEFAULT '{{}}',
            {_valid_geometry("geom", "infrastructure")},
            CONSTRAINT infrastructure_geom_type
                CHECK (GeometryType(geom) IN ('POINT', 'LINESTRING', 'MULTILINESTRING')),
            UNIQUE (kind, name)
        );
        CREATE INDEX infrastructure_kind_idx ON infrastructure (kind);
        CREATE INDEX infrastructure_geom_gist ON infrastructure USING gist (geom);

        CREATE TABLE constraint_area (
            id          serial PRIMARY KEY,
            kind        text NOT NULL
                CHECK (kind IN ('flood_risk', 'natura2000', 'water_protection')),
            severity    text CHECK (severity IN ('high', 'medium', 'low')),
            name        text NOT NULL CHECK (length(trim(name)) > 0),
            boundary    geometry(MultiPolygon, 3035) NOT NULL,
            {_valid_geometry("boundary", "constraint_area")},
            UNIQUE (kind, name)
        );
        CREATE INDEX constraint_area_boundary_gist ON constraint_area USING gist (boundary);

        CREATE TABLE account (
            id          serial PRIMARY KEY,
            name        text NOT NULL UNIQUE CHECK (length(trim(name)) > 0),
            role        text NOT NULL
                CHECK (role IN ('investor', 'municipality', 'agency', 'admin')),
            token_hash  text UNIQUE,
            created_at  timestamptz NOT NULL DEFAULT now(),
            revoked_at  timestamptz
        );
        CREATE TABLE account_municipality (
            account_id      integer NOT NULL REFERENCES account (id) ON DELETE CASCADE,
            municipality_id integer NOT NULL REFERENCES municipality (id) ON DELETE CASCADE,
            PRIMARY KEY (account_id, municipality_id)
        );
        CREATE TABLE account_region (
            account_id  integer NOT NULL REFERENCES account (id) ON DELETE CASCADE,
            region_id   integer NOT NULL REFERENCES region (id) ON DELETE CASCADE,
            PRIMARY KEY (account_id, region_id)
        );

        CREATE TABLE plot_event (
            id          bigserial PRIMARY KEY,
            plot_id     bigint NOT NULL REFERENCES plot (id) ON DELETE RESTRICT,
            occurred_at timestamptz NOT NULL DEFAULT now(),
            actor       text NOT NULL,
            account_id  integer REFERENCES account (id) ON DELETE SET NULL,
            action      text NOT NULL
                CHECK (action IN ('create', 'update', 'verify', 'retire', 'import')),
            old_values  jsonb,
            new_values  jsonb,
            note        text
        );
        CREATE INDEX plot_event_plot_idx ON plot_event (plot_id, id);
        CREATE INDEX plot_event_time_idx ON plot_event (occurred_at);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE plot_event, account_region, account_municipality, account,
                   constraint_area, infrastructure, plot, zone, municipality, region;
        DROP FUNCTION plot_set_country();
        """
    )
