-- Region levels: each municipality's region at every level, computed set-based. Its own
-- region (municipality.region_id) and that region's ancestors come first; a level off that
-- chain (an Austrian district below NUTS-3) is the region of that level and country that
-- holds most of the municipality (its seat when it has no boundary), so differently
-- simplified borders cannot put a municipality into a neighbour's district.
CREATE OR REPLACE FUNCTION region_membership_fill()
 RETURNS void
 LANGUAGE plpgsql
AS $function$
        BEGIN
            DELETE FROM municipality_region;
            INSERT INTO municipality_region (municipality_id, level, region_id)
            WITH RECURSIVE chain AS (
                SELECT m.id AS municipality_id, r.id AS region_id, r.level, r.parent_id,
                       1 AS depth
                FROM municipality m JOIN region r ON r.id = m.region_id
                UNION ALL
                SELECT c.municipality_id, p.id, p.level, p.parent_id, c.depth + 1
                FROM chain c JOIN region p ON p.id = c.parent_id
                WHERE c.depth < 10
            )
            SELECT municipality_id, level, region_id FROM chain
            UNION ALL
            (SELECT DISTINCT ON (m.id, r.level) m.id, r.level, r.id
            FROM municipality m
            JOIN region r ON r.country = m.country AND r.boundary IS NOT NULL
                 AND r.boundary && coalesce(m.boundary, m.seat)
                 AND ST_Intersects(r.boundary, coalesce(m.boundary, m.seat))
            WHERE NOT EXISTS (SELECT 1 FROM chain c
                              WHERE c.municipality_id = m.id AND c.level = r.level)
            ORDER BY m.id, r.level,
                     CASE WHEN m.boundary IS NULL THEN 0
                          ELSE ST_Area(ST_Intersection(r.boundary, m.boundary)) END DESC,
                     r.id);
        END $function$;
