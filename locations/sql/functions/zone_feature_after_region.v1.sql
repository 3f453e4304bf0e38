-- OGC API zone items: a region's code changed: the zones of its municipalities are kept
-- again (a zone shows its municipality's region code).
CREATE OR REPLACE FUNCTION zone_feature_after_region()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        DECLARE
            changed integer[] := ARRAY(
                SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
                WHERE o.code IS DISTINCT FROM n.code);
        BEGIN
            IF cardinality(changed) > 0 THEN
                PERFORM zone_feature_refresh(ARRAY(
                    SELECT z.id FROM zone z JOIN municipality m ON m.id = z.municipality_id
                    WHERE m.region_id = ANY (changed)
                    ORDER BY 1), ARRAY[]::integer[]);
            END IF;
            RETURN NULL;
        END $function$;
