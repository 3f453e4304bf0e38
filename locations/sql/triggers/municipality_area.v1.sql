CREATE TRIGGER municipality_area
    BEFORE INSERT OR UPDATE OF boundary, area_km2 ON municipality
    FOR EACH ROW
    EXECUTE FUNCTION boundary_area_derive();
