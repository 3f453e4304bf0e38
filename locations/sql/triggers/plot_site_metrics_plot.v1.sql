-- Scoring against the location standard: standards, runs, plot and zone scores, kept site
-- metrics.
CREATE TRIGGER plot_site_metrics_plot
    AFTER UPDATE ON plot
    REFERENCING OLD TABLE AS old_plots NEW TABLE AS new_plots
    FOR EACH STATEMENT
    EXECUTE FUNCTION plot_site_metrics_plot_changed();
