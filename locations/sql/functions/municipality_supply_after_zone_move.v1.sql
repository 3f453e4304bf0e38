-- Land-supply monitoring: a zone given to another municipality takes its months along.
CREATE OR REPLACE FUNCTION municipality_supply_after_zone_move()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        BEGIN
            INSERT INTO municipality_supply_month AS t (municipality_id, month, available_registered, available_serviced, available_shovel_ready, available_unknown, opening_stock, market_change, new_supply, take_up, reversed)
                SELECT c.municipality_id, c.month,
                       sum(c.available_registered),
                       sum(c.available_serviced),
                       sum(c.available_shovel_ready),
                       sum(c.available_unknown),
                       sum(c.opening_stock),
                       sum(c.market_change),
                       sum(c.new_supply),
                       sum(c.take_up),
                       sum(c.reversed)
                FROM (
                    SELECT o.municipality_id, s.month, -s.available_registered AS available_registered, -s.available_serviced AS available_serviced, -s.available_shovel_ready AS available_shovel_ready, -s.available_unknown AS available_unknown, -s.opening_stock AS opening_stock, -s.market_change AS market_change, -s.new_supply AS new_supply, -s.take_up AS take_up, -s.reversed AS reversed
                    FROM old_zones o JOIN new_zones n ON n.id = o.id
                    JOIN zone_supply_month s ON s.zone_id = o.id
                    WHERE o.municipality_id IS DISTINCT FROM n.municipality_id
                    UNION ALL
                    SELECT n.municipality_id, s.month, s.available_registered, s.available_serviced, s.available_shovel_ready, s.available_unknown, s.opening_stock, s.market_change, s.new_supply, s.take_up, s.reversed
                    FROM old_zones o JOIN new_zones n ON n.id = o.id
                    JOIN zone_supply_month s ON s.zone_id = n.id
                    WHERE o.municipality_id IS DISTINCT FROM n.municipality_id
                ) c
                GROUP BY c.municipality_id, c.month
                ORDER BY c.municipality_id, c.month
                ON CONFLICT (municipality_id, month) DO UPDATE SET
                    available_registered = t.available_registered + EXCLUDED.available_registered,
                    available_serviced = t.available_serviced + EXCLUDED.available_serviced,
                    available_shovel_ready = t.available_shovel_ready + EXCLUDED.available_shovel_ready,
                    available_unknown = t.available_unknown + EXCLUDED.available_unknown,
                    opening_stock = t.opening_stock + EXCLUDED.opening_stock,
                    market_change = t.market_change + EXCLUDED.market_change,
                    new_supply = t.new_supply + EXCLUDED.new_supply,
                    take_up = t.take_up + EXCLUDED.take_up,
                    reversed = t.reversed + EXCLUDED.reversed;
            DELETE FROM municipality_supply_month t
            USING (SELECT DISTINCT o.municipality_id
                   FROM old_zones o JOIN new_zones n ON n.id = o.id
                   WHERE o.municipality_id IS DISTINCT FROM n.municipality_id) gone
            WHERE t.municipality_id = gone.municipality_id
              AND NOT EXISTS (SELECT 1 FROM zone_supply_month s JOIN zone z ON z.id = s.zone_id
                              WHERE z.municipality_id = t.municipality_id AND s.month = t.month);
            RETURN NULL;
        END $function$;
