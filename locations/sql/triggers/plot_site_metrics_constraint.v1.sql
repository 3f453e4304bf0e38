-- Scoring against the location standard: standards, runs, plot and zone scores, kept site
-- metrics.
CREATE TRIGGER plot_site_metrics_constraint
    AFTER INSERT OR DELETE OR UPDATE ON constraint_area
    FOR EACH ROW
    EXECUTE FUNCTION plot_site_metrics_constraint_changed();
