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
            -- Each run's last plot by its key, the runs one by one: over an array of runs
            -- the largest plot id was a scan of every score of the runs (1M rows at 1M plots).
            INSERT INTO score_summary_run (run_id, profile, ranked_runs, scored_runs, max_plot_id)
            VALUES (v_newest, p_profile, v_ranked, v_scored,
                    coalesce((SELECT max(run_last.plot_id)
                              FROM unnest(v_ranked || v_scored) AS runs (id)
                              CROSS JOIN LATERAL (SELECT max(s.plot_id) AS plot_id
                                                  FROM plot_score s
                                                  WHERE s.run_id = runs.id) run_last), 0));
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
                , bins AS (
                    SELECT municipality_id, fine / 100 AS coarse, fine % 100 AS within,
                           count(*)::integer AS plots
                    FROM (SELECT municipality_id,
                                 floor(CAST(total AS float8) * 100)::integer AS fine
                          FROM per_plot WHERE ranked) ranked
                    GROUP BY 1, 2, 3
                ), spaced AS (
                    SELECT municipality_id, coarse, within, plots,
                           within - lag(within, 1, -1) OVER (PARTITION BY municipality_id, coarse
                                                             ORDER BY within) - 1 AS empty_before
                    FROM bins
                ), histogram AS (
                    -- The rows score_histogram_add writes into an empty run, each row's hundred
                    -- counts spelt out from the bins that hold plots: the function makes a
                    -- hundred rows of every row and joins the bins to them (0.1 s at 100k plots).
                    INSERT INTO score_histogram (run_id, municipality_id, coarse, plots, fine)
                    SELECT v_newest, municipality_id, coarse, sum(plots)::integer,
                           CAST('{' || string_agg(repeat('0,', empty_before) || plots, ','
                                                  ORDER BY within)
                                || repeat(',0', 99 - max(within)) || '}' AS integer[])
                    FROM spaced
                    GROUP BY municipality_id, coarse
                    ORDER BY municipality_id, coarse
                    RETURNING 1
                )
                SELECT count(*)::integer INTO v_rows FROM histogram;
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
