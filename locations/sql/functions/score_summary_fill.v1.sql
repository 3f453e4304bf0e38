-- Comparisons by score: the figures kept for a profile's current scores, written afresh
-- (score_summary_add says what they are). A scoring run calls it in the transaction that
-- marks it finished, so the figures change with the current scores; the plot triggers then
-- keep them through every write. The runs are picked as locations.rankings.ranking_run
-- (ranked_runs: the newest run's standard, the newest run of each scope, none older than the
-- newest run over all regions) and locations.current_scores.current_runs (scored_runs: the
-- newest run of each scope) pick them; a reader uses the figures only when its own runs are
-- these, and otherwise computes from the scores. The lock waits for writes whose triggers
-- have passed (their changes are then in what is read here) and holds back the triggers of
-- writes to come until these figures are committed (they then add their changes to them).
CREATE OR REPLACE FUNCTION score_summary_fill(p_profile text)
 RETURNS void
 LANGUAGE plpgsql
AS $function$
        DECLARE
            v_newest bigint;
            v_standard integer;
            v_ranked bigint[];
            v_scored bigint[];
            v_rows integer;
        BEGIN
            LOCK TABLE score_summary_run IN SHARE ROW EXCLUSIVE MODE;
            DELETE FROM score_summary_run WHERE profile = p_profile;
            SELECT id, standard_id INTO v_newest, v_standard
            FROM score_run WHERE profile = p_profile AND status = 'finished'
            ORDER BY finished_at DESC, id DESC LIMIT 1;
            IF NOT FOUND THEN
                RETURN;
            END IF;
            WITH latest AS (
                SELECT DISTINCT ON (region_code) id, region_code, finished_at
                FROM score_run
                WHERE profile = p_profile AND status = 'finished' AND standard_id = v_standard
                ORDER BY region_code, finished_at DESC, id DESC
            ), ordered AS (
                SELECT id, region_code, row_number() OVER (ORDER BY finished_at DESC, id DESC) AS n
                FROM latest
            )
            SELECT array_agg(id ORDER BY n) INTO v_ranked FROM ordered
            WHERE n <= coalesce((SELECT min(n) FROM ordered WHERE region_code IS NULL), n);
            SELECT array_agg(id ORDER BY finished_at DESC, id DESC) INTO v_scored FROM (
                SELECT DISTINCT ON (region_code) id, finished_at
                FROM score_run
                WHERE profile = p_profile AND status = 'finished'
                ORDER BY region_code, finished_at DESC, id DESC
            ) latest;
            INSERT INTO score_summary_run (run_id, profile, ranked_runs, scored_runs, max_plot_id)
            VALUES (v_newest, p_profile, v_ranked, v_scored,
                    coalesce((SELECT max(plot_id) FROM plot_score
                              WHERE run_id = ANY (v_ranked || v_scored)), 0));
            IF v_ranked = ARRAY[v_newest] AND v_scored = ARRAY[v_newest] THEN
                -- One run holds every current score (the usual case): one join of the run's
                -- scores with the plots, the same figures score_summary_add gives.
                WITH per_plot AS MATERIALIZED (
                    SELECT p.zone_id, p.municipality_id, p.area_m2, s.total,
                           (s.passed AND p.status = 'available') AS ranked
                    FROM plot p
                    JOIN plot_score s ON s.run_id = v_newest AND s.plot_id = p.id
                    WHERE p.retired_at IS NULL
                ), summary AS (
                    INSERT INTO score_summary (run_id, zone_id, municipality_id, ranked_plots,
                                               ranked_area_m2, above_60_m2, scored_plots,
                                               score_sum)
                    SELECT v_newest, zone_id, municipality_id,
                           count(*) FILTER (WHERE ranked),
                           coalesce(sum(area_m2::numeric) FILTER (WHERE ranked), 0),
                           coalesce(sum(area_m2::numeric) FILTER (WHERE ranked AND total > 60), 0),
                           count(*), sum(CAST(total AS float8)::numeric)
                    FROM per_plot
                    GROUP BY zone_id, municipality_id
                    ORDER BY zone_id, municipality_id
                )
                SELECT score_histogram_add(v_newest, array_agg(municipality_id),
                                           array_agg(fine), array_agg(plots))
                INTO v_rows
                FROM (
                    SELECT municipality_id, floor(CAST(total AS float8) * 100)::integer AS fine,
                           count(*)::integer AS plots
                    FROM per_plot WHERE ranked
                    GROUP BY 1, 2
                ) bins;
            ELSE
                PERFORM score_summary_add(
                    v_newest, array_agg(p.id), array_agg(p.zone_id), array_agg(p.municipality_id),
                    array_agg(p.status = 'available'), array_agg(true), array_agg(p.area_m2),
                    array_agg(1))
                FROM plot p
                WHERE p.retired_at IS NULL AND p.id <= (SELECT max_plot_id FROM score_summary_run
                                                        WHERE run_id = v_newest);
            END IF;
        END $function$;
