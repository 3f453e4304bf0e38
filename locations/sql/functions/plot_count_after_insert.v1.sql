-- Searches: the kept count of live plots per municipality and status follows every statement
-- on plot (plot_count_kept, migration 0131), so a search by places and statuses alone counts
-- its matches from a few kept rows instead of from every matching plot. Rows are written in
-- key order so two statements on the same municipalities wait for each other instead of
-- deadlocking.
CREATE OR REPLACE FUNCTION plot_count_after_insert()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        BEGIN
            INSERT INTO plot_count_kept AS k (municipality_id, status, plots)
            SELECT municipality_id, status, count(*)
            FROM new_plots WHERE retired_at IS NULL
            GROUP BY municipality_id, status
            ORDER BY municipality_id, status
            ON CONFLICT (municipality_id, status) DO UPDATE SET plots = k.plots + EXCLUDED.plots;
            RETURN NULL;
        END $function$;
