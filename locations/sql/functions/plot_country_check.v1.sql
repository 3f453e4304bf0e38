
CREATE OR REPLACE FUNCTION plot_country_check()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        DECLARE
            wrong record;
        BEGIN
            IF current_setting('locations.plot_country_given', true) IS DISTINCT FROM 'on' THEN
                RETURN NULL;  -- the row trigger derived every country
            END IF;
            SELECT n.cadastral_ref, n.country, pair.zone_country INTO wrong
            FROM (SELECT pair.zone_id, pair.country, m.country AS zone_country
                  FROM (SELECT DISTINCT zone_id, country FROM new_plots) pair
                  JOIN zone z ON z.id = pair.zone_id
                  JOIN municipality m ON m.id = z.municipality_id
                  WHERE pair.country IS DISTINCT FROM m.country
                  LIMIT 1) pair
            JOIN new_plots n ON n.zone_id = pair.zone_id AND n.country = pair.country
            LIMIT 1;
            IF FOUND THEN
                RAISE EXCEPTION 'plot % has country %, but its zone lies in %',
                    wrong.cadastral_ref, wrong.country, wrong.zone_country
                    USING ERRCODE = 'check_violation';
            END IF;
            RETURN NULL;
        END $function$;
