-- plot_proximity is emptied when plot is truncated.
CREATE OR REPLACE FUNCTION plot_proximity_after_truncate()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        BEGIN
            TRUNCATE plot_proximity;
            RETURN NULL;
        END $function$;
