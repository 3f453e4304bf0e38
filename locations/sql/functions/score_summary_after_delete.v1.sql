-- Comparisons of regions: deleted plots count out of their municipality's available area
-- (municipality_available_add) and the kept score figures (score_summary_add).
CREATE OR REPLACE FUNCTION score_summary_after_delete()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        DECLARE
            kept record;
        BEGIN
            PERFORM municipality_available_add(array_agg(o.municipality_id),
                                               array_agg(o.area_m2), array_agg(-1))
            FROM old_plots o
            WHERE o.status = 'available' AND o.retired_at IS NULL
            HAVING count(*) > 0;
            LOCK TABLE score_summary_run IN ROW EXCLUSIVE MODE;
            FOR kept IN SELECT run_id, max_plot_id FROM score_summary_run ORDER BY run_id LOOP
                PERFORM score_summary_add(
                    kept.run_id, array_agg(o.id), array_agg(o.zone_id),
                    array_agg(o.municipality_id), array_agg(o.status = 'available'),
                    array_agg(o.retired_at IS NULL), array_agg(o.area_m2), array_agg(-1))
                FROM old_plots o
                WHERE o.id <= kept.max_plot_id
                HAVING count(*) > 0;
            END LOOP;
            RETURN NULL;
        END $function$;
