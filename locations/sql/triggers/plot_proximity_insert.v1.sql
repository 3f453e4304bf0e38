-- Search support: each plot's distances to the nearest infrastructure, kept current by
-- triggers.
CREATE TRIGGER plot_proximity_insert
    AFTER INSERT ON plot
    REFERENCING NEW TABLE AS new_plots
    FOR EACH STATEMENT
    EXECUTE FUNCTION plot_proximity_after_insert();
