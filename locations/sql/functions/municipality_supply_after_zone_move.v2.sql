-- Land-supply monitoring: a zone given to another municipality takes its months along: they
-- leave the old municipality's months and join the new one's (municipality_supply_add).
CREATE OR REPLACE FUNCTION municipality_supply_after_zone_move()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        BEGIN
            PERFORM municipality_supply_add(
                array_agg(s), array_agg(c.municipality_id), array_agg(c.sign))
            FROM (SELECT o.id, o.municipality_id, -1 AS sign
                  FROM old_zones o JOIN new_zones n ON n.id = o.id
                  WHERE o.municipality_id IS DISTINCT FROM n.municipality_id
                  UNION ALL
                  SELECT n.id, n.municipality_id, 1
                  FROM old_zones o JOIN new_zones n ON n.id = o.id
                  WHERE o.municipality_id IS DISTINCT FROM n.municipality_id) c
            JOIN zone_supply_month s ON s.zone_id = c.id;
            RETURN NULL;
        END $function$;
