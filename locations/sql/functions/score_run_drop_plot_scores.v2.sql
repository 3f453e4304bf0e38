-- A run's plot scores are its own partition of plot_score (locations.scoring): a deleted
-- run drops it, whether the run attached it yet or failed before.
CREATE OR REPLACE FUNCTION score_run_drop_plot_scores()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        BEGIN
            EXECUTE format('DROP TABLE IF EXISTS %I', 'plot_score_run_' || OLD.id);
            RETURN OLD;
        END $function$;
