-- Searches: the kept count of live plots per municipality and status, maintained set-based.
CREATE TRIGGER plot_count_truncate
    AFTER TRUNCATE ON plot
    FOR EACH STATEMENT
    EXECUTE FUNCTION plot_count_after_truncate();
