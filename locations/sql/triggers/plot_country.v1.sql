-- Bulk import support: the importer may defer plot proximity and supply plot countries,
-- checked per statement.
CREATE TRIGGER plot_country
    BEFORE INSERT OR UPDATE OF zone_id ON plot
    FOR EACH ROW
    WHEN (((new.country IS NULL) OR (current_setting('locations.plot_country_given'::text, true) IS DISTINCT FROM 'on'::text)))
    EXECUTE FUNCTION plot_set_country();
