-- Maps support: a kept per-zone summary of its current plots, maintained set-based by
-- triggers.
CREATE TRIGGER zone_summary_truncate
    AFTER TRUNCATE ON plot
    FOR EACH STATEMENT
    EXECUTE FUNCTION zone_summary_after_truncate();
