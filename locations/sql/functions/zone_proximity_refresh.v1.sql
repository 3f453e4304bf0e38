-- Zone rankings: each zone's straight-line distances to the nearest infrastructure of each
-- kind, kept in zone_proximity as plot_proximity keeps a plot's, so a ranking by distance
-- sorts a column instead of looking up every zone's nearest junction on each request. Zones
-- are a few thousand: one nearest-neighbour lookup per zone and kind (NULL: every zone).
CREATE OR REPLACE FUNCTION zone_proximity_refresh(zone_ids integer[])
 RETURNS void
 LANGUAGE sql
AS $function$
    INSERT INTO zone_proximity AS zp
        (zone_id, motorway_km, rail_station_km, rail_freight_km, airport_km,
         public_transport_km, computed_at)
    SELECT z.id,
           (SELECT ST_Distance(z.boundary, i.geom) / 1000 FROM infrastructure i
            WHERE i.kind = 'motorway_junction' ORDER BY i.geom <-> z.boundary LIMIT 1),
           (SELECT ST_Distance(z.boundary, i.geom) / 1000 FROM infrastructure i
            WHERE i.kind = 'rail_station' ORDER BY i.geom <-> z.boundary LIMIT 1),
           (SELECT ST_Distance(z.boundary, i.geom) / 1000 FROM infrastructure i
            WHERE i.kind = 'rail_freight_terminal' ORDER BY i.geom <-> z.boundary LIMIT 1),
           (SELECT ST_Distance(z.boundary, i.geom) / 1000 FROM infrastructure i
            WHERE i.kind = 'airport' ORDER BY i.geom <-> z.boundary LIMIT 1),
           (SELECT ST_Distance(z.boundary, i.geom) / 1000 FROM infrastructure i
            WHERE i.kind = ANY (ARRAY['rail_station', 'bus_stop'])
            ORDER BY i.geom <-> z.boundary LIMIT 1),
           now()
    FROM zone z
    WHERE zone_ids IS NULL OR z.id = ANY (zone_ids)
    -- In key order, so two statements on the same zones wait for each other.
    ORDER BY z.id
    ON CONFLICT (zone_id) DO UPDATE SET
        motorway_km = EXCLUDED.motorway_km,
        rail_station_km = EXCLUDED.rail_station_km,
        rail_freight_km = EXCLUDED.rail_freight_km,
        airport_km = EXCLUDED.airport_km,
        public_transport_km = EXCLUDED.public_transport_km,
        computed_at = EXCLUDED.computed_at;
$function$;
