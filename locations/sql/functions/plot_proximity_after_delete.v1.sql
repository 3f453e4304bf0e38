-- plot_proximity follows deleted plots by a statement trigger instead of a foreign key.
CREATE OR REPLACE FUNCTION plot_proximity_after_delete()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        BEGIN
            DELETE FROM plot_proximity pp USING old_plots o WHERE pp.plot_id = o.id;
            RETURN NULL;
        END $function$;
