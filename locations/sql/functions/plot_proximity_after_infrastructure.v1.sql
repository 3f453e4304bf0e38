-- Infrastructure changes are rare and may move any plot's nearest neighbour: redo all.
CREATE OR REPLACE FUNCTION plot_proximity_after_infrastructure()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        BEGIN
            PERFORM plot_proximity_refresh(NULL);
            RETURN NULL;
        END $function$;
