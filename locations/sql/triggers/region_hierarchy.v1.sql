-- Region levels: level and parent derived and checked on every write.
CREATE TRIGGER region_hierarchy
    BEFORE INSERT OR UPDATE OF code, level, parent_id, country ON region
    FOR EACH ROW
    EXECUTE FUNCTION region_hierarchy_derive();
