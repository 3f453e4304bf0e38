-- Searches: the kept count of live plots per municipality and status, maintained set-based.
CREATE TRIGGER plot_count_update
    AFTER UPDATE ON plot
    REFERENCING OLD TABLE AS old_plots NEW TABLE AS new_plots
    FOR EACH STATEMENT
    EXECUTE FUNCTION plot_count_after_update();
