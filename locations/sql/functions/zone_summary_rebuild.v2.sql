-- Maps and dashboards: the kept per-zone figures computed afresh from the live plots (the
-- migration that adds figures does; an operator may, after loading data with triggers off).
CREATE OR REPLACE FUNCTION zone_summary_rebuild()
 RETURNS void
 LANGUAGE plpgsql
AS $function$
        BEGIN
            UPDATE zone_summary SET
                   plot_count = 0,
                   plot_area_m2 = 0,
                   available_area_m2 = 0,
                   taken_area_m2 = 0,
                   available_count = 0,
                   reserved_count = 0,
                   under_negotiation_count = 0,
                   sold_count = 0,
                   occupied_count = 0,
                   not_for_sale_count = 0,
                   reserved_area_m2 = 0,
                   under_negotiation_area_m2 = 0,
                   sold_area_m2 = 0,
                   occupied_area_m2 = 0,
                   not_for_sale_area_m2 = 0,
                   available_registered_count = 0,
                   available_serviced_count = 0,
                   available_shovel_ready_count = 0,
                   available_unknown_count = 0,
                   available_registered_area_m2 = 0,
                   available_serviced_area_m2 = 0,
                   available_shovel_ready_area_m2 = 0,
                   available_unknown_area_m2 = 0,
                   brownfield_area_m2 = 0,
                   brownfield_available_area_m2 = 0,
                   updated_at = now();
            DELETE FROM zone_verified_month;
            DELETE FROM municipality_verified_month;
            PERFORM zone_summary_add(
                array_agg(zone_id), array_agg(status), array_agg(readiness), array_agg(brownfield),
                array_agg(area_m2), array_agg(last_verified), array_agg(1))
            FROM plot WHERE retired_at IS NULL;
        END $function$;
