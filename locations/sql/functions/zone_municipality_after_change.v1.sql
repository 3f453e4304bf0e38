-- Zones across municipalities: a zone's municipalities follow its boundary.
CREATE OR REPLACE FUNCTION zone_municipality_after_change()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        BEGIN
            PERFORM zone_municipality_fill(ARRAY[NEW.id]);
            RETURN NULL;
        END $function$;
