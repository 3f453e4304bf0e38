-- Land-supply monitoring: an audit trail emptied (TRUNCATE plot CASCADE before a fresh
-- load) leaves no monthly figures and no first loads behind.
CREATE OR REPLACE FUNCTION zone_supply_after_truncate()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        BEGIN
            DELETE FROM zone_supply_month;
            DELETE FROM municipality_first_load;
            RETURN NULL;
        END $function$;
