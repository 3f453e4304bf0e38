-- Zone rankings: infrastructure added, moved or removed may change any zone's nearest one.
CREATE OR REPLACE FUNCTION zone_proximity_after_infrastructure()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        BEGIN
            PERFORM zone_proximity_refresh(NULL);
            RETURN NULL;
        END $function$;
