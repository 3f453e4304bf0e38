-- Region levels: municipalities' regions per level follow every change of the regions.
CREATE TRIGGER region_membership_region
    AFTER INSERT OR DELETE OR UPDATE OF code, level, parent_id, country, boundary ON region
    FOR EACH STATEMENT
    EXECUTE FUNCTION region_membership_after_change();
