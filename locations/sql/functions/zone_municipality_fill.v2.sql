-- Zones across municipalities: the municipalities a zone lies in, with the share of its
-- area in each. The zone's own (lead) municipality is always one; another counts when it
-- holds at least 1 % of the zone, so that a border drawn a few metres off does not make a
-- zone shared. NULL: every zone. The zones' plots keep their municipality with them
-- (plot_municipality_refresh).
CREATE OR REPLACE FUNCTION zone_municipality_fill(zone_ids integer[])
 RETURNS void
 LANGUAGE plpgsql
AS $function$
        BEGIN
            DELETE FROM zone_municipality WHERE zone_ids IS NULL OR zone_id = ANY (zone_ids);
            INSERT INTO zone_municipality (zone_id, municipality_id, share)
            SELECT part.zone_id, part.municipality_id, least(1, part.share)
            FROM (
                SELECT z.id AS zone_id, z.municipality_id AS lead_id, m.id AS municipality_id,
                       ST_Area(ST_Intersection(m.boundary, z.boundary))
                           / nullif(ST_Area(z.boundary), 0) AS share
                FROM zone z
                JOIN municipality m ON m.boundary && z.boundary
                     AND ST_Intersects(m.boundary, z.boundary)
                WHERE zone_ids IS NULL OR z.id = ANY (zone_ids)
                UNION
                SELECT z.id, z.municipality_id, z.municipality_id,
                       ST_Area(ST_Intersection(m.boundary, z.boundary))
                           / nullif(ST_Area(z.boundary), 0)
                FROM zone z JOIN municipality m ON m.id = z.municipality_id
                WHERE zone_ids IS NULL OR z.id = ANY (zone_ids)
            ) part
            WHERE part.municipality_id = part.lead_id OR part.share >= 0.01;
            PERFORM plot_municipality_refresh(zone_ids);
        END $function$;
