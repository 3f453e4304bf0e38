-- Zone rankings: zone_proximity follows the infrastructure.
CREATE TRIGGER zone_proximity_infrastructure
    AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON infrastructure
    FOR EACH STATEMENT
    EXECUTE FUNCTION zone_proximity_after_infrastructure();
