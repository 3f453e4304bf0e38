-- Land-supply monitoring: zone_supply_month follows every event written, whoever writes it.
CREATE TRIGGER zone_supply_event
    AFTER INSERT ON plot_event
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT
    EXECUTE FUNCTION zone_supply_after_event();
