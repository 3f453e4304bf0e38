-- Comparisons of regions: plots inserted count in their municipality's available area
-- (municipality_available_add) and in the kept figures of each profile whose current runs
-- scored them (score_summary_add). Only an id a run has scored can have a
-- score, so a load of new plots reads no score at all. The lock is the one score_summary_fill
-- takes its figures under.
CREATE OR REPLACE FUNCTION score_summary_after_insert()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        DECLARE
            kept record;
        BEGIN
            PERFORM municipality_available_add(array_agg(n.municipality_id),
                                               array_agg(n.area_m2), array_agg(1))
            FROM new_plots n
            WHERE n.status = 'available' AND n.retired_at IS NULL
            HAVING count(*) > 0;
            LOCK TABLE score_summary_run IN ROW EXCLUSIVE MODE;
            FOR kept IN SELECT run_id, max_plot_id FROM score_summary_run ORDER BY run_id LOOP
                PERFORM score_summary_add(
                    kept.run_id, array_agg(n.id), array_agg(n.zone_id),
                    array_agg(n.municipality_id), array_agg(n.status = 'available'),
                    array_agg(n.retired_at IS NULL), array_agg(n.area_m2), array_agg(1))
                FROM new_plots n
                WHERE n.id <= kept.max_plot_id
                HAVING count(*) > 0;
            END LOOP;
            RETURN NULL;
        END $function$;
