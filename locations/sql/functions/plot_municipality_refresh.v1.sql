-- Each plot's kept municipality (plot.municipality_id) computed again for the plots of
-- zone_ids (NULL: every plot), after the zones' municipalities changed (a zone redrawn or
-- moved, a municipality's boundary changed). Only plots whose municipality changes are
-- written, so a border drawn anew rewrites the few plots along it, not every plot.
CREATE OR REPLACE FUNCTION plot_municipality_refresh(zone_ids integer[])
 RETURNS void
 LANGUAGE sql
AS $function$
        UPDATE plot p SET municipality_id = fresh.municipality_id
        FROM (SELECT q.id, plot_municipality(q.zone_id, q.boundary) AS municipality_id
              FROM plot q
              WHERE zone_ids IS NULL OR q.zone_id = ANY (zone_ids)) fresh
        WHERE p.id = fresh.id AND p.municipality_id IS DISTINCT FROM fresh.municipality_id
        $function$;
