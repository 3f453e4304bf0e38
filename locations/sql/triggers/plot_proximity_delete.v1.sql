-- plot_proximity follows deleted plots by a statement trigger instead of a foreign key.
CREATE TRIGGER plot_proximity_delete
    AFTER DELETE ON plot
    REFERENCING OLD TABLE AS old_plots
    FOR EACH STATEMENT
    EXECUTE FUNCTION plot_proximity_after_delete();
