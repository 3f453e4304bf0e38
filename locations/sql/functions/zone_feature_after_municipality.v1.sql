-- OGC API zone items: a municipality renamed, moved to another region or country: the
-- zones it leads and the zones lying partly in it are kept again.
CREATE OR REPLACE FUNCTION zone_feature_after_municipality()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        DECLARE
            changed integer[] := ARRAY(
                SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
                WHERE (o.name, o.country, o.region_id) IS DISTINCT FROM
                      (n.name, n.country, n.region_id));
        BEGIN
            IF cardinality(changed) > 0 THEN
                PERFORM zone_feature_refresh(ARRAY(
                    SELECT z.id FROM zone z WHERE z.municipality_id = ANY (changed)
                    UNION
                    SELECT zm.zone_id FROM zone_municipality zm
                    WHERE zm.municipality_id = ANY (changed)
                    ORDER BY 1), ARRAY[]::integer[]);
            END IF;
            RETURN NULL;
        END $function$;
