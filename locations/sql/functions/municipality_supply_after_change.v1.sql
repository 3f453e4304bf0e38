-- Land-supply monitoring: what a municipality's zones add per month, kept beside each zone's
-- months (zone_supply_month) by statement triggers on them, so a region's series sums a few
-- rows per municipality instead of every zone's. Each change adds what the zone-months
-- gained (inserted rows, new less old values of updated ones) or lost (deleted rows), in
-- key order like the zone-months before them; a municipality holds a month while one of its
-- zones does.
CREATE OR REPLACE FUNCTION municipality_supply_after_change()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                INSERT INTO municipality_supply_month AS t (municipality_id, month, available_registered, available_serviced, available_shovel_ready, available_unknown, opening_stock, market_change, new_supply, take_up, reversed)
                SELECT z.municipality_id, c.month,
                       sum(c.available_registered),
                       sum(c.available_serviced),
                       sum(c.available_shovel_ready),
                       sum(c.available_unknown),
                       sum(c.opening_stock),
                       sum(c.market_change),
                       sum(c.new_supply),
                       sum(c.take_up),
                       sum(c.reversed)
                FROM new_months c JOIN zone z ON z.id = c.zone_id
                GROUP BY z.municipality_id, c.month
                ORDER BY z.municipality_id, c.month
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
            ELSIF TG_OP = 'DELETE' THEN
                INSERT INTO municipality_supply_month AS t (municipality_id, month, available_registered, available_serviced, available_shovel_ready, available_unknown, opening_stock, market_change, new_supply, take_up, reversed)
                SELECT z.municipality_id, c.month,
                       sum(-c.available_registered),
                       sum(-c.available_serviced),
                       sum(-c.available_shovel_ready),
                       sum(-c.available_unknown),
                       sum(-c.opening_stock),
                       sum(-c.market_change),
                       sum(-c.new_supply),
                       sum(-c.take_up),
                       sum(-c.reversed)
                FROM old_months c JOIN zone z ON z.id = c.zone_id
                GROUP BY z.municipality_id, c.month
                ORDER BY z.municipality_id, c.month
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
                -- A month none of the municipality's zones holds any longer is no month of
                -- its trail (the series starts at its first month).
                DELETE FROM municipality_supply_month t
                USING (SELECT DISTINCT z.municipality_id, c.month
                       FROM old_months c JOIN zone z ON z.id = c.zone_id) gone
                WHERE t.municipality_id = gone.municipality_id AND t.month = gone.month
                  AND NOT EXISTS (SELECT 1 FROM zone_supply_month s JOIN zone z ON z.id = s.zone_id
                                  WHERE z.municipality_id = t.municipality_id
                                    AND s.month = t.month);
            ELSE
                INSERT INTO municipality_supply_month AS t (municipality_id, month, available_registered, available_serviced, available_shovel_ready, available_unknown, opening_stock, market_change, new_supply, take_up, reversed)
                SELECT z.municipality_id, c.month,
                       sum(c.available_registered - o.available_registered),
                       sum(c.available_serviced - o.available_serviced),
                       sum(c.available_shovel_ready - o.available_shovel_ready),
                       sum(c.available_unknown - o.available_unknown),
                       sum(c.opening_stock - o.opening_stock),
                       sum(c.market_change - o.market_change),
                       sum(c.new_supply - o.new_supply),
                       sum(c.take_up - o.take_up),
                       sum(c.reversed - o.reversed)
                FROM new_months c JOIN old_months o ON o.zone_id = c.zone_id AND o.month = c.month
                JOIN zone z ON z.id = c.zone_id
                GROUP BY z.municipality_id, c.month
                ORDER BY z.municipality_id, c.month
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
            END IF;
            RETURN NULL;
        END $function$;
