-- Maps and dashboards: the kept per-zone figures follow every statement on plot (zone_summary_add.v1.sql).
CREATE OR REPLACE FUNCTION zone_summary_after_delete()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        BEGIN
            PERFORM zone_summary_add(
                array_agg(zone_id), array_agg(status), array_agg(readiness), array_agg(brownfield),
                array_agg(area_m2), array_agg(last_verified), array_agg(-1))
            FROM old_plots WHERE retired_at IS NULL;
            RETURN NULL;
        END $function$;
