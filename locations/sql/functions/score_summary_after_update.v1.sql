-- Comparisons of regions: a plot whose counted state changed (zone, municipality, status,
-- retired or not, area) counts out as it was and in as it is: in its municipality's
-- available area (municipality_available_add) and in the kept figures of each profile
-- whose current runs scored it (score_summary_add).
CREATE OR REPLACE FUNCTION score_summary_after_update()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        DECLARE
            kept record;
        BEGIN
            PERFORM municipality_available_add(array_agg(c.municipality_id),
                                               array_agg(c.area_m2), array_agg(c.sign))
            FROM (
                SELECT o.municipality_id, o.area_m2, -1 AS sign
                FROM old_plots o JOIN new_plots n ON n.id = o.id
                WHERE o.status = 'available' AND o.retired_at IS NULL
                  AND (o.municipality_id, o.area_m2, n.status, n.retired_at IS NULL)
                      IS DISTINCT FROM (n.municipality_id, n.area_m2, 'available', true)
                UNION ALL
                SELECT n.municipality_id, n.area_m2, 1
                FROM old_plots o JOIN new_plots n ON n.id = o.id
                WHERE n.status = 'available' AND n.retired_at IS NULL
                  AND (o.municipality_id, o.area_m2, o.status, o.retired_at IS NULL)
                      IS DISTINCT FROM (n.municipality_id, n.area_m2, 'available', true)
            ) c
            HAVING count(*) > 0;
            LOCK TABLE score_summary_run IN ROW EXCLUSIVE MODE;
            FOR kept IN SELECT run_id, max_plot_id FROM score_summary_run ORDER BY run_id LOOP
                PERFORM score_summary_add(
                    kept.run_id, array_agg(c.id), array_agg(c.zone_id),
                    array_agg(c.municipality_id), array_agg(c.available), array_agg(c.live),
                    array_agg(c.area_m2), array_agg(c.sign))
                FROM (
                    SELECT o.id, o.zone_id, o.municipality_id, o.status = 'available' AS available,
                           o.retired_at IS NULL AS live, o.area_m2, -1 AS sign
                    FROM old_plots o JOIN new_plots n ON n.id = o.id
                    WHERE o.id <= kept.max_plot_id
                      AND (o.zone_id, o.municipality_id, o.status, o.retired_at IS NULL, o.area_m2)
                          IS DISTINCT FROM
                          (n.zone_id, n.municipality_id, n.status, n.retired_at IS NULL, n.area_m2)
                    UNION ALL
                    SELECT n.id, n.zone_id, n.municipality_id, n.status = 'available',
                           n.retired_at IS NULL, n.area_m2, 1
                    FROM old_plots o JOIN new_plots n ON n.id = o.id
                    WHERE n.id <= kept.max_plot_id
                      AND (o.zone_id, o.municipality_id, o.status, o.retired_at IS NULL, o.area_m2)
                          IS DISTINCT FROM
                          (n.zone_id, n.municipality_id, n.status, n.retired_at IS NULL, n.area_m2)
                ) c
                HAVING count(*) > 0;
            END LOOP;
            RETURN NULL;
        END $function$;
