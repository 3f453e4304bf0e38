"""Search support: each plot's distances to the nearest infrastructure, kept current by triggers.

``plot_proximity`` holds, per plot, the straight-line distance in km from the
plot's boundary to the nearest motorway junction, rail station, rail freight
terminal, airport and public-transport stop (rail station or bus stop). One SQL
function, ``plot_proximity_refresh(ids)``, computes them set-based with KNN; the
triggers and ``locations.proximity.refresh_proximity`` all call it.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


#: How plot_proximity_refresh writes the distances it computed (0010 keeps it).
REFRESH_UPSERT = """            ON CONFLICT (plot_id) DO UPDATE SET
                motorway_km = EXCLUDED.motorway_km,
                rail_station_km = EXCLUDED.rail_station_km,
                rail_freight_km = EXCLUDED.rail_freight_km,
                airport_km = EXCLUDED.airport_km,
                public_transport_km = EXCLUDED.public_transport_km,
                computed_at = EXCLUDED.computed_at;
        END $$;
"""


def upgrade() -> None:
    op.execute(
        f"""
        CREATE TABLE plot_proximity (
            plot_id              bigint PRIMARY KEY REFERENCES plot (id) ON DELETE CASCADE,
            motorway_km          double precision,
            rail_station_km      double precision,
            rail_freight_km      double precision,
            airport_km           double precision,
            public_transport_km  double precision,
            computed_at          timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX plot_proximity_motorway_idx ON plot_proximity (motorway_km);
        CREATE INDEX plot_proximity_airport_idx ON plot_proximity (airport_km);
        CREATE INDEX plot_proximity_rail_station_idx ON plot_proximity (rail_station_km);

        -- One small GiST per kind, so a KNN lookup for the nearest airport does not wade
        -- through every bus stop first.
        CREATE INDEX infrastructure_motorway_gist ON infrastructure USING gist (geom)
            WHERE kind = 'motorway_junction';
        CREATE INDEX infrastructure_rail_station_gist ON infrastructure USING gist (geom)
            WHERE kind = 'rail_station';
        CREATE INDEX infrastructure_rail_freight_gist ON infrastructure USING gist (geom)
            WHERE kind = 'rail_freight_terminal';
        CREATE INDEX infrastructure_airport_gist ON infrastructure USING gist (geom)
            WHERE kind = 'airport';
        CREATE INDEX infrastructure_public_transport_gist ON infrastructure USING gist (geom)
            WHERE kind IN ('rail_station', 'bus_stop');

        -- Searches page by (sort key, id), unknown values last; these keep a sorted page an
        -- index walk (the expressions are those of locations.search: keep them in step).
        CREATE INDEX plot_search_area_idx ON plot (area_m2, id);
        CREATE INDEX plot_search_zone_idx ON plot (zone_id, id);
        CREATE INDEX plot_search_price_idx ON plot
            ((coalesce(price_eur_m2, 'Infinity'::numeric)), id);
        CREATE INDEX plot_search_verified_desc_idx ON plot
            ((coalesce(last_verified, '-infinity'::date)), id);
        CREATE INDEX plot_proximity_motorway_sort_idx ON plot_proximity
            ((coalesce(motorway_km, 'Infinity'::float8)), plot_id);

        -- Recompute the distances of the given plots (NULL: of every plot) in one statement.
        CREATE FUNCTION plot_proximity_refresh(plot_ids bigint[]) RETURNS void
        LANGUAGE plpgsql AS $$
        BEGIN
            IF plot_ids IS NULL THEN
                plot_ids := ARRAY(SELECT id FROM plot);
            END IF;
            IF cardinality(plot_ids) = 0 THEN
                RETURN;
            END IF;
            INSERT INTO plot_proximity AS pp
                (plot_id, motorway_km, rail_station_km, rail_freight_km, airport_km,
                 public_transport_km, computed_at)
            SELECT p.id, motorway.km, station.km, freight.km, airport.km, transit.km, now()
            FROM unnest(plot_ids) AS changed (id)
            JOIN plot p ON p.id = changed.id
            LEFT JOIN LATERAL (
                SELECT ST_Distance(i.geom, p.boundary) / 1000 AS km FROM infrastructure i
                WHERE i.kind = 'motorway_junction' ORDER BY i.geom <-> p.boundary LIMIT 1
            ) motorway ON true
            LEFT JOIN LATERAL (
                SELECT ST_Distance(i.geom, p.boundary) / 1000 AS km FROM infrastructure i
                WHERE i.kind = 'rail_station' ORDER BY i.geom <-> p.boundary LIMIT 1
            ) station ON true
            LEFT JOIN LATERAL (
                SELECT ST_Distance(i.geom, p.boundary) / 1000 AS km FROM infrastructure i
                WHERE i.kind = 'rail_freight_terminal' ORDER BY i.geom <-> p.boundary LIMIT 1
            ) freight ON true
            LEFT JOIN LATERAL (
                SELECT ST_Distance(i.geom, p.boundary) / 1000 AS km FROM infrastructure i
                WHERE i.kind = 'airport' ORDER BY i.geom <-> p.boundary LIMIT 1
            ) airport ON true
            LEFT JOIN LATERAL (
                SELECT ST_Distance(i.geom, p.boundary) / 1000 AS km FROM infrastructure i
                WHERE i.kind IN ('rail_station', 'bus_stop')
                ORDER BY i.geom <-> p.boundary LIMIT 1
            ) transit ON true
{REFRESH_UPSERT}
        -- New plots: every one of them, in one statement per inserting statement.
        CREATE FUNCTION plot_proximity_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM plot_proximity_refresh(ARRAY(SELECT id FROM new_plots));
            RETURN NULL;
        END $$;
        CREATE TRIGGER plot_proximity_insert AFTER INSERT ON plot
            REFERENCING NEW TABLE AS new_plots
            FOR EACH STATEMENT EXECUTE FUNCTION plot_proximity_after_insert();

        -- Changed plots: only those whose boundary moved (status edits cost nothing here).
        CREATE FUNCTION plot_proximity_after_update() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM plot_proximity_refresh(ARRAY(
                SELECT n.id FROM new_plots n JOIN old_plots o ON o.id = n.id
                WHERE NOT ST_Equals(n.boundary, o.boundary)));
            RETURN NULL;
        END $$;
        CREATE TRIGGER plot_proximity_update AFTER UPDATE ON plot
            REFERENCING OLD TABLE AS old_plots NEW TABLE AS new_plots
            FOR EACH STATEMENT EXECUTE FUNCTION plot_proximity_after_update();

        -- Infrastructure changes are rare and may move any plot's nearest neighbour: redo all.
        CREATE FUNCTION plot_proximity_after_infrastructure() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM plot_proximity_refresh(NULL);
            RETURN NULL;
        END $$;
        CREATE TRIGGER plot_proximity_infrastructure
            AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON infrastructure
            FOR EACH STATEMENT EXECUTE FUNCTION plot_proximity_after_infrastructure();

        SELECT plot_proximity_refresh(NULL);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TRIGGER plot_proximity_infrastructure ON infrastructure;
        DROP TRIGGER plot_proximity_update ON plot;
        DROP TRIGGER plot_proximity_insert ON plot;
        DROP FUNCTION plot_proximity_after_infrastructure();
        DROP FUNCTION plot_proximity_after_update();
        DROP FUNCTION plot_proximity_after_insert();
        DROP FUNCTION plot_proximity_refresh(bigint[]);
        DROP INDEX plot_search_area_idx, plot_search_zone_idx, plot_search_price_idx, plot_search_verified_desc_idx,
                   infrastructure_motorway_gist, infrastructure_rail_station_gist,
                   infrastructure_rail_freight_gist, infrastructure_airport_gist,
                   infrastructure_public_transport_gist;
        DROP TABLE plot_proximity;
        """
    )
