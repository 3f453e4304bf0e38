-- A region's or municipality's area is its boundary's, in km2 (EPSG:3035 is equal-area):
-- whoever writes a boundary (an import, the demo loader, SQL by hand) cannot leave an area
-- behind that belongs to another outline. Without a boundary the area given is kept. The
-- area a file states (GURS's POV_KM2, GISCO's AREA_KM2) is kept apart, in official_area_km2.
CREATE OR REPLACE FUNCTION boundary_area_derive()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        BEGIN
            IF NEW.boundary IS NOT NULL THEN
                NEW.area_km2 := ST_Area(NEW.boundary) / 1e6;
            END IF;
            RETURN NEW;
        END $function$;
