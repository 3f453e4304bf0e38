-- Maps and dashboards: the kept per-zone figures follow every statement on plot (zone_summary_add.v1.sql).
CREATE OR REPLACE FUNCTION zone_summary_after_truncate()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        BEGIN
            DELETE FROM zone_summary;
            DELETE FROM zone_verified_month;
            DELETE FROM municipality_verified_month;
            RETURN NULL;
        END $function$;
