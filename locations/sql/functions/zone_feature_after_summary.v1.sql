-- OGC API zone items: a zone's kept plot figures (zone_summary, written by the triggers on
-- plot) changed in a way its properties show: the zone is kept again.
CREATE OR REPLACE FUNCTION zone_feature_after_summary()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                PERFORM zone_feature_refresh(ARRAY(SELECT zone_id FROM new_rows ORDER BY 1),
                                             ARRAY[]::integer[]);
            ELSIF TG_OP = 'DELETE' THEN
                PERFORM zone_feature_refresh(ARRAY(SELECT zone_id FROM old_rows ORDER BY 1),
                                             ARRAY[]::integer[]);
            ELSE
                PERFORM zone_feature_refresh(ARRAY(
                    SELECT n.zone_id FROM new_rows n JOIN old_rows o ON o.zone_id = n.zone_id
                    WHERE (o.plot_count, o.plot_area_m2, o.available_area_m2, o.available_count,
                           o.reserved_count, o.under_negotiation_count, o.sold_count,
                           o.occupied_count, o.not_for_sale_count, o.occupancy_share)
                          IS DISTINCT FROM
                          (n.plot_count, n.plot_area_m2, n.available_area_m2, n.available_count,
                           n.reserved_count, n.under_negotiation_count, n.sold_count,
                           n.occupied_count, n.not_for_sale_count, n.occupancy_share)
                    ORDER BY 1), ARRAY[]::integer[]);
            END IF;
            RETURN NULL;
        END $function$;
