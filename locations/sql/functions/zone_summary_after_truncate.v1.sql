-- Maps support: a kept per-zone summary of its current plots, maintained set-based by
-- triggers.
CREATE OR REPLACE FUNCTION zone_summary_after_truncate()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        BEGIN
            DELETE FROM zone_summary;
            RETURN NULL;
        END $function$;
