-- Land-supply monitoring: a zone moved to another municipality moves its months.
CREATE TRIGGER municipality_supply_zone_move
    AFTER UPDATE ON zone
    REFERENCING OLD TABLE AS old_zones NEW TABLE AS new_zones
    FOR EACH STATEMENT
    EXECUTE FUNCTION municipality_supply_after_zone_move();
