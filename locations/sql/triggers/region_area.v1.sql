CREATE TRIGGER region_area
    BEFORE INSERT OR UPDATE OF boundary, area_km2 ON region
    FOR EACH ROW
    EXECUTE FUNCTION boundary_area_derive();
