-- Maps support: a kept per-zone summary of its current plots, maintained set-based by
-- triggers.
CREATE TRIGGER zone_summary_delete
    AFTER DELETE ON plot
    REFERENCING OLD TABLE AS old_plots
    FOR EACH STATEMENT
    EXECUTE FUNCTION zone_summary_after_delete();
