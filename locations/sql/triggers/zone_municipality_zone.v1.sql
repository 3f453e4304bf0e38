-- Zones across municipalities: kept current when a zone is drawn or moved.
CREATE TRIGGER zone_municipality_zone
    AFTER INSERT OR UPDATE OF boundary, municipality_id ON zone
    FOR EACH ROW
    EXECUTE FUNCTION zone_municipality_after_change();
