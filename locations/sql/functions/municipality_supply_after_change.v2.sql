-- Land-supply monitoring: what a municipality's zones add per month, kept beside each zone's
-- months (zone_supply_month) by statement triggers on them, so a region's series sums a few
-- rows per municipality instead of every zone's. Inserted zone-months are added, deleted
-- ones taken away, an updated one's old values taken away and its new ones added
-- (municipality_supply_add).
CREATE OR REPLACE FUNCTION municipality_supply_after_change()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                PERFORM municipality_supply_add(
                    array_agg(c::zone_supply_month), array_agg(z.municipality_id), array_agg(1))
                FROM new_months c JOIN zone z ON z.id = c.zone_id;
            ELSIF TG_OP = 'DELETE' THEN
                PERFORM municipality_supply_add(
                    array_agg(c::zone_supply_month), array_agg(z.municipality_id), array_agg(-1))
                FROM old_months c JOIN zone z ON z.id = c.zone_id;
            ELSE
                PERFORM municipality_supply_add(
                    array_agg(c.zone_month), array_agg(z.municipality_id), array_agg(c.sign))
                FROM (SELECT n::zone_supply_month AS zone_month, n.zone_id, 1 AS sign
                      FROM new_months n
                      UNION ALL
                      SELECT o::zone_supply_month, o.zone_id, -1 FROM old_months o) c
                JOIN zone z ON z.id = c.zone_id;
            END IF;
            RETURN NULL;
        END $function$;
