-- Searches: the kept count of live plots per municipality and status (plot_count_after_insert.v1.sql).
CREATE OR REPLACE FUNCTION plot_count_after_delete()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        BEGIN
            INSERT INTO plot_count_kept AS k (municipality_id, status, plots)
            SELECT municipality_id, status, -count(*)
            FROM old_plots WHERE retired_at IS NULL
            GROUP BY municipality_id, status
            ORDER BY municipality_id, status
            ON CONFLICT (municipality_id, status) DO UPDATE SET plots = k.plots + EXCLUDED.plots;
            RETURN NULL;
        END $function$;
