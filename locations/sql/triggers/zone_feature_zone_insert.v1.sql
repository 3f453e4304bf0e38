-- OGC API zone items: the kept zone JSON (zone_feature) follows every statement on zone.
CREATE TRIGGER zone_feature_zone_insert
    AFTER INSERT ON zone
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION zone_feature_after_zone();
