-- A plot's area and web-mercator copy are kept by a row trigger, which an importer that
-- computed them already may skip.
CREATE TRIGGER plot_geometry_update
    BEFORE UPDATE OF boundary, area_m2, boundary_3857 ON plot
    FOR EACH ROW
    EXECUTE FUNCTION plot_geometry_derive();
