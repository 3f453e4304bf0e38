-- Each plot's score from the latest finished run of each profile that scored it. Only the
-- newest run per profile and scope (all regions, or one) can hold a current score, so the
-- view reads a handful of runs by key instead of sorting every score ever stored; a plot
-- in a newer regional run takes that run's score.
CREATE OR REPLACE VIEW current_plot_score AS
 WITH latest AS (
         SELECT DISTINCT ON (score_run.profile, score_run.region_code) score_run.id,
            score_run.profile,
            score_run.finished_at
           FROM score_run
          WHERE score_run.status = 'finished'::text
          ORDER BY score_run.profile, score_run.region_code, score_run.finished_at DESC, score_run.id DESC
        )
 SELECT ps.plot_id,
    l.profile,
    ps.total,
    ps.run_id
   FROM latest l
     JOIN plot_score ps ON ps.run_id = l.id
  WHERE NOT (EXISTS ( SELECT 1
           FROM latest newer
             JOIN plot_score newer_score ON newer_score.run_id = newer.id AND newer_score.plot_id = ps.plot_id
          WHERE newer.profile = l.profile AND ((ROW(newer.finished_at, newer.id) > ROW(l.finished_at, l.id)))));
