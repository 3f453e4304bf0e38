-- Bulk import support: the importer may defer plot proximity and supply plot countries,
-- checked per statement.
CREATE OR REPLACE FUNCTION plot_proximity_after_insert()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        BEGIN
            -- A bulk loader that refreshes its plots itself, once, at the end.
            IF current_setting('locations.defer_proximity', true) = 'on' THEN
                RETURN NULL;
            END IF;
            PERFORM plot_proximity_refresh(ARRAY(SELECT id FROM new_plots));
            RETURN NULL;
        END $function$;
