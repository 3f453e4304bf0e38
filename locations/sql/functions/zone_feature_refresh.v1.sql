-- OGC API zone items and GET /zones: each zone's GeoJSON outline (CRS84), properties and
-- whole Feature kept as the JSON text those reads write, with the keys of their default
-- order (region code, municipality name, zone name: an index gives a page of it without
-- sorting every zone), computed again for zone_ids (NULL: every zone), the outlines only
-- for outline_ids (NULL: all of them) and zones kept without one. The text is that of locations/features.py's ZONE_COLUMNS and ZONE_AGGREGATES and
-- geometry_sql (tests/test_zone_feature.py holds them equal). Nothing in it depends on who
-- reads it.
-- The kept rows are locked first, in zone order, and the figures read by the next statement
-- with a fresh snapshot: a writer that waited for another's lock then sees what that one
-- committed, so two transactions changing different sources of one zone (its plots, its
-- municipality's name) cannot leave either's older view behind.
CREATE OR REPLACE FUNCTION zone_feature_refresh(zone_ids integer[], outline_ids integer[])
 RETURNS void
 LANGUAGE plpgsql
AS $function$
        BEGIN
            IF cardinality(zone_ids) = 0 THEN
                RETURN;
            END IF;
            PERFORM 1 FROM zone_feature
            WHERE zone_ids IS NULL OR zone_id = ANY (zone_ids)
            ORDER BY zone_id
            FOR UPDATE;
            INSERT INTO zone_feature AS zf (zone_id, region_code, municipality_name, name,
                                            geometry, properties, feature)
            SELECT fresh.id, fresh.region_code, fresh.municipality_name, fresh.name,
                   fresh.geometry, fresh.properties,
                   json_build_object('type', 'Feature', 'id', fresh.id,
                                     'geometry', fresh.geometry,
                                     'properties', fresh.properties)::text
            FROM (
                SELECT z.id, r.code AS region_code, m.name AS municipality_name, z.name,
                       CASE WHEN kept.zone_id IS NULL OR outline_ids IS NULL
                                 OR z.id = ANY (outline_ids)
                            THEN ST_AsGeoJSON(ST_ForcePolygonCCW(ST_Transform(z.boundary, 4326)),
                                              7)::json
                            ELSE kept.geometry END AS geometry,
                       to_json(columns) AS properties
                FROM zone z
                JOIN municipality m ON m.id = z.municipality_id
                JOIN region r ON r.id = m.region_id
                LEFT JOIN zone_summary zs ON zs.zone_id = z.id
                LEFT JOIN zone_feature kept ON kept.zone_id = z.id
                CROSS JOIN LATERAL (
                    SELECT z.id, z.name, z.kind, z.lifecycle, z.allowed_uses, z.brownfield,
                           z.municipality_id, m.name AS municipality_name, r.code AS region_code,
                           m.country,
                           (SELECT array_agg(zm_m.name ORDER BY zm.municipality_id <> z.municipality_id,
                                             zm_m.name)
                            FROM zone_municipality zm
                            JOIN municipality zm_m ON zm_m.id = zm.municipality_id
                            WHERE zm.zone_id = z.id) AS municipalities,
                           round(z.area_m2::numeric, 1)::float AS area_m2,
                           z.power_mw, z.gas, z.water, z.sewage, z.broadband, z.rail_siding,
                           z.district_heating, z.manager_name, z.manager_email, z.manager_phone,
                           z.description_en, z.description_sl, z.description_de,
                           z.property_sheet_url, z.last_verified, z.version,
                           coalesce(zs.plot_count, 0) AS plot_count,
                           round(coalesce(zs.plot_area_m2, 0), 1)::float AS plot_area_m2,
                           round(coalesce(zs.available_area_m2, 0), 1)::float AS available_area_m2,
                           coalesce(jsonb_strip_nulls(jsonb_build_object(
                               'available', NULLIF(zs.available_count, 0),
                               'reserved', NULLIF(zs.reserved_count, 0),
                               'under_negotiation', NULLIF(zs.under_negotiation_count, 0),
                               'sold', NULLIF(zs.sold_count, 0),
                               'occupied', NULLIF(zs.occupied_count, 0),
                               'not_for_sale', NULLIF(zs.not_for_sale_count, 0)
                           )), '{}'::jsonb) AS plots_by_status,
                           round(zs.occupancy_share::numeric, 4)::float AS occupancy_share
                ) AS columns
                WHERE zone_ids IS NULL OR z.id = ANY (zone_ids)
            ) fresh
            ORDER BY fresh.id
            ON CONFLICT (zone_id) DO UPDATE
                SET region_code = EXCLUDED.region_code,
                    municipality_name = EXCLUDED.municipality_name, name = EXCLUDED.name,
                    geometry = EXCLUDED.geometry, properties = EXCLUDED.properties,
                    feature = EXCLUDED.feature
                WHERE zf.feature <> EXCLUDED.feature;
        END $function$;
