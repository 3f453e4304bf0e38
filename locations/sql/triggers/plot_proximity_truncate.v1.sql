-- plot_proximity is emptied when plot is truncated.
CREATE TRIGGER plot_proximity_truncate
    AFTER TRUNCATE ON plot
    FOR EACH STATEMENT
    EXECUTE FUNCTION plot_proximity_after_truncate();
