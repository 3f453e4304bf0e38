-- The stored arrays as a readable breakdown, for SQL users and reports.
CREATE OR REPLACE VIEW plot_score_detail AS
 SELECT ps.run_id,
    ps.plot_id,
    r.profile,
    ps.total,
    ps.completeness,
    ps.passed,
    ps.gates_failed,
    ( SELECT jsonb_agg(jsonb_build_object('id', c.id, 'raw', ps.raw[c.n], 'score', ps.score[c.n], 'weight', r.weights[c.n], 'contribution', ps.score[c.n] * r.weights[c.n] / 100::double precision) ORDER BY c.n) AS jsonb_agg
           FROM unnest(r.criteria) WITH ORDINALITY c(id, n)) AS breakdown,
    ARRAY( SELECT c.id
           FROM unnest(r.criteria) WITH ORDINALITY c(id, n)
          WHERE ps.raw[c.n] IS NULL
          ORDER BY c.n) AS missing
   FROM plot_score ps
     JOIN score_run r ON r.id = ps.run_id;
