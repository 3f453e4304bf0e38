-- OGC API zone items: the kept zone JSON (zone_feature) follows every statement on zone_summary.
CREATE TRIGGER zone_feature_summary_update
    AFTER UPDATE ON zone_summary
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION zone_feature_after_summary();
