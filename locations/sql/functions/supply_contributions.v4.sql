-- Land-supply monitoring: what the audit trail of some plots adds to each zone and month
-- (locations/land_supply.py explains the terms). Each event counts in the month of its
-- effective date. The state after each event (status, readiness, area) is carried forward
-- from the events before it by a running max() over a packed key: the event's position
-- (effective date, then id) in the high bits, the value in the low ones, so the latest
-- event that set a field wins; one sort by plot serves every column (ids below 2^40).
-- without_events: events to leave out (a statement's own, to get what the plots added
-- before it). v3: planned for each call with the arrays in hand (EXECUTE), so one plot
-- is read through the index on plot_event.plot_id and a million by a hash join; v2's
-- plan, made once for any array, walked that index a million times (a rebuild took 4
-- minutes at a million plots instead of under one).
-- v4: the same query, marked PARALLEL SAFE (it only reads) and costed as the large query it
-- is, so that supply_contributions_sliced can run one call per core in parallel workers.
CREATE OR REPLACE FUNCTION supply_contributions(plot_ids bigint[], without_events bigint[])
 RETURNS TABLE(zone_id integer, month date, available_registered numeric,
               available_serviced numeric, available_shovel_ready numeric,
               available_unknown numeric, opening_stock numeric, market_change numeric,
               new_supply numeric, take_up numeric, reversed numeric)
 LANGUAGE plpgsql
 STABLE PARALLEL SAFE
 -- The planner's default (100 operators) would never pay a worker's start for it.
 COST 1000000
AS $function$
        BEGIN
            RETURN QUERY EXECUTE $query$
WITH events AS (
    SELECT e.plot_id, p.zone_id, z.municipality_id, e.effective_date, e.occurred_at,
           e.action = 'retire' AS retired,
           e.old_values IS NULL AND e.action IN ('create', 'import') AS created,
           (((e.effective_date - DATE '1990-01-01')::bigint << 40) + e.id) AS position,
           e.new_values ? 'status' AS sets_status,
           array_position(ARRAY['available', 'reserved', 'under_negotiation', 'sold',
                                'occupied', 'not_for_sale'],
                          coalesce(e.new_values ->> 'status', 'available')) AS status,
           e.new_values ? 'readiness' AS sets_readiness,
           coalesce(array_position(ARRAY['registered', 'serviced', 'shovel_ready'],
                                   e.new_values ->> 'readiness'), 0) AS readiness,
           e.new_values ? 'area_m2' OR e.new_values ? 'boundary' AS sets_area,
           round(coalesce(e.new_values ->> 'area_m2',
                          e.new_values -> 'boundary' ->> 'area_m2')::numeric * 10)::bigint
               AS area_dm
    FROM plot_event e
    JOIN plot p ON p.id = e.plot_id
    JOIN zone z ON z.id = p.zone_id
    WHERE e.action <> 'verify'
      -- A join, not = ANY: a first load of a million plots hands a million ids.
      AND e.plot_id IN (SELECT unnest($1))
      AND NOT EXISTS (SELECT 1 FROM unnest($2) AS w(id) WHERE w.id = e.id)
), states AS (
    SELECT zone_id, municipality_id, effective_date, occurred_at, created, retired,
           max((position << 4) + status) FILTER (WHERE created OR sets_status) OVER now_ & 15
               AS status_after,
           max((position << 4) + status) FILTER (WHERE created OR sets_status) OVER before & 15
               AS status_before,
           max((position << 4) + readiness) FILTER (WHERE created OR sets_readiness) OVER now_
               & 15 AS readiness_after,
           max((position << 4) + readiness) FILTER (WHERE created OR sets_readiness) OVER before
               & 15 AS readiness_before,
           (max(ARRAY[position, area_dm]) FILTER (WHERE created OR sets_area) OVER now_)[2]
               AS area_after,
           (max(ARRAY[position, area_dm]) FILTER (WHERE created OR sets_area) OVER before)[2]
               AS area_before
    FROM events
    WINDOW now_ AS (PARTITION BY plot_id ORDER BY position),
           before AS (PARTITION BY plot_id ORDER BY position
                      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
), classified AS (
    -- status 1 available; 1-3 on the market; 4-5 taken (sold, occupied); 6 not for sale.
    SELECT s.zone_id, date_trunc('month', s.effective_date)::date AS month,
           s.created AND s.occurred_at = f.loaded_at AS opening, s.retired,
           NOT s.created AND s.status_before = 1 AS available_before,
           NOT s.retired AND s.status_after = 1 AS available_after,
           NOT s.created AND s.status_before BETWEEN 1 AND 3 AS market_before,
           NOT s.retired AND s.status_after BETWEEN 1 AND 3 AS market_after,
           NOT s.created AND s.status_before IN (4, 5) AS taken_before,
           NOT s.retired AND s.status_after IN (4, 5) AS taken_after,
           s.readiness_before, s.readiness_after,
           coalesce(s.area_before, 0) / 10.0 AS area_before,
           coalesce(s.area_after, 0) / 10.0 AS area_after
    FROM states s
    LEFT JOIN municipality_first_load f USING (municipality_id)
), flows AS (
    SELECT zone_id, month, opening, readiness_before, readiness_after,
           CASE WHEN available_before THEN area_before ELSE 0 END AS available_before_m2,
           CASE WHEN available_after THEN area_after ELSE 0 END AS available_after_m2,
           CASE WHEN market_after THEN area_after ELSE 0 END
               - CASE WHEN market_before THEN area_before ELSE 0 END AS market_change,
           CASE WHEN taken_after THEN area_after ELSE 0 END
               - CASE WHEN taken_before THEN area_before ELSE 0 END AS taken_change,
           CASE WHEN market_after OR taken_after THEN area_after ELSE 0 END
               - CASE WHEN market_before OR taken_before THEN area_before ELSE 0 END
               AS supplied_change,
           -- A sale reversed: taken land back to a live status (not a taken plot retired).
           CASE WHEN taken_before AND NOT taken_after AND NOT retired THEN area_before
                ELSE 0 END AS reversed
    FROM classified
)
SELECT zone_id, month,
       sum(CASE WHEN readiness_after = 1 THEN available_after_m2 ELSE 0 END)
           - sum(CASE WHEN readiness_before = 1 THEN available_before_m2 ELSE 0 END),
       sum(CASE WHEN readiness_after = 2 THEN available_after_m2 ELSE 0 END)
           - sum(CASE WHEN readiness_before = 2 THEN available_before_m2 ELSE 0 END),
       sum(CASE WHEN readiness_after = 3 THEN available_after_m2 ELSE 0 END)
           - sum(CASE WHEN readiness_before = 3 THEN available_before_m2 ELSE 0 END),
       sum(CASE WHEN readiness_after = 0 THEN available_after_m2 ELSE 0 END)
           - sum(CASE WHEN readiness_before = 0 THEN available_before_m2 ELSE 0 END),
       sum(CASE WHEN opening THEN market_change ELSE 0 END),
       sum(market_change),
       sum(CASE WHEN opening THEN 0 ELSE supplied_change END),
       sum(CASE WHEN opening THEN 0 ELSE taken_change END),
       sum(reversed)
FROM flows
GROUP BY zone_id, month
            $query$ USING plot_ids, without_events;
        END $function$;
