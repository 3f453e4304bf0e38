-- The setting is tested in the trigger's WHEN, not in the function: a skipped row then
-- costs no function call at all.
CREATE TRIGGER plot_geometry_insert
    BEFORE INSERT ON plot
    FOR EACH ROW
    WHEN ((current_setting('locations.plot_geometry_given'::text, true) IS DISTINCT FROM 'on'::text))
    EXECUTE FUNCTION plot_geometry_derive();
