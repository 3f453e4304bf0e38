-- A plot's country and municipality, derived per row (plot_set_country, named when it
-- derived the country alone); a row whose loader gave both skips the call.
CREATE TRIGGER plot_country
    BEFORE INSERT OR UPDATE OF zone_id, boundary, country, municipality_id ON plot
    FOR EACH ROW
    WHEN (((new.country IS NULL) OR (current_setting('locations.plot_country_given'::text, true) IS DISTINCT FROM 'on'::text) OR (current_setting('locations.plot_municipality_given'::text, true) IS DISTINCT FROM 'on'::text)))
    EXECUTE FUNCTION plot_set_country();
