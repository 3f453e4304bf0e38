-- The plots tile z/x/y made afresh (zooms past those whose tiles are kept), as
-- locations/tiles.py's _PLOTS_FRESH_SQL makes it (tests/test_kept_plans.py holds the two
-- equal, byte for byte). Kept here so that each server session plans the statement once
-- (PL/pgSQL keeps its statements' plans; plan_cache_mode makes it the generic plan at once)
-- instead of on every tile, where planning took about as long as making a z16 tile's few
-- hundred plots. The tile's envelopes are worked out first, once: in a plan made for any
-- tile they would otherwise be made again for every plot. Plots are found by the GiST
-- index on boundary whatever the tile.
CREATE OR REPLACE FUNCTION plot_tile_fresh(z integer, x integer, y integer)
 RETURNS bytea
 LANGUAGE plpgsql
 STABLE
 SET plan_cache_mode = force_generic_plan
AS $function$
        DECLARE
            tile geometry := ST_TileEnvelope(z, x, y);
            buffered geometry := ST_TileEnvelope(z, x, y, margin => 0.015625);
            box geometry := ST_Transform(buffered, 3035);
            left_x float8 := ST_XMin(tile);
            top_y float8 := ST_YMax(tile);
            scale float8 := 4096 / (ST_XMax(tile) - ST_XMin(tile));
        BEGIN
            RETURN (
                SELECT ST_AsMVT(t, 'plots', 4096, 'geom', 'id') FROM (
                    SELECT p.id, p.id AS plot_id, p.status,
                           CASE WHEN NOT ST_IsEmpty(g.shape) THEN g.shape END AS geom
                    FROM plot p
                    CROSS JOIN LATERAL (SELECT CASE WHEN p.boundary_3857 @ buffered THEN
                        ST_SnapToGrid(ST_TransScale(ST_ForcePolygonCW(p.boundary_3857),
                                                    -left_x, -top_y, scale, -scale), 1)
                        ELSE ST_AsMVTGeom(p.boundary_3857, tile, 4096, 64, true) END AS shape
                        OFFSET 0) g
                    WHERE p.boundary && box AND p.retired_at IS NULL
                ) t
            );
        END
$function$;
