-- Scoring against the location standard: standards, runs, plot and zone scores, kept site
-- metrics.
CREATE TRIGGER plot_site_metrics_municipality
    AFTER INSERT OR DELETE OR UPDATE OF population, seat ON municipality
    FOR EACH ROW
    EXECUTE FUNCTION plot_site_metrics_municipality_changed();
