-- OGC API zone items: the kept zone JSON (zone_feature) follows every statement on zone_summary.
CREATE TRIGGER zone_feature_summary_insert
    AFTER INSERT ON zone_summary
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION zone_feature_after_summary();
