-- A constraint area that appears, moves or goes: the plots it touches(ed) are stale.
CREATE OR REPLACE FUNCTION plot_site_metrics_constraint_changed()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        BEGIN
            DELETE FROM plot_site_metrics m USING plot p
            WHERE m.plot_id = p.id
              AND ((TG_OP <> 'INSERT' AND ST_Intersects(p.boundary, OLD.boundary))
                OR (TG_OP <> 'DELETE' AND ST_Intersects(p.boundary, NEW.boundary)));
            RETURN NULL;
        END $function$;
