-- Zones across municipalities: where a zone's plots lie when the zone alone decides it.
-- A zone with no part to choose from (zone_municipality rows under a share of 0.999) puts
-- every plot in its own municipality, one with a single part in that part; only a zone of
-- two parts or more (by_area) needs each plot's outline (plot_municipality). The bulk
-- loads join this once per statement instead of calling plot_municipality per plot.
CREATE OR REPLACE VIEW zone_placement AS
 SELECT z.id AS zone_id,
    CASE count(zm.municipality_id)
        WHEN 0 THEN z.municipality_id
        WHEN 1 THEN min(zm.municipality_id)
    END AS municipality_id,
    count(zm.municipality_id) > 1 AS by_area
   FROM zone z
     LEFT JOIN (zone_municipality zm
       JOIN municipality m ON m.id = zm.municipality_id)
       ON zm.zone_id = z.id AND zm.share < 0.999::double precision
  GROUP BY z.id;
