-- Land-supply monitoring: keeps zone_supply_month current as events are written, for
-- the plots they concern only: what those plots' trails add now, less what they added
-- before this statement's events. A municipality's first creation fixes its first load.
-- v2: zone-months are written in key order, so two statements touching the same ones
-- take their row locks in one order and wait for each other rather than deadlock.
CREATE OR REPLACE FUNCTION zone_supply_after_event()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        DECLARE
            plots bigint[];
            written bigint[];
        BEGIN
            SELECT array_agg(DISTINCT plot_id), array_agg(id) INTO plots, written
            FROM new_events WHERE action <> 'verify';
            IF plots IS NULL THEN
                RETURN NULL;
            END IF;
            INSERT INTO municipality_first_load AS f (municipality_id, loaded_at)
            SELECT z.municipality_id, min(n.occurred_at)
            FROM new_events n
            JOIN plot p ON p.id = n.plot_id
            JOIN zone z ON z.id = p.zone_id
            WHERE n.old_values IS NULL AND n.action IN ('create', 'import')
            GROUP BY z.municipality_id
            ON CONFLICT (municipality_id) DO NOTHING;
            INSERT INTO zone_supply_month AS t
            SELECT c.zone_id, c.month, sum(c.available_registered), sum(c.available_serviced),
                   sum(c.available_shovel_ready), sum(c.available_unknown),
                   sum(c.opening_stock), sum(c.market_change), sum(c.new_supply),
                   sum(c.take_up), sum(c.reversed)
            FROM (
                SELECT * FROM supply_contributions(plots, NULL)
                UNION ALL
                SELECT zone_id, month, -available_registered, -available_serviced,
                       -available_shovel_ready, -available_unknown, -opening_stock,
                       -market_change, -new_supply, -take_up, -reversed
                FROM supply_contributions(plots, written)
            ) AS c
            GROUP BY c.zone_id, c.month
            ORDER BY c.zone_id, c.month
            ON CONFLICT (zone_id, month) DO UPDATE SET
                available_registered = t.available_registered + EXCLUDED.available_registered,
                available_serviced = t.available_serviced + EXCLUDED.available_serviced,
                available_shovel_ready = t.available_shovel_ready
                                         + EXCLUDED.available_shovel_ready,
                available_unknown = t.available_unknown + EXCLUDED.available_unknown,
                opening_stock = t.opening_stock + EXCLUDED.opening_stock,
                market_change = t.market_change + EXCLUDED.market_change,
                new_supply = t.new_supply + EXCLUDED.new_supply,
                take_up = t.take_up + EXCLUDED.take_up,
                reversed = t.reversed + EXCLUDED.reversed;
            RETURN NULL;
        END $function$;
