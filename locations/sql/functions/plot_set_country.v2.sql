-- A plot's place: its country (its zone's) and its municipality (plot_municipality: the
-- zone's own, or in a shared zone the one holding most of the plot), derived in one row
-- trigger so no writer can get either wrong. A loader that computed them set-based says so
-- (locations.plot_country_given, locations.plot_municipality_given) and is trusted; an
-- update recomputes only what its new zone, outline or a hand-set value could change.
CREATE OR REPLACE FUNCTION plot_set_country()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        BEGIN
            IF (NEW.country IS NULL
                OR current_setting('locations.plot_country_given', true) IS DISTINCT FROM 'on')
               AND (TG_OP = 'INSERT' OR NEW.zone_id IS DISTINCT FROM OLD.zone_id
                    OR NEW.country IS DISTINCT FROM OLD.country) THEN
                SELECT m.country INTO NEW.country
                FROM zone z JOIN municipality m ON m.id = z.municipality_id
                WHERE z.id = NEW.zone_id;
            END IF;
            IF current_setting('locations.plot_municipality_given', true) IS DISTINCT FROM 'on'
               AND (TG_OP = 'INSERT' OR NEW.zone_id IS DISTINCT FROM OLD.zone_id
                    OR NEW.boundary IS DISTINCT FROM OLD.boundary
                    OR NEW.municipality_id IS DISTINCT FROM OLD.municipality_id) THEN
                NEW.municipality_id := plot_municipality(NEW.zone_id, NEW.boundary);
            END IF;
            RETURN NEW;
        END $function$;
