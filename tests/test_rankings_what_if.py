"""Rankings with group weights of one's own (what-ifs) against a full recomputation.

A what-if ranks from the group scores each run keeps (``plot_group_score``) and recomputes
only the plots that can be in its top: these tests hold the kept group scores to the
criterion scores they come from, and every what-if's plots, order and totals to the same
ranking computed for every ranked plot from its criterion scores, through regional runs,
plots sold after the run and many ties; and the what-ifs read by zone (the zones whose
kept highest group scores can reach the top, 0139) to the same recomputation, with plots
moved to another zone after the run and a region whose plots were all sold.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from locations import rankings as ranking_module
from locations.rankings import rankings
from locations.scoring import group_order, run_scoring
from locations.standard import find_standard, DEFAULT_STANDARD

STANDARD = find_standard(DEFAULT_STANDARD)

WEIGHTS = [
    "accessibility:50,infrastructure:30,market:20",
    "sustainability:1",  # brownfield or not: ties in the hundreds
    "management:1",
    "site:3,readiness:1",
    "market:1,accessibility:1,management:0",
    "infrastructure:2,management:1,sustainability:5,site:1",
]


def _recomputed(conn, profile: str, weights: str, region: str | None, limit: int) -> list[tuple]:
    """The what-if as its definition reads: every current score of a plot that passes the
    gates and is still available, in the region, totalled anew from its criterion scores
    (summed as unnest sums them), to two decimals, best first, ties by id."""
    group_weights = dict((g, float(w)) for g, w in (part.split(":") for part in weights.split(",")))
    criteria, document_run = conn.execute(text(
        "SELECT criteria, id FROM score_run WHERE profile = :p AND status = 'finished' "
        "ORDER BY finished_at DESC, id DESC LIMIT 1"), {"p": profile}).one()
    per_criterion = STANDARD.criterion_weights(profile, group_weights)
    region_ids = None if region is None else list(conn.execute(text(
        "SELECT id FROM region WHERE code = :c"), {"c": region}).scalars())
    return [tuple(row) for row in conn.execute(text("""
        SELECT ps.plot_id,
               round(CAST((SELECT sum(s * w) FROM unnest(ps.score, CAST(:weights AS float8[]))
                           AS u (s, w)) / 100 AS numeric), 2)::float AS score,
               round(CAST(ps.total AS numeric), 2)::float AS stored
        FROM current_plot_score c
        JOIN plot_score ps ON ps.run_id = c.run_id AND ps.plot_id = c.plot_id
        JOIN plot p ON p.id = ps.plot_id
        WHERE c.profile = :profile AND ps.passed
          AND p.status = 'available' AND p.retired_at IS NULL
          AND (CAST(:region_ids AS int[]) IS NULL OR EXISTS (
              SELECT 1 FROM municipality_region mr WHERE mr.municipality_id = p.municipality_id
                AND mr.region_id = ANY (CAST(:region_ids AS int[]))))
        ORDER BY 2 DESC, 1
        LIMIT :limit
    """), {"weights": [per_criterion[c] for c in criteria], "profile": profile,
           "region_ids": region_ids, "limit": limit})]


def _ranked(conn, profile: str, weights: str, region: str | None, limit: int) -> list[tuple]:
    answer = rankings(conn, profile, region=region, limit=limit, weights=weights)
    return [(p["id"], p["score"], p["stored_score"]) for p in answer["plots"]]


def _check_every_what_if(engine: Engine, profile: str = "logistics",
                         regions: tuple = (None, "SI042", "AT22", "AT221")) -> int:
    """Compare each weighting, region and limit; the number of plots compared."""
    compared = 0
    with engine.connect() as conn:
        for weights in WEIGHTS:
            for region in regions:
                everything = _recomputed(conn, profile, weights, region, 100_000)
                # Limits that cut through ties, one, and more than there are.
                for limit in sorted({1, 2, 7, 50, max(1, len(everything) // 2),
                                     len(everything) + 5}):
                    expected = everything[:limit]
                    assert _ranked(conn, profile, weights, region, limit) == expected, (
                        weights, region, limit)
                    compared += len(expected)
    return compared


def test_kept_group_scores_equal_their_criterion_scores(scored_engine: Engine) -> None:
    with scored_engine.connect() as conn:
        runs = conn.execute(text(
            "SELECT id, profile, criteria FROM score_run WHERE status = 'finished'")).all()
        assert runs
        order = group_order(STANDARD)
        for run_id, profile, criteria in runs:
            shares = STANDARD.criterion_shares(profile)
            scores = dict(conn.execute(text(
                "SELECT plot_id, score FROM plot_score WHERE run_id = :r AND passed"),
                {"r": run_id}).all())
            kept = dict(conn.execute(text(
                "SELECT plot_id, groups FROM plot_group_score WHERE run_id = :r"),
                {"r": run_id}).all())
            assert scores and kept.keys() == scores.keys()  # the plots passing the gates
            for plot_id, score in scores.items():
                expected = [sum(s * shares[c] for s, c in zip(score, criteria)
                                if STANDARD.criteria[c].group == group) for group in order]
                assert kept[plot_id] == pytest.approx(expected, abs=1e-3), (run_id, plot_id)


def test_what_ifs_equal_a_full_recomputation(scored_engine: Engine) -> None:
    assert _check_every_what_if(scored_engine) > 1000


def test_what_ifs_follow_regional_runs_sales_and_deleted_runs(fresh_engine: Engine) -> None:
    full = run_scoring(fresh_engine, "logistics", standard=STANDARD)
    regional = run_scoring(fresh_engine, "logistics", standard=STANDARD, region="SI042")
    # A regional run after the full one: its plots take the regional scores.
    _check_every_what_if(fresh_engine)
    with fresh_engine.begin() as conn:
        # Plots sold since the run leave the rankings at once.
        best = _ranked(conn, "logistics", WEIGHTS[0], None, 3)
        conn.execute(text("UPDATE plot SET status = 'sold' WHERE id = ANY (:ids)"),
                     {"ids": [plot_id for plot_id, _, _ in best]})
    _check_every_what_if(fresh_engine)
    with fresh_engine.connect() as conn:
        assert not {i for i, _, _ in best} & {i for i, _, _ in _ranked(
            conn, "logistics", WEIGHTS[0], None, 100_000)}
    with fresh_engine.begin() as conn:
        conn.execute(text("DELETE FROM score_run WHERE id = :r"), {"r": regional.run_id})
        tables = set(conn.execute(text(
            "SELECT relname FROM pg_class WHERE relname LIKE 'plot_score_run_%'")).scalars())
    assert f"plot_score_run_{regional.run_id}_groups" not in tables
    assert f"plot_score_run_{full.run_id}_groups" in tables
    _check_every_what_if(fresh_engine)


@pytest.fixture
def by_zone(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Every what-if that finds a floor read by zone, however many zones reach it; the
    list says, per what-if, whether it was read by zone."""
    monkeypatch.setattr(ranking_module, "_ZONE_READ_MAX_SHARE", 1.0)
    read = ranking_module._what_if_by_zone
    used: list[bool] = []

    def counted(*args, **kwargs):
        rows = read(*args, **kwargs)
        used.append(rows is not None)
        return rows

    monkeypatch.setattr(ranking_module, "_what_if_by_zone", counted)
    return used


