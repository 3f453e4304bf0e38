-- Dashboards: a zone moved to another municipality moves its plots' verification months.
CREATE TRIGGER municipality_verified_zone_move
    AFTER UPDATE ON zone
    REFERENCING OLD TABLE AS old_zones NEW TABLE AS new_zones
    FOR EACH STATEMENT
    EXECUTE FUNCTION municipality_verified_after_zone_move();
