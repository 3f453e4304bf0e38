-- Search support: each plot's distances to the nearest infrastructure, kept current by
-- triggers.
CREATE TRIGGER plot_proximity_update
    AFTER UPDATE ON plot
    REFERENCING OLD TABLE AS old_plots NEW TABLE AS new_plots
    FOR EACH STATEMENT
    EXECUTE FUNCTION plot_proximity_after_update();
