-- Land-supply monitoring: municipality_supply_month follows its zones' months.
CREATE TRIGGER municipality_supply_update
    AFTER UPDATE ON zone_supply_month
    REFERENCING OLD TABLE AS old_months NEW TABLE AS new_months
    FOR EACH STATEMENT
    EXECUTE FUNCTION municipality_supply_after_change();
