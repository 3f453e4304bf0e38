-- Plot distances computed per cell of nearby plots instead of five index lookups per plot.
CREATE OR REPLACE FUNCTION plot_proximity_refresh(plot_ids bigint[])
 RETURNS void
 LANGUAGE plpgsql
 SET jit TO 'off'
AS $function$
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
            WITH changed AS (
                SELECT p.id, p.boundary,
                       floor(ST_XMin(p.boundary) / 1000)::int AS gx,
                       floor(ST_YMin(p.boundary) / 1000)::int AS gy
                FROM unnest(plot_ids) AS wanted (id)
                JOIN plot p ON p.id = wanted.id
            ),
            cells AS (
                SELECT gx, gy, box,
                       sqrt((ST_XMax(box) - ST_XMin(box)) ^ 2 + (ST_YMax(box) - ST_YMin(box)) ^ 2)
                           AS diagonal
                FROM (SELECT gx, gy, ST_SetSRID(ST_Extent(boundary)::geometry, 3035) AS box
                      FROM changed GROUP BY gx, gy) e
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
            SELECT c.id, ST_Distance(t.motorway, c.boundary) / 1000, ST_Distance(t.rail_station, c.boundary) / 1000, ST_Distance(t.rail_freight, c.boundary) / 1000, ST_Distance(t.airport, c.boundary) / 1000, ST_Distance(t.public_transport, c.boundary) / 1000, now()
            FROM changed c
            LEFT JOIN targets t ON t.gx = c.gx AND t.gy = c.gy

            ON CONFLICT (plot_id) DO UPDATE SET
                motorway_km = EXCLUDED.motorway_km,
                rail_station_km = EXCLUDED.rail_station_km,
                rail_freight_km = EXCLUDED.rail_freight_km,
                airport_km = EXCLUDED.airport_km,
                public_transport_km = EXCLUDED.public_transport_km,
                computed_at = EXCLUDED.computed_at;
        END $function$;
