-- Bulk import support: the importer may defer plot proximity and supply plot countries,
-- checked per statement.
CREATE TRIGGER plot_country_check_insert
    AFTER INSERT ON plot
    REFERENCING NEW TABLE AS new_plots
    FOR EACH STATEMENT
    EXECUTE FUNCTION plot_country_check();
