
CREATE OR REPLACE FUNCTION zone_summary_after_delete()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        BEGIN
            WITH changes AS (
                SELECT zone_id, status, area_m2, -1 AS sign FROM old_plots
                WHERE retired_at IS NULL
            )
            , by_status AS (
                SELECT zone_id, status, sign * count(*) AS plots,
                       sign * sum(area_m2::numeric) AS area
                FROM changes GROUP BY zone_id, status, sign
            )
    INSERT INTO zone_summary AS zs (zone_id, plot_count, plot_area_m2, available_area_m2,
                                    taken_area_m2, available_count, reserved_count, under_negotiation_count, sold_count, occupied_count, not_for_sale_count)
    SELECT zone_id, sum(plots), sum(area),
           coalesce(sum(area) FILTER (WHERE status = 'available'), 0),
           coalesce(sum(area) FILTER (WHERE status IN ('sold', 'occupied')), 0),
           coalesce(sum(plots) FILTER (WHERE status = 'available'), 0) AS available_count,
           coalesce(sum(plots) FILTER (WHERE status = 'reserved'), 0) AS reserved_count,
           coalesce(sum(plots) FILTER (WHERE status = 'under_negotiation'), 0) AS under_negotiation_count,
           coalesce(sum(plots) FILTER (WHERE status = 'sold'), 0) AS sold_count,
           coalesce(sum(plots) FILTER (WHERE status = 'occupied'), 0) AS occupied_count,
           coalesce(sum(plots) FILTER (WHERE status = 'not_for_sale'), 0) AS not_for_sale_count
    FROM by_status
    GROUP BY zone_id
    ON CONFLICT (zone_id) DO UPDATE SET
        plot_count = zs.plot_count + EXCLUDED.plot_count,
        plot_area_m2 = zs.plot_area_m2 + EXCLUDED.plot_area_m2,
        available_area_m2 = zs.available_area_m2 + EXCLUDED.available_area_m2,
        taken_area_m2 = zs.taken_area_m2 + EXCLUDED.taken_area_m2,
    available_count = zs.available_count + EXCLUDED.available_count,
    reserved_count = zs.reserved_count + EXCLUDED.reserved_count,
    under_negotiation_count = zs.under_negotiation_count + EXCLUDED.under_negotiation_count,
    sold_count = zs.sold_count + EXCLUDED.sold_count,
    occupied_count = zs.occupied_count + EXCLUDED.occupied_count,
    not_for_sale_count = zs.not_for_sale_count + EXCLUDED.not_for_sale_count,
        updated_at = now();

            RETURN NULL;
        END $function$;
