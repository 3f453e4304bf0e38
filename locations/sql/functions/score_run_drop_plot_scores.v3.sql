-- A run's plot scores are its own partition of plot_score, and the group scores of its
-- plots that pass the gates its own partition of plot_group_score (locations.scoring): a
-- deleted run drops both, whether the run attached them yet or failed before.
CREATE OR REPLACE FUNCTION score_run_drop_plot_scores()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        BEGIN
            EXECUTE format('DROP TABLE IF EXISTS %I, %I',
                           'plot_score_run_' || OLD.id || '_groups', 'plot_score_run_' || OLD.id);
            RETURN OLD;
        END $function$;
