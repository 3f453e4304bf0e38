-- Land-supply monitoring: zone-months added to (sign 1) or taken from (sign -1) the months of
-- the municipality each counts in, summed per municipality and month, in key order like the
-- zone-months before them. A month that only lost zone-months and that none of the
-- municipality's zones holds any longer is no month of its trail (the series starts at its
-- first month). The triggers on zone_supply_month and on zone pass their changes here.
CREATE OR REPLACE FUNCTION municipality_supply_add(
    months zone_supply_month[], municipality_ids integer[], signs integer[])
 RETURNS void
 LANGUAGE sql
AS $function$
    INSERT INTO municipality_supply_month AS t (municipality_id, month, available_registered, available_serviced, available_shovel_ready, available_unknown, opening_stock, market_change, new_supply, take_up, reversed)
    SELECT municipality_ids[c.ordinality], c.month,
           sum(signs[c.ordinality] * c.available_registered),
           sum(signs[c.ordinality] * c.available_serviced),
           sum(signs[c.ordinality] * c.available_shovel_ready),
           sum(signs[c.ordinality] * c.available_unknown),
           sum(signs[c.ordinality] * c.opening_stock),
           sum(signs[c.ordinality] * c.market_change),
           sum(signs[c.ordinality] * c.new_supply),
           sum(signs[c.ordinality] * c.take_up),
           sum(signs[c.ordinality] * c.reversed)
    FROM unnest(months) WITH ORDINALITY AS c
    GROUP BY 1, 2
    ORDER BY 1, 2
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
    USING (SELECT municipality_ids[c.ordinality] AS municipality_id, c.month
           FROM unnest(months) WITH ORDINALITY AS c
           GROUP BY 1, 2 HAVING max(signs[c.ordinality]) < 0) gone
    WHERE t.municipality_id = gone.municipality_id AND t.month = gone.month
      AND NOT EXISTS (SELECT 1 FROM zone_supply_month s JOIN zone z ON z.id = s.zone_id
                      WHERE z.municipality_id = t.municipality_id AND s.month = t.month);
$function$;
