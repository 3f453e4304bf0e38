-- OGC API zone items: the municipalities a zone lies in (zone_municipality) changed: the
-- zone is kept again, its list of municipalities with it.
CREATE OR REPLACE FUNCTION zone_feature_after_zone_municipality()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                PERFORM zone_feature_refresh(
                    ARRAY(SELECT DISTINCT zone_id FROM new_rows ORDER BY 1), ARRAY[]::integer[]);
            ELSIF TG_OP = 'DELETE' THEN
                PERFORM zone_feature_refresh(
                    ARRAY(SELECT DISTINCT zone_id FROM old_rows ORDER BY 1), ARRAY[]::integer[]);
            ELSE
                PERFORM zone_feature_refresh(
                    ARRAY(SELECT zone_id FROM new_rows UNION SELECT zone_id FROM old_rows
                          ORDER BY 1), ARRAY[]::integer[]);
            END IF;
            RETURN NULL;
        END $function$;
