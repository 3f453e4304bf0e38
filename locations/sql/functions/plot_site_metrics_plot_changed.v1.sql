-- A moved boundary changes shape, constraint shares and neighbours.
CREATE OR REPLACE FUNCTION plot_site_metrics_plot_changed()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        BEGIN
            DELETE FROM plot_site_metrics m USING new_plots n, old_plots o
            WHERE m.plot_id = n.id AND o.id = n.id AND NOT ST_Equals(n.boundary, o.boundary);
            RETURN NULL;
        END $function$;
