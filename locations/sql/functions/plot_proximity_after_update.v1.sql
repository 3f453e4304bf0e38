-- Bulk import support: the importer may defer plot proximity and supply plot countries,
-- checked per statement.
CREATE OR REPLACE FUNCTION plot_proximity_after_update()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        BEGIN
            IF current_setting('locations.defer_proximity', true) = 'on' THEN
                RETURN NULL;
            END IF;
            PERFORM plot_proximity_refresh(ARRAY(
                SELECT n.id FROM new_plots n JOIN old_plots o ON o.id = n.id
                WHERE NOT ST_Equals(n.boundary, o.boundary)));
            RETURN NULL;
        END $function$;
