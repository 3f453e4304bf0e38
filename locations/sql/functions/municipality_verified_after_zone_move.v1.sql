-- Dashboards: a zone given to another municipality takes its plots' verification months
-- along; both municipalities' months are summed again from their zones'.
CREATE OR REPLACE FUNCTION municipality_verified_after_zone_move()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
        DECLARE
            moved integer[];
        BEGIN
            SELECT array_agg(DISTINCT m) INTO moved
            FROM old_zones o JOIN new_zones n ON n.id = o.id,
                 LATERAL unnest(ARRAY[o.municipality_id, n.municipality_id]) AS m
            WHERE o.municipality_id IS DISTINCT FROM n.municipality_id;
            IF moved IS NULL THEN
                RETURN NULL;
            END IF;
            DELETE FROM municipality_verified_month WHERE municipality_id = ANY (moved);
            INSERT INTO municipality_verified_month (municipality_id, month, plots, by_day)
            SELECT municipality_id, month, sum(plots)::integer, array_agg(plots ORDER BY day)
            FROM (
                SELECT z.municipality_id, v.month, d.day, sum(d.plots)::integer AS plots
                FROM zone_verified_month v JOIN zone z ON z.id = v.zone_id
                CROSS JOIN LATERAL unnest(v.by_day) WITH ORDINALITY AS d(plots, day)
                WHERE z.municipality_id = ANY (moved)
                GROUP BY 1, 2, 3
            ) per_day
            GROUP BY municipality_id, month
            ORDER BY municipality_id, month;
            RETURN NULL;
        END $function$;
