-- Region levels and zones across municipalities: kept current when municipalities change.
CREATE TRIGGER municipality_boundary
    AFTER INSERT OR DELETE OR UPDATE OF region_id, country, boundary, seat ON municipality
    FOR EACH STATEMENT
    EXECUTE FUNCTION municipality_boundary_after_change();
