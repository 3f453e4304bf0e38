-- Maps and dashboards: the kept per-zone figures follow every statement on plot (zone_summary_add.v1.sql).
-- Only plots whose counted state changed are passed: out as they were, in as they are.
CREATE OR REPLACE FUNCTION zone_summary_after_update()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        BEGIN
            PERFORM zone_summary_add(
                array_agg(c.zone_id), array_agg(c.status), array_agg(c.readiness),
                array_agg(c.brownfield), array_agg(c.area_m2), array_agg(c.last_verified),
                array_agg(c.sign))
            FROM (
                SELECT o.zone_id, o.status, o.readiness, o.brownfield, o.area_m2,
                       o.last_verified, -1 AS sign
                FROM old_plots o JOIN new_plots n ON n.id = o.id
                WHERE o.retired_at IS NULL
                  AND (o.zone_id, o.status, o.readiness, o.brownfield, o.area_m2,
                       o.last_verified, n.retired_at IS NULL)
                      IS DISTINCT FROM (n.zone_id, n.status, n.readiness, n.brownfield,
                                        n.area_m2, n.last_verified, true)
                UNION ALL
                SELECT n.zone_id, n.status, n.readiness, n.brownfield, n.area_m2,
                       n.last_verified, 1
                FROM old_plots o JOIN new_plots n ON n.id = o.id
                WHERE n.retired_at IS NULL
                  AND (o.zone_id, o.status, o.readiness, o.brownfield, o.area_m2,
                       o.last_verified, o.retired_at IS NULL)
                      IS DISTINCT FROM (n.zone_id, n.status, n.readiness, n.brownfield,
                                        n.area_m2, n.last_verified, true)
            ) c;
            RETURN NULL;
        END $function$;
