-- Comparisons by score: add counts of ranked plots to a run's kept score histogram. Each
-- change is a municipality, a fine bin (floor of the total times 100: 0..10000) and a count
-- (negative: plots out). A row holds one whole point of scores (coarse = fine / 100) of one
-- municipality: its plots and the counts of its hundred fine bins, so a region's median
-- is found by summing a hundred-odd rows per municipality, then one row's hundred bins.
-- Rows are written in key order so two statements wait for each other, not deadlock.
-- Returns the rows written.
CREATE OR REPLACE FUNCTION score_histogram_add(
    p_run bigint, municipality_ids integer[], fines integer[], counts integer[])
 RETURNS integer
 LANGUAGE sql
AS $function$
    WITH changes AS (
        SELECT c.municipality_id, c.fine / 100 AS coarse, c.fine % 100 AS within,
               sum(c.plots)::integer AS plots
        FROM unnest(municipality_ids, fines, counts) AS c(municipality_id, fine, plots)
        GROUP BY 1, 2, 3
    ), cells AS (
        SELECT municipality_id, coarse, sum(plots)::integer AS plots
        FROM changes GROUP BY 1, 2
    ), written AS (
        INSERT INTO score_histogram AS h (run_id, municipality_id, coarse, plots, fine)
        SELECT p_run, cells.municipality_id, cells.coarse, cells.plots,
               array_agg(coalesce(changes.plots, 0) ORDER BY i)
        FROM cells
        CROSS JOIN generate_series(0, 99) AS i
        LEFT JOIN changes ON changes.municipality_id = cells.municipality_id
                         AND changes.coarse = cells.coarse AND changes.within = i
        GROUP BY cells.municipality_id, cells.coarse, cells.plots
        ORDER BY cells.municipality_id, cells.coarse
        ON CONFLICT (run_id, municipality_id, coarse) DO UPDATE SET
            plots = h.plots + excluded.plots,
            fine = ARRAY(SELECT a + b FROM unnest(h.fine, excluded.fine)
                                           WITH ORDINALITY AS u (a, b, i) ORDER BY i)
        RETURNING 1
    )
    SELECT count(*)::integer FROM written;
$function$;
