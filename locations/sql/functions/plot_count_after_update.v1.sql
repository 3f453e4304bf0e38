-- Searches: the kept count of live plots per municipality and status (plot_count_after_insert.v1.sql).
-- Only plots whose counted state changed are passed: out as they were, in as they are.
CREATE OR REPLACE FUNCTION plot_count_after_update()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        BEGIN
            INSERT INTO plot_count_kept AS k (municipality_id, status, plots)
            SELECT municipality_id, status, sum(sign)
            FROM (
                SELECT o.municipality_id, o.status, -1 AS sign
                FROM old_plots o JOIN new_plots n ON n.id = o.id
                WHERE o.retired_at IS NULL
                  AND (o.municipality_id, o.status, n.retired_at IS NULL)
                      IS DISTINCT FROM (n.municipality_id, n.status, true)
                UNION ALL
                SELECT n.municipality_id, n.status, 1
                FROM old_plots o JOIN new_plots n ON n.id = o.id
                WHERE n.retired_at IS NULL
                  AND (o.municipality_id, o.status, o.retired_at IS NULL)
                      IS DISTINCT FROM (n.municipality_id, n.status, true)
            ) c
            GROUP BY municipality_id, status
            HAVING sum(sign) <> 0
            ORDER BY municipality_id, status
            ON CONFLICT (municipality_id, status) DO UPDATE SET plots = k.plots + EXCLUDED.plots;
            RETURN NULL;
        END $function$;
