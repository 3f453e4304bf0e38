-- Zone rankings: a zone drawn or redrawn has its distances computed again.
CREATE OR REPLACE FUNCTION zone_proximity_after_zone()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        BEGIN
            IF TG_OP = 'INSERT' OR NOT ST_Equals(NEW.boundary, OLD.boundary) THEN
                PERFORM zone_proximity_refresh(ARRAY[NEW.id]);
            END IF;
            RETURN NULL;
        END $function$;
