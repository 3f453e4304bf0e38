-- Land-supply monitoring: supply_contributions for many plots on every core. The plots are
-- cut into one slice per process a parallel query may use (its workers and the leader);
-- each slice's call runs whole in one process, under a Parallel Append, and the slices'
-- sums are added up by zone and month. A plot's contributions depend on its own events
-- alone, and the sums are of numeric, which is exact, so the rows are those one call over
-- every plot gives. The window over each plot's trail is the query's largest step and
-- PostgreSQL runs no window in a parallel worker: one call over a million plots sorted and
-- walked 1.65 million events on one core (a first load's whole trail).
-- Called by zone_supply_rebuild; a SELECT run by RETURN QUERY may use parallel workers,
-- an INSERT's own query may not.
CREATE OR REPLACE FUNCTION supply_contributions_sliced(plot_ids bigint[], without_events bigint[])
 RETURNS TABLE(zone_id integer, month date, available_registered numeric,
               available_serviced numeric, available_shovel_ready numeric,
               available_unknown numeric, opening_stock numeric, market_change numeric,
               new_supply numeric, take_up numeric, reversed numeric)
 LANGUAGE plpgsql
 STABLE
AS $function$
        DECLARE
            plots integer := coalesce(cardinality(plot_ids), 0);
            slices integer := least(
                1 + current_setting('max_parallel_workers_per_gather')::integer,
                greatest(plots, 1));
            slice_calls text;
        BEGIN
            IF slices < 2 THEN
                RETURN QUERY SELECT * FROM supply_contributions(plot_ids, without_events);
                RETURN;
            END IF;
            -- $1[from:to] for each slice: every plot in exactly one of them.
            SELECT string_agg(format(
                       'SELECT * FROM supply_contributions($1[%s:%s], $2)',
                       s * plots / slices + 1, (s + 1) * plots / slices),
                   ' UNION ALL ')
            INTO slice_calls
            FROM generate_series(0, slices - 1) AS s;
            RETURN QUERY EXECUTE format($query$
SELECT zone_id, month, sum(available_registered), sum(available_serviced),
       sum(available_shovel_ready), sum(available_unknown), sum(opening_stock),
       sum(market_change), sum(new_supply), sum(take_up), sum(reversed)
FROM (%s) AS slice
GROUP BY zone_id, month
            $query$, slice_calls) USING plot_ids, without_events;
        END $function$;
