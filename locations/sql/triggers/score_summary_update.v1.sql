-- Comparisons by score: the figures kept for each profile's current scores follow every
-- statement on plot (score_summary_add.v1.sql).
CREATE TRIGGER score_summary_update
    AFTER UPDATE ON plot
    REFERENCING OLD TABLE AS old_plots NEW TABLE AS new_plots
    FOR EACH STATEMENT
    EXECUTE FUNCTION score_summary_after_update();
