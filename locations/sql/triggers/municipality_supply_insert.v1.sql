-- Land-supply monitoring: municipality_supply_month follows its zones' months.
CREATE TRIGGER municipality_supply_insert
    AFTER INSERT ON zone_supply_month
    REFERENCING NEW TABLE AS new_months
    FOR EACH STATEMENT
    EXECUTE FUNCTION municipality_supply_after_change();
