-- plot_proximity_fill(): the distances of a first load, computed on every core.
CREATE OR REPLACE FUNCTION plot_proximity_fill()
 RETURNS void
 LANGUAGE plpgsql
 SET jit TO 'off'
AS $function$
        DECLARE
            targets text := 'plot_proximity_targets_' || pg_backend_pid();
        BEGIN
            IF EXISTS (SELECT 1 FROM plot_proximity) THEN
                RAISE EXCEPTION 'plot_proximity_fill() fills an empty plot_proximity; '
                    'plot_proximity_refresh() updates one';
            END IF;
            EXECUTE format($sql$
                CREATE TABLE %I AS
                WITH plots AS (SELECT boundary, floor(ST_XMin(boundary) / 1000)::int AS gx, floor(ST_YMin(boundary) / 1000)::int AS gy FROM plot),
                cells AS (
                SELECT gx, gy, box,
                       sqrt((ST_XMax(box) - ST_XMin(box)) ^ 2 + (ST_YMax(box) - ST_YMin(box)) ^ 2)
                           AS diagonal
                FROM (SELECT gx, gy, ST_SetSRID(ST_Extent(boundary)::geometry, 3035) AS box
                      FROM plots GROUP BY gx, gy) e
            ),
            reach AS (
                SELECT c.gx, c.gy, 'motorway' AS name, i.geom
                FROM cells c
                CROSS JOIN LATERAL (
                    SELECT ST_Distance(n.geom, c.box) AS d0 FROM infrastructure n
                    WHERE n.kind = 'motorway_junction'
                    ORDER BY n.geom <-> c.box
                    LIMIT 1
                ) nearest
                JOIN infrastructure i
                  ON i.kind = 'motorway_junction' AND ST_DWithin(i.geom, c.box, nearest.d0 + c.diagonal)
                UNION ALL
                SELECT c.gx, c.gy, 'rail_station' AS name, i.geom
                FROM cells c
                CROSS JOIN LATERAL (
                    SELECT ST_Distance(n.geom, c.box) AS d0 FROM infrastructure n
                    WHERE n.kind = 'rail_station'
                    ORDER BY n.geom <-> c.box
                    LIMIT 1
                ) nearest
                JOIN infrastructure i
                  ON i.kind = 'rail_station' AND ST_DWithin(i.geom, c.box, nearest.d0 + c.diagonal)
                UNION ALL
                SELECT c.gx, c.gy, 'rail_freight' AS name, i.geom
                FROM cells c
                CROSS JOIN LATERAL (
                    SELECT ST_Distance(n.geom, c.box) AS d0 FROM infrastructure n
                    WHERE n.kind = 'rail_freight_terminal'
                    ORDER BY n.geom <-> c.box
                    LIMIT 1
                ) nearest
                JOIN infrastructure i
                  ON i.kind = 'rail_freight_terminal' AND ST_DWithin(i.geom, c.box, nearest.d0 + c.diagonal)
                UNION ALL
                SELECT c.gx, c.gy, 'airport' AS name, i.geom
                FROM cells c
                CROSS JOIN LATERAL (
                    SELECT ST_Distance(n.geom, c.box) AS d0 FROM infrastructure n
                    WHERE n.kind = 'airport'
                    ORDER BY n.geom <-> c.box
                    LIMIT 1
                ) nearest
                JOIN infrastructure i
                  ON i.kind = 'airport' AND ST_DWithin(i.geom, c.box, nearest.d0 + c.diagonal)
                UNION ALL
                SELECT c.gx, c.gy, 'public_transport' AS name, i.geom
                FROM cells c
                CROSS JOIN LATERAL (
                    SELECT ST_Distance(n.geom, c.box) AS d0 FROM infrastructure n
                    WHERE n.kind = ANY (ARRAY['rail_station', 'bus_stop'])
                    ORDER BY n.geom <-> c.box
                    LIMIT 1
                ) nearest
                JOIN infrastructure i
                  ON i.kind = ANY (ARRAY['rail_station', 'bus_stop']) AND ST_DWithin(i.geom, c.box, nearest.d0 + c.diagonal)
            ),
            targets AS (
                SELECT gx, gy,
                       ST_Collect(geom) FILTER (WHERE name = 'motorway') AS motorway,
                       ST_Collect(geom) FILTER (WHERE name = 'rail_station') AS rail_station,
                       ST_Collect(geom) FILTER (WHERE name = 'rail_freight') AS rail_freight,
                       ST_Collect(geom) FILTER (WHERE name = 'airport') AS airport,
                       ST_Collect(geom) FILTER (WHERE name = 'public_transport') AS public_transport
                FROM reach GROUP BY gx, gy
            )
                SELECT * FROM targets
            $sql$, targets);
            EXECUTE format('ANALYZE %I', targets);
            EXECUTE format($sql$
                CREATE TEMP TABLE plot_proximity_filled AS
                SELECT p.id, ST_Distance(t.motorway, p.boundary) / 1000 AS motorway_km, ST_Distance(t.rail_station, p.boundary) / 1000 AS rail_station_km, ST_Distance(t.rail_freight, p.boundary) / 1000 AS rail_freight_km, ST_Distance(t.airport, p.boundary) / 1000 AS airport_km, ST_Distance(t.public_transport, p.boundary) / 1000 AS public_transport_km
                FROM (SELECT id, boundary, floor(ST_XMin(boundary) / 1000)::int AS gx, floor(ST_YMin(boundary) / 1000)::int AS gy FROM plot) p
                LEFT JOIN %I t ON t.gx = p.gx AND t.gy = p.gy
            $sql$, targets);
            INSERT INTO plot_proximity (plot_id, motorway_km, rail_station_km, rail_freight_km, airport_km, public_transport_km, computed_at)
            SELECT *, now() FROM plot_proximity_filled;
            DROP TABLE plot_proximity_filled;
            EXECUTE format('DROP TABLE %I', targets);
        END $function$;
