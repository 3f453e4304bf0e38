-- Search support: each plot's distances to the nearest infrastructure, kept current by
-- triggers.
CREATE TRIGGER plot_proximity_infrastructure
    AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON infrastructure
    FOR EACH STATEMENT
    EXECUTE FUNCTION plot_proximity_after_infrastructure();
