-- Scoring against the location standard: standards, runs, plot and zone scores, kept site
-- metrics.
CREATE TRIGGER score_run_plot_scores
    BEFORE DELETE ON score_run
    FOR EACH ROW
    EXECUTE FUNCTION score_run_drop_plot_scores();