def test_what_ifs_read_by_zone_equal_a_full_recomputation(scored_engine: Engine,
                                                          by_zone: list[bool]) -> None:
    assert _check_every_what_if(scored_engine) > 1000
    # Most what-ifs were read by zone (the others: fewer ranked plots than the page).
    assert sum(by_zone) > len(by_zone) / 2


def test_zone_bounds_are_of_the_zones_the_plots_were_scored_in(fresh_engine: Engine,
                                                               by_zone: list[bool]) -> None:
    run_scoring(fresh_engine, "logistics", standard=STANDARD)
    with fresh_engine.begin() as conn:
        kept = conn.execute(text("SELECT sum(plots) FROM zone_group_max")).scalar_one()
        assert kept == conn.execute(text("SELECT count(*) FROM plot_group_score")).scalar_one()
        # The best plots of a what-if moved, after the run, to the zone whose plots score
        # lowest under it: the bound of the zone they were scored in still reads them.
        best = [plot_id for plot_id, _, _ in _ranked(conn, "logistics", WEIGHTS[0], None, 5)]
        lowest_zone = conn.execute(text("""
            SELECT z.zone_id FROM zone_group_max z
            ORDER BY z.groups[1] + z.groups[2] + z.groups[4], z.zone_id LIMIT 1""")).scalar_one()
        conn.execute(text("UPDATE plot SET zone_id = :z WHERE id = ANY (:ids)"),
                     {"z": lowest_zone, "ids": best})
    assert _check_every_what_if(fresh_engine) > 1000
    with fresh_engine.connect() as conn:
        assert [p for p, _, _ in _ranked(conn, "logistics", WEIGHTS[0], None, 5)] == best
    assert sum(by_zone) > len(by_zone) / 2


def test_what_ifs_of_a_region_sold_out(fresh_engine: Engine, by_zone: list[bool]) -> None:
    run_scoring(fresh_engine, "logistics", standard=STANDARD)
    with fresh_engine.begin() as conn:
        conn.execute(text("""
            UPDATE plot SET status = 'sold' WHERE municipality_id IN (
                SELECT mr.municipality_id FROM municipality_region mr
                JOIN region r ON r.id = mr.region_id WHERE r.code = 'AT221')"""))
        for weights in WEIGHTS:
            assert _ranked(conn, "logistics", weights, "AT221", 50) == []
    _check_every_what_if(fresh_engine, regions=(None, "AT22", "AT221"))
