-- Land-supply monitoring: zone_supply_month and the first loads computed afresh from the
-- whole audit trail (after a migration, or events deleted, as the demo's reload does).
-- v2: names every plot, as supply_contributions v2 asks.
-- v3: the trail counted on every core (supply_contributions_sliced), the same months.
CREATE OR REPLACE FUNCTION zone_supply_rebuild()
 RETURNS void
 LANGUAGE plpgsql
AS $function$
        BEGIN
            DELETE FROM zone_supply_month;
            DELETE FROM municipality_first_load;
            INSERT INTO municipality_first_load (municipality_id, loaded_at)
            SELECT z.municipality_id, min(e.occurred_at)
            FROM plot_event e
            JOIN plot p ON p.id = e.plot_id
            JOIN zone z ON z.id = p.zone_id
            WHERE e.old_values IS NULL AND e.action IN ('create', 'import')
            GROUP BY z.municipality_id;
            INSERT INTO zone_supply_month
            SELECT * FROM supply_contributions_sliced(ARRAY(SELECT id FROM plot), NULL);
        END $function$;
