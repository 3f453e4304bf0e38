-- Comparisons of regions: add a set of plot changes to each municipality's available plots
-- and their area (kept in municipality_available, by the plot's own municipality). Each
-- change is a plot as it is (+1) or was (-1), passed only when it is available and not
-- retired; the plot triggers (score_summary_after_*) pass theirs. Rows are written in key
-- order so two statements wait for each other instead of deadlocking.
CREATE OR REPLACE FUNCTION municipality_available_add(
    municipality_ids integer[], areas double precision[], signs integer[])
 RETURNS void
 LANGUAGE sql
AS $function$
    INSERT INTO municipality_available AS ma (municipality_id, plots, area_m2)
    SELECT c.municipality_id, sum(c.sign), sum(c.sign * c.area_m2::numeric)
    FROM unnest(municipality_ids, areas, signs) AS c(municipality_id, area_m2, sign)
    GROUP BY c.municipality_id
    ORDER BY c.municipality_id
    ON CONFLICT (municipality_id) DO UPDATE SET
        plots = ma.plots + excluded.plots,
        area_m2 = ma.area_m2 + excluded.area_m2;
$function$;
