-- Scoring against the location standard: standards, runs, plot and zone scores, kept site
-- metrics.
CREATE OR REPLACE FUNCTION score_run_drop_plot_scores()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        BEGIN
            DELETE FROM plot_score WHERE run_id = OLD.id;
            RETURN OLD;
        END $function$;
