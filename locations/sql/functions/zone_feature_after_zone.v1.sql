-- OGC API zone items: a zone written is kept again (zone_feature_refresh.v1.sql), its
-- outline only when drawn anew. A zone deleted takes its kept row with it (foreign key).
CREATE OR REPLACE FUNCTION zone_feature_after_zone()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                PERFORM zone_feature_refresh(ARRAY(SELECT id FROM new_rows ORDER BY id),
                                             ARRAY[]::integer[]);
            ELSE
                PERFORM zone_feature_refresh(
                    ARRAY(SELECT id FROM new_rows ORDER BY id),
                    ARRAY(SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
                          WHERE o.boundary IS DISTINCT FROM n.boundary));
            END IF;
            RETURN NULL;
        END $function$;
