-- Land-supply monitoring: zone_supply_month empties with the audit trail.
CREATE TRIGGER zone_supply_truncate
    AFTER TRUNCATE ON plot_event
    FOR EACH STATEMENT
    EXECUTE FUNCTION zone_supply_after_truncate();
