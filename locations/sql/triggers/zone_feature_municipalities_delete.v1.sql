-- OGC API zone items: the kept zone JSON (zone_feature) follows every statement on zone_municipality.
CREATE TRIGGER zone_feature_municipalities_delete
    AFTER DELETE ON zone_municipality
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION zone_feature_after_zone_municipality();
