-- A plot's country is its zone's; derived here so no loader can get it wrong.
CREATE OR REPLACE FUNCTION plot_set_country()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        BEGIN
            SELECT m.country INTO NEW.country
            FROM zone z JOIN municipality m ON m.id = z.municipality_id
            WHERE z.id = NEW.zone_id;
            RETURN NEW;
        END $function$;
