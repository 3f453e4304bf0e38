-- Zones across municipalities: the municipality a plot lies in. A zone in one municipality
-- gives its own; in a shared zone (every part holds less than all of it) it is the zone's
-- municipality holding most of the plot, whose editors keep that part.
-- v2: parallel safe (it only reads), so a bulk load finds a million plots' municipalities
-- with parallel workers; unmarked, any statement calling it ran on one core.
-- v3: PL/pgSQL, whose statements are planned once a session. v2 was one SQL SELECT of
-- subqueries, which PostgreSQL never inlines (a function with a sub-select is not): each
-- call set up and ran that query anew, 90 us a plot, a million plots 90 s of one core.
-- And the zone decides alone (zone_placement) unless it has two parts or more: with one,
-- v2 still intersected each plot with that municipality's whole outline for nothing.
-- The same answers (tests/test_plot_municipality.py holds them to the areas).
CREATE OR REPLACE FUNCTION plot_municipality(for_zone integer, plot_boundary geometry)
 RETURNS integer
 LANGUAGE plpgsql
 STABLE PARALLEL SAFE
AS $function$
        DECLARE
            place record;
        BEGIN
            SELECT zp.municipality_id, zp.by_area INTO place
            FROM zone_placement zp WHERE zp.zone_id = for_zone;
            IF place.by_area IS NOT TRUE THEN
                RETURN place.municipality_id;  -- NULL for no such zone, as in v2
            END IF;
            RETURN (SELECT zm.municipality_id
                    FROM zone_municipality zm
                    JOIN municipality m ON m.id = zm.municipality_id
                    WHERE zm.zone_id = for_zone AND zm.share < 0.999
                    ORDER BY coalesce(ST_Area(ST_Intersection(m.boundary, plot_boundary)), 0)
                                 DESC,
                             zm.share DESC, zm.municipality_id
                    LIMIT 1);
        END $function$;
