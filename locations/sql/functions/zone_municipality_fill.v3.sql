-- Zones across municipalities: the municipalities a zone lies in, with the share of its
-- area in each. The zone's own (lead) municipality is always one; another counts when it
-- holds at least 1 % of the zone, so that a border drawn a few metres off does not make a
-- zone shared. NULL: every zone. The zones' plots keep their municipality with them
-- (plot_municipality_refresh).
-- v3: the zones' kept Features (zone_feature) are kept once the plots are placed, not by
-- zone_municipality's triggers as its rows are written. A zone's kept row is then locked
-- after the plots the fill moves to another municipality, in the order every plot write
-- takes them (its plot's row, then its zone's figures and kept row). Locked before them,
-- a zone redrawn while one of its plots was written deadlocked: the redraw held the kept
-- row and waited for the plot's, the plot's writer held the plot and waited for the kept
-- row (tests/test_write_conflicts.py). The triggers stand aside while the setting
-- locations.zone_feature_after_plots is on, for this transaction's rows only, until the
-- fill has written them.
CREATE OR REPLACE FUNCTION zone_municipality_fill(zone_ids integer[])
 RETURNS void
 LANGUAGE plpgsql
AS $function$
        BEGIN
            PERFORM set_config('locations.zone_feature_after_plots', 'on', true);
            DELETE FROM zone_municipality WHERE zone_ids IS NULL OR zone_id = ANY (zone_ids);
            INSERT INTO zone_municipality (zone_id, municipality_id, share)
            SELECT part.zone_id, part.municipality_id, least(1, part.share)
            FROM (
                SELECT z.id AS zone_id, z.municipality_id AS lead_id, m.id AS municipality_id,
                       ST_Area(ST_Intersection(m.boundary, z.boundary))
                           / nullif(ST_Area(z.boundary), 0) AS share
                FROM zone z
                JOIN municipality m ON m.boundary && z.boundary
                     AND ST_Intersects(m.boundary, z.boundary)
                WHERE zone_ids IS NULL OR z.id = ANY (zone_ids)
                UNION
                SELECT z.id, z.municipality_id, z.municipality_id,
                       ST_Area(ST_Intersection(m.boundary, z.boundary))
                           / nullif(ST_Area(z.boundary), 0)
                FROM zone z JOIN municipality m ON m.id = z.municipality_id
                WHERE zone_ids IS NULL OR z.id = ANY (zone_ids)
            ) part
            WHERE part.municipality_id = part.lead_id OR part.share >= 0.01;
            PERFORM set_config('locations.zone_feature_after_plots', 'off', true);
            PERFORM plot_municipality_refresh(zone_ids);
            PERFORM zone_feature_refresh(zone_ids, ARRAY[]::integer[]);
        END $function$;
