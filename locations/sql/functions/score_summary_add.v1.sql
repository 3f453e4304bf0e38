-- Comparisons by score: add a set of plot changes to the figures kept for a profile's
-- current scores (score_summary_run names the runs). Each change is a plot as it is (+1) or
-- was (-1); the insert, update and delete triggers on plot pass theirs here, so the kept
-- figures follow every write in its own transaction, and score_summary_fill passes every
-- plot when the runs change. A plot counts when it is not retired and has a current score:
-- the newest of the runs that scored it, as rankings (ranked_runs) and the pages
-- (scored_runs) each pick it. score_summary, per zone and the plot's own municipality:
-- ranked plots (their current score passed the gates and the plot is available), their
-- area and their area above a score of 60, and every scored plot with the sum of their scores; and the
-- ranked plots' scores in score_histogram.
CREATE OR REPLACE FUNCTION score_summary_add(
    p_run bigint, plot_ids bigint[], zone_ids integer[], municipality_ids integer[],
    available boolean[], live boolean[], areas double precision[], signs integer[])
 RETURNS void
 LANGUAGE plpgsql
AS $function$
        DECLARE
            v_ranked bigint[];
            v_scored bigint[];
            v_rows integer;
        BEGIN
            SELECT ranked_runs, scored_runs INTO v_ranked, v_scored
            FROM score_summary_run WHERE run_id = p_run;
            IF NOT FOUND THEN
                RETURN;
            END IF;
            WITH changes AS (
                SELECT c.*
                FROM unnest(plot_ids, zone_ids, municipality_ids, available, live, areas, signs)
                     AS c(plot_id, zone_id, municipality_id, available, live, area_m2, sign)
                WHERE c.live
            ), scored AS MATERIALIZED (
                SELECT c.zone_id, c.municipality_id, c.area_m2, c.sign,
                       r.total AS ranked_total, coalesce(r.passed AND c.available, false) AS ranked,
                       s.total AS scored_total
                FROM changes c
                LEFT JOIN LATERAL (
                    SELECT ps.total, ps.passed FROM plot_score ps
                    WHERE ps.plot_id = c.plot_id AND ps.run_id = ANY (v_ranked)
                    ORDER BY array_position(v_ranked, ps.run_id) LIMIT 1
                ) r ON true
                LEFT JOIN LATERAL (
                    SELECT ps.total FROM plot_score ps
                    WHERE ps.plot_id = c.plot_id AND ps.run_id = ANY (v_scored)
                    ORDER BY array_position(v_scored, ps.run_id) LIMIT 1
                ) s ON true
                WHERE r.total IS NOT NULL OR s.total IS NOT NULL
            ), summary AS (
                INSERT INTO score_summary AS ss (run_id, zone_id, municipality_id, ranked_plots,
                                                 ranked_area_m2, above_60_m2, scored_plots,
                                                 score_sum)
                SELECT p_run, zone_id, municipality_id,
                       coalesce(sum(sign) FILTER (WHERE ranked), 0),
                       coalesce(sum(sign * area_m2::numeric) FILTER (WHERE ranked), 0),
                       coalesce(sum(sign * area_m2::numeric)
                                FILTER (WHERE ranked AND ranked_total > 60), 0),
                       coalesce(sum(sign) FILTER (WHERE scored_total IS NOT NULL), 0),
                       coalesce(sum(sign * CAST(scored_total AS float8)::numeric)
                                FILTER (WHERE scored_total IS NOT NULL), 0)
                FROM scored
                GROUP BY zone_id, municipality_id
                ORDER BY zone_id, municipality_id
                ON CONFLICT (run_id, zone_id, municipality_id) DO UPDATE SET
                    ranked_plots = ss.ranked_plots + excluded.ranked_plots,
                    ranked_area_m2 = ss.ranked_area_m2 + excluded.ranked_area_m2,
                    above_60_m2 = ss.above_60_m2 + excluded.above_60_m2,
                    scored_plots = ss.scored_plots + excluded.scored_plots,
                    score_sum = ss.score_sum + excluded.score_sum
                RETURNING 1
            )
            SELECT score_histogram_add(p_run, array_agg(municipality_id), array_agg(fine),
                                       array_agg(plots))
            INTO v_rows
            FROM (
                SELECT municipality_id, floor(CAST(ranked_total AS float8) * 100)::integer AS fine,
                       sum(sign)::integer AS plots
                FROM scored WHERE ranked
                GROUP BY 1, 2
                HAVING sum(sign) <> 0
            ) bins;
        END $function$;
