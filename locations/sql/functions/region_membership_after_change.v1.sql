-- Region levels: after regions change, a NUTS region still without a parent takes the one
-- its code extends (a NUTS-2 imported after its NUTS-3 regions adopts them), a national
-- region (a district) the NUTS-3 region of its country holding most of it, and every
-- municipality's region per level is computed again.
CREATE OR REPLACE FUNCTION region_membership_after_change()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        BEGIN
            IF pg_trigger_depth() > 1 THEN
                RETURN NULL;
            END IF;
            UPDATE region child SET parent_id = p.id
            FROM region p
            WHERE child.parent_id IS NULL AND child.level IN ('nuts1', 'nuts2', 'nuts3')
              AND p.code = left(child.code, length(child.code) - 1);
            UPDATE region child SET parent_id = (
                SELECT p.id FROM region p
                WHERE p.level = 'nuts3' AND p.country = child.country
                  AND p.boundary && child.boundary AND ST_Intersects(p.boundary, child.boundary)
                ORDER BY ST_Area(ST_Intersection(p.boundary, child.boundary)) DESC, p.id
                LIMIT 1)
            WHERE child.parent_id IS NULL AND child.level NOT IN ('country', 'nuts1', 'nuts2', 'nuts3')
              AND child.boundary IS NOT NULL;
            PERFORM region_membership_fill();
            RETURN NULL;
        END $function$;
