-- Zone rankings: zone_proximity follows a zone's boundary.
CREATE TRIGGER zone_proximity_zone
    AFTER INSERT OR UPDATE OF boundary ON zone
    FOR EACH ROW
    EXECUTE FUNCTION zone_proximity_after_zone();
