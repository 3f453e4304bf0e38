-- OGC API zone items: the municipalities a zone lies in (zone_municipality) changed: the
-- zone is kept again, its list of municipalities with it.
-- v2: not while zone_municipality_fill writes them (locations.zone_feature_after_plots
-- on): the fill keeps its zones itself once their plots are placed, so that a zone's kept
-- row is locked after its plots' rows, as by every plot write (zone_municipality_fill.v3).
CREATE OR REPLACE FUNCTION zone_feature_after_zone_municipality()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        BEGIN
            IF current_setting('locations.zone_feature_after_plots', true) = 'on' THEN
                RETURN NULL;
            END IF;
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
