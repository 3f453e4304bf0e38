-- OGC API zone items: the kept zone JSON (zone_feature) follows every statement on region.
CREATE TRIGGER zone_feature_region
    AFTER UPDATE ON region
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION zone_feature_after_region();
