-- Maps support: a kept per-zone summary of its current plots, maintained set-based by
-- triggers.
CREATE TRIGGER zone_summary_insert
    AFTER INSERT ON plot
    REFERENCING NEW TABLE AS new_plots
    FOR EACH STATEMENT
    EXECUTE FUNCTION zone_summary_after_insert();
