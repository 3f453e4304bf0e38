"""A run's zone figures and group scores, written in the statement that scores the plots, are
those its stored plot scores give when recomputed from the tables afterwards.

The scoring statement aggregates the plots per zone and weighs their group scores from the
rows as it writes them, instead of reading the run's scores back; this holds both to a
recomputation from ``plot_score`` joined to the plots, for a full and a regional run.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from locations.scoring import group_order, run_scoring
from locations.settings import PROJECT_ROOT
from locations.standard import MEASURES, load_standard

STANDARD = load_standard(PROJECT_ROOT / "data" / "standards" / "location-standard-v1.yaml")

# Each zone's figures computed again from the run's stored plot scores and the plots.
RECOMPUTED = """
WITH per_plot AS (
    SELECT p.zone_id, ps.plot_id, ps.total, ps.passed, p.area_m2
    FROM plot_score ps JOIN plot p ON p.id = ps.plot_id
    WHERE ps.run_id = :r
), zones AS (
    SELECT zone_id, count(*) AS plot_count, min(plot_id) AS some_plot,
           count(*) FILTER (WHERE passed) AS available_plots,
           coalesce(sum(area_m2) FILTER (WHERE passed), 0) AS available_area_m2,
           (array_agg(plot_id ORDER BY total DESC, plot_id) FILTER (WHERE passed))[1]
               AS best_plot_id,
           max(total) FILTER (WHERE passed) AS best_total,
           CAST(sum(total * area_m2) FILTER (WHERE passed)
                / nullif(sum(area_m2) FILTER (WHERE passed), 0) AS real) AS mean_total,
           CAST(percentile_cont(0.5) WITHIN GROUP (ORDER BY total) FILTER (WHERE passed)
                AS real) AS median_total,
           coalesce(array_agg(total ORDER BY total) FILTER (WHERE passed), '{}') AS passed_totals
    FROM per_plot GROUP BY zone_id
)
SELECT z.*, ps.raw, ps.score
FROM zones z JOIN plot_score ps ON ps.run_id = :r AND ps.plot_id = z.some_plot
"""

KEPT = """
SELECT zone_id, plot_count, available_plots, available_area_m2, best_plot_id, best_total,
       mean_total, median_total, passed_totals, criteria
FROM zone_score WHERE run_id = :r
"""


def _check_run(conn, run_id: int, criteria: list[str], profile: str) -> int:
    recomputed = {row.zone_id: row for row in conn.execute(text(RECOMPUTED), {"r": run_id})}
    kept = {row.zone_id: row for row in conn.execute(text(KEPT), {"r": run_id})}
    assert recomputed and kept.keys() == recomputed.keys(), run_id
    weights = STANDARD.criterion_weights(profile)
    zone_level = [(i, c) for i, c in enumerate(criteria)
                  if MEASURES[STANDARD.criteria[c].measure].level == "zone"]
    for zone_id, want in recomputed.items():
        got = kept[zone_id]
        assert (got.plot_count, got.available_plots, got.best_plot_id, got.best_total,
                got.median_total, list(got.passed_totals)) == (
            want.plot_count, want.available_plots, want.best_plot_id, want.best_total,
            want.median_total, list(want.passed_totals)), (run_id, zone_id)
        assert got.available_area_m2 == pytest.approx(want.available_area_m2, rel=1e-12)
        assert got.mean_total == (None if want.mean_total is None
                                  else pytest.approx(want.mean_total, rel=1e-6)), zone_id
        # The zone-level criteria as every plot of the zone stores them.
        assert [item["id"] for item in got.criteria] == [c for _, c in zone_level]
        for item, (index, cid) in zip(got.criteria, zone_level):
            assert item["raw"] == (None if want.raw[index] is None
                                   else pytest.approx(want.raw[index], rel=1e-6)), (zone_id, cid)
            assert item["score"] == pytest.approx(want.score[index], rel=1e-6), (zone_id, cid)
            assert item["weight"] == weights[cid]
    return len(kept)


def test_zone_figures_and_group_scores_equal_a_recomputation(fresh_engine: Engine) -> None:
    full = run_scoring(fresh_engine, "logistics", standard=STANDARD)
    regional = run_scoring(fresh_engine, "logistics", standard=STANDARD, region="SI042")
    with fresh_engine.connect() as conn:
        zones_in_all = conn.execute(text(
            "SELECT count(DISTINCT zone_id) FROM plot WHERE retired_at IS NULL")).scalar_one()
        assert _check_run(conn, full.run_id, STANDARD.criterion_ids, "logistics") == zones_in_all
        assert full.zones == zones_in_all and full.plots == conn.execute(text(
            "SELECT count(*) FROM plot WHERE retired_at IS NULL")).scalar_one()
        assert 0 < _check_run(conn, regional.run_id, STANDARD.criterion_ids, "logistics") \
            < zones_in_all
        shares = STANDARD.criterion_shares("logistics")
        for run in (full, regional):
            scores = dict(conn.execute(text(
                "SELECT plot_id, score FROM plot_score WHERE run_id = :r AND passed"),
                {"r": run.run_id}).all())
            kept = dict(conn.execute(text(
                "SELECT plot_id, groups FROM plot_group_score WHERE run_id = :r"),
                {"r": run.run_id}).all())
            assert scores and kept.keys() == scores.keys()
            for plot_id, score in scores.items():
                expected = [sum(s * shares[c] for s, c in zip(score, STANDARD.criterion_ids)
                                if STANDARD.criteria[c].group == group)
                            for group in group_order(STANDARD)]
                assert kept[plot_id] == pytest.approx(expected, abs=1e-3), plot_id
            assert run.passed == len(scores)
