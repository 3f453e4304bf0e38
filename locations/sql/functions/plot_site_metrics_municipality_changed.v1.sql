-- A municipality's population or seat changes the labour pool around it.
CREATE OR REPLACE FUNCTION plot_site_metrics_municipality_changed()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        BEGIN
            DELETE FROM plot_site_metrics m USING plot p
            WHERE m.plot_id = p.id
              AND ((TG_OP <> 'INSERT' AND ST_DWithin(p.boundary, OLD.seat, 30000))
                OR (TG_OP <> 'DELETE' AND ST_DWithin(p.boundary, NEW.seat, 30000)));
            RETURN NULL;
        END $function$;
