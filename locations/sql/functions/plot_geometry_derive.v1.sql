-- A plot's area and web-mercator copy are kept by a row trigger, which an importer that
-- computed them already may skip.
CREATE OR REPLACE FUNCTION plot_geometry_derive()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        BEGIN
            NEW.area_m2 := ST_Area(NEW.boundary);
            NEW.boundary_3857 := ST_Transform(NEW.boundary, 3857);
            RETURN NEW;
        END $function$;
