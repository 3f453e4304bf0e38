-- Region levels and zones across municipalities: after municipalities change, each one's
-- region per level and each zone's municipalities are computed again.
CREATE OR REPLACE FUNCTION municipality_boundary_after_change()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        BEGIN
            PERFORM region_membership_fill();
            IF TG_OP <> 'DELETE' THEN
                PERFORM zone_municipality_fill(NULL);
            END IF;
            RETURN NULL;
        END $function$;
