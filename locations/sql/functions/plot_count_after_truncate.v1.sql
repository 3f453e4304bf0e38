-- Searches: the kept count of live plots per municipality and status (plot_count_after_insert.v1.sql).
CREATE OR REPLACE FUNCTION plot_count_after_truncate()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        BEGIN
            DELETE FROM plot_count_kept;
            RETURN NULL;
        END $function$;
