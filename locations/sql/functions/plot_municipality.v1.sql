-- Zones across municipalities: the municipality a plot lies in. A zone in one municipality
-- gives its own; in a shared zone it is the zone's municipality holding most of the plot
-- (the zone's own one on a tie), whose editors keep that part.
CREATE OR REPLACE FUNCTION plot_municipality(for_zone integer, plot_boundary geometry)
 RETURNS integer
 LANGUAGE sql
 STABLE
AS $function$
        SELECT coalesce(
            (SELECT zm.municipality_id
             FROM zone_municipality zm
             JOIN municipality m ON m.id = zm.municipality_id
             JOIN zone z ON z.id = zm.zone_id
             WHERE zm.zone_id = $1
               AND (SELECT count(*) FROM zone_municipality s WHERE s.zone_id = $1) > 1
             ORDER BY coalesce(ST_Area(ST_Intersection(m.boundary, $2)), 0) DESC,
                      (zm.municipality_id = z.municipality_id) DESC, zm.municipality_id
             LIMIT 1),
            (SELECT z.municipality_id FROM zone z WHERE z.id = $1))
        $function$;
