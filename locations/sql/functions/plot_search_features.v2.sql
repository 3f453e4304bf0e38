-- A search page's plots as GeoJSON Feature text in CRS84, for a reader without internal
-- fields and without distances: ids in the page's order with each one's sort key as text
-- (for the next cursor), answered with n, the plot's place in the page. The statement is
-- the one locations/search.py's _page_features writes for such a page (PLOT_SEARCH_COLUMNS
-- and plot_geometry_json, tests/test_kept_plans.py holds them equal, byte for byte); kept here so
-- that each server session plans it once (PL/pgSQL keeps its statements' plans) instead of
-- on every page (plan_cache_mode makes it the generic plan at once): planning the four joins and the properties took most of a small page's
-- database time. Its plan depends on no value: every plot is found by its key.
-- v2: the outline is the plot's kept GeoJSON (plot.boundary_geojson, migration 0138), not
-- transformed and written anew for every plot of every page.
CREATE OR REPLACE FUNCTION plot_search_features(ids bigint[], sort_keys text[])
 RETURNS TABLE (n bigint, id bigint, sort_key text, feature text)
 LANGUAGE plpgsql
 STABLE
 SET plan_cache_mode = force_generic_plan
AS $function$
        BEGIN
            RETURN QUERY
            SELECT page.n, p.id, page.sort_key,
                   json_build_object('type', 'Feature', 'id', p.id,
                                     'geometry', p.boundary_geojson,
                                     'properties', to_json(properties))::text
            FROM unnest(ids, sort_keys) WITH ORDINALITY AS page (id, sort_key, n)
            JOIN plot p ON p.id = page.id
            JOIN zone z ON z.id = p.zone_id
            JOIN municipality m ON m.id = p.municipality_id
            JOIN region r ON r.id = m.region_id
            CROSS JOIN LATERAL (SELECT
                p.id, p.cadastral_ref, p.country, p.zone_id, z.name AS zone_name,
                m.id AS municipality_id, m.name AS municipality_name, r.code AS region_code,
                round(p.area_m2::numeric, 1)::float AS area_m2, p.status, p.ownership, p.offer,
                p.price_eur_m2,
                CASE WHEN cardinality(p.allowed_uses) > 0 THEN p.allowed_uses ELSE z.allowed_uses END
                    AS allowed_uses,
                p.readiness, p.brownfield, coalesce(p.power_mw, z.power_mw) AS power_mw,
                z.broadband, z.gas, z.rail_siding, p.available_from, p.last_verified, p.version,
                p.max_building_height_m
            ) AS properties;
        END
$function$;
