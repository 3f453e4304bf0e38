-- Zones across municipalities: the municipality a plot lies in. A zone in one municipality
-- gives its own; in a shared zone (every part holds less than all of it) it is the zone's
-- municipality holding most of the plot, whose editors keep that part. One SELECT without
-- FROM, so PostgreSQL inlines it: a plot of an unshared zone costs one index probe.
-- v2: parallel safe (it only reads), so a bulk load finds a million plots' municipalities
-- with parallel workers; unmarked, any statement calling it ran on one core.
CREATE OR REPLACE FUNCTION plot_municipality(for_zone integer, plot_boundary geometry)
 RETURNS integer
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
        SELECT coalesce(
            (SELECT zm.municipality_id
             FROM zone_municipality zm
             JOIN municipality m ON m.id = zm.municipality_id
             WHERE zm.zone_id = $1 AND zm.share < 0.999
             ORDER BY coalesce(ST_Area(ST_Intersection(m.boundary, $2)), 0) DESC,
                      zm.share DESC, zm.municipality_id
             LIMIT 1),
            (SELECT z.municipality_id FROM zone z WHERE z.id = $1))
        $function$;
