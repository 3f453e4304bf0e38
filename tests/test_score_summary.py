"""The figures kept for each profile's current scores and each municipality's available area
(0130) give what a computation from the scores and plots gives.

``/regions/compare``, the comparison page shaded by score and the dashboards' score
distributions read the kept figures instead of every current plot score. Here, after a full
run, plot writes of every kind (status, retirement, outline, zone, deletion, a plot inserted
again under a scored id, a new plot),
a regional run over the full one and a run by a new version of the standard, each reader
must give exactly what it gives computing from the scores, at regions of several levels
including one inside another compared together; and the figures the triggers kept must be
the figures a fresh fill writes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text

from locations import current_scores, rankings, regions
from locations.scoring import run_scoring
from locations.standard import DEFAULT_STANDARD, find_standard
from maps import queries

PROFILE = "logistics"
AS_OF = dt.date(2026, 6, 30)
#: Regions compared: a NUTS-2 region with two NUTS-3 regions inside it (nested) and a
#: Slovenian region; a country with a region and a district (with no ranked plot) of another;
#: a country with a region inside it.
COMPARED = (["AT22", "AT221", "AT223", "SI042"], ["SI", "SI032", "AT-D-601"], ["AT", "AT22"])


def _computed(monkeypatch: pytest.MonkeyPatch):
    """Readers made to compute from the scores, as when nothing is kept (the comparisons
    learn which figures are kept with their ranking run, the rest by asking)."""
    monkeypatch.setattr(current_scores, "kept_summary_run", lambda *args, **kwargs: None)
    read_run = rankings._ranking_run
    monkeypatch.setattr(rankings, "_ranking_run",
                        lambda *args, **kwargs: {**read_run(*args, **kwargs), "kept_run": None})


def _readers(conn: Connection) -> dict[str, Any]:
    figures: dict[str, Any] = {"default": rankings.compare_regions(conn, PROFILE)}
    for codes in COMPARED:
        figures[",".join(codes)] = rankings.compare_regions(conn, PROFILE, codes)
        # A dashboard's distribution of one area (several regions, each plot once).
        figures["dashboard " + ",".join(codes)] = rankings.score_distribution(
            conn, PROFILE, list(regions.resolve(conn, codes).ids))
    figures["means"] = {f["properties"]["code"]: f["properties"]["avg_score"]
                        for f in queries.municipality_supply(conn, profile=PROFILE)["features"]}
    return figures


def _kept_rows(conn: Connection) -> tuple[set, set]:
    """The kept figures without the rows every plot has left (a fill writes none of those)."""
    summary = set(conn.execute(text(
        "SELECT run_id, zone_id, municipality_id, ranked_plots, ranked_area_m2, above_60_m2, "
        "scored_plots, score_sum FROM score_summary WHERE ranked_plots <> 0 "
        "OR scored_plots <> 0 OR ranked_area_m2 <> 0 OR score_sum <> 0")).all())
    histogram = conn.execute(text(
        "SELECT run_id, municipality_id, coarse, plots, fine FROM score_histogram "
        "WHERE plots <> 0 OR fine <> array_fill(0, ARRAY[100])")).all()
    return summary, {(r, m, c, p, tuple(f)) for r, m, c, p, f in histogram}


def _assert_kept_equal_computed(engine: Engine, regions_ranked: int = 3) -> None:
    with engine.connect() as conn:
        run = rankings.ranking_run(conn, PROFILE)
        kept = current_scores.kept_summary_run(conn, PROFILE, ranked_runs=run["run_ids"])
        assert kept == run["id"], "the newest run's figures are kept and read"
        assert run["kept_run"] == kept, "the ranking run says so in the same read"
        assert current_scores.kept_summary_run(
            conn, PROFILE, scored_runs=current_scores.current_runs(conn, PROFILE)) == kept
        from_kept = _readers(conn)
        # Ranked plots in the compared regions, nested ones too (else the test would prove little).
        assert sum(r["ranked_plots"] > 0
                   for r in from_kept["AT22,AT221,AT223,SI042"]["regions"]) >= regions_ranked
        assert any(m is not None for m in from_kept["means"].values())
        # The statistics themselves, before rounding, over every region of every level.
        # Every region of every level, and an area of several regions (a dashboard's: each
        # plot once) made of nested ones.
        every = list(conn.execute(text("SELECT id FROM region ORDER BY id")).scalars())
        groups = rankings._region_municipalities(conn, every)
        groups[-1] = sorted({m for region_id in every[:3] + every[-3:] for m in groups[region_id]})
        exact_kept = rankings._kept_by_group(conn, kept, run["run_ids"], groups)
        exact_computed = rankings._computed_by_group(conn, run["run_ids"], groups)
        assert exact_kept.keys() == exact_computed.keys()
        summed = ("above_60_m2", "area_m2")
        for key, computed in exact_computed.items():
            got = exact_kept[key]
            assert {k: v for k, v in got.items() if k not in summed} == \
                {k: v for k, v in computed.items() if k not in summed}, key
            for name in summed:
                assert got[name] == pytest.approx(computed[name], rel=1e-12), (key, name)
        kept_rows = _kept_rows(conn)
    with pytest.MonkeyPatch.context() as patch:
        _computed(patch)
        with engine.connect() as conn:
            from_scores = _readers(conn)
    means_kept, means_computed = from_kept.pop("means"), from_scores.pop("means")
    assert from_kept == from_scores
    assert means_kept.keys() == means_computed.keys()
    for code, mean in means_computed.items():
        assert (means_kept[code] is None) == (mean is None), code
        if mean is not None:
            assert means_kept[code] == pytest.approx(mean, rel=1e-12, abs=1e-12), code
    # Each municipality's available area, kept, is a count of the plots; and each compared
    # region's available area (and so its share above 60) what the plots give.
    with engine.connect() as conn:
        assert set(conn.execute(text(
            "SELECT municipality_id, plots, area_m2 FROM municipality_available "
            "WHERE plots <> 0 OR area_m2 <> 0")).all()) == set(conn.execute(text(
                "SELECT municipality_id, count(*), sum(area_m2::numeric) FROM plot "
                "WHERE status = 'available' AND retired_at IS NULL GROUP BY 1")).all())
        for compared in from_kept.values():
            for region in compared.get("regions", []):
                area = conn.execute(text("""
                    SELECT coalesce(sum(p.area_m2), 0) FROM municipality_region mr
                    JOIN region r ON r.id = mr.region_id
                    JOIN plot p ON p.municipality_id = mr.municipality_id
                     AND p.status = 'available' AND p.retired_at IS NULL
                    WHERE r.code = :code"""), {"code": region["region"]}).scalar_one()
                assert region["available_area_m2"] == round(area, 1), region["region"]
    # What the triggers kept is what a fill from scratch writes, row for row.
    with engine.connect() as conn:
        conn.execute(text("SELECT score_summary_fill(:p)"), {"p": PROFILE})
        assert _kept_rows(conn) == kept_rows
        conn.rollback()


RANKED = ("p.status = 'available' AND EXISTS (SELECT 1 FROM plot_score s "
          "WHERE s.plot_id = p.id AND s.passed)")


def _some_plots(conn: Connection, code: str, count: int, where: str = "true") -> list[int]:
    return list(conn.execute(text(f"""
        SELECT p.id FROM plot p
        JOIN municipality_region mr ON mr.municipality_id = p.municipality_id
        JOIN region r ON r.id = mr.region_id
        WHERE r.code = :code AND p.retired_at IS NULL AND {where}
        ORDER BY p.id LIMIT :n"""), {"code": code, "n": count}).scalars())


def test_kept_figures_equal_the_computation_through_runs_and_writes(fresh_engine: Engine) -> None:
    standard = find_standard(DEFAULT_STANDARD)
    run_scoring(fresh_engine, PROFILE, standard=standard, as_of=AS_OF)
    _assert_kept_equal_computed(fresh_engine)
    with fresh_engine.connect() as conn:
        styria = conn.execute(text("SELECT id FROM region WHERE code = 'AT22'")).scalar_one()
        ranked_before = rankings.score_distribution(conn, PROFILE, [styria])["ranked_plots"]

    # Writes after the run: the scores stay (a run's scores are of the plots as they were),
    # the figures follow the plots as they are, as the computation does.
    with fresh_engine.begin() as conn:
        # Ranked plots (available, their score passed the gates), best first.
        available = _some_plots(conn, "AT22", 6, RANKED)
        conn.execute(text("UPDATE plot SET status = 'reserved' WHERE id = ANY(:ids)"),
                     {"ids": available[:3]})
        conn.execute(text("UPDATE plot SET retired_at = now() WHERE id = :id"),
                     {"id": available[3]})
        # A smaller outline: its area changes (the area above 60 with it).
        conn.execute(text("UPDATE plot SET boundary = ST_Multi(ST_Buffer(boundary, -3)) "
                          "WHERE id = :id"), {"id": available[4]})
        # Another zone in another region: zone and municipality change.
        other_zone = conn.execute(text("""
            SELECT z.id FROM zone z JOIN municipality m ON m.id = z.municipality_id
            JOIN region r ON r.id = m.region_id WHERE r.code LIKE 'SI%' ORDER BY z.id LIMIT 1
        """)).scalar_one()
        moved = _some_plots(conn, "SI042", 1, RANKED)[0]
        conn.execute(text("UPDATE plot SET zone_id = :z, municipality_id = "
                          "(SELECT municipality_id FROM zone WHERE id = :z) WHERE id = :id"),
                     {"z": other_zone, "id": moved})
        # A plot deleted, and one deleted then inserted again under its scored id.
        gone, again = _some_plots(conn, "SI032", 2)
        copy = conn.execute(text("SELECT * FROM plot WHERE id = :id"), {"id": again}).mappings().one()
        for plot_id in (gone, again):
            conn.execute(text("DELETE FROM plot_event WHERE plot_id = :id"), {"id": plot_id})
            conn.execute(text("DELETE FROM plot WHERE id = :id"), {"id": plot_id})
        # Generated columns (the 3857 outline, the kept GeoJSON) are the database's to write.
        generated = set(conn.execute(text(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'plot' AND is_generated = 'ALWAYS'")).scalars())
        columns = [c for c in copy if c not in generated]
        conn.execute(text(f"INSERT INTO plot ({', '.join(columns)}) "
                          f"VALUES ({', '.join(':' + c for c in columns)})"),
                     dict(copy))
        # And a new plot, which no run has scored.
        conn.execute(text("""
            INSERT INTO plot (zone_id, country, cadastral_ref, boundary, area_m2, status)
            SELECT zone_id, country, cadastral_ref || '-new', ST_Translate(boundary, 1, 1),
                   area_m2, 'available' FROM plot WHERE id = :id"""), {"id": available[5]})
    _assert_kept_equal_computed(fresh_engine)
    # Three ranked plots of Styria reserved and one retired since the run: they no longer
    # count (their scores stay until the next run).
    with fresh_engine.connect() as conn:
        assert rankings.score_distribution(conn, PROFILE, [styria])["ranked_plots"] == \
            ranked_before - 4

    # A plot given back: available again, it ranks again.
    with fresh_engine.begin() as conn:
        conn.execute(text("UPDATE plot SET status = 'available' WHERE id = ANY(:ids)"),
                     {"ids": available[:2]})
        conn.execute(text("UPDATE plot SET retired_at = NULL WHERE id = :id"),
                     {"id": available[3]})
    _assert_kept_equal_computed(fresh_engine)

    # A regional run over the full one: two runs hold the current scores.
    run_scoring(fresh_engine, PROFILE, standard=standard, region="AT221", as_of=AS_OF)
    with fresh_engine.connect() as conn:
        assert len(rankings.ranking_run(conn, PROFILE)["run_ids"]) == 2
    _assert_kept_equal_computed(fresh_engine)
    with fresh_engine.begin() as conn:
        conn.execute(text("UPDATE plot SET status = 'sold' WHERE id = ANY(:ids)"),
                     {"ids": _some_plots(conn, "AT22", 40, "p.status = 'available'")[::3]})
    _assert_kept_equal_computed(fresh_engine)

    # A new version of the standard over one region: rankings read its run alone, the
    # pages every newest run of each scope.
    newer = standard.model_copy(update={"version": f"{standard.version}.1"}, deep=True)
    newer.profiles[PROFILE].weights.update(accessibility=5, sustainability=35)
    run_scoring(fresh_engine, PROFILE, standard=newer, region="SI042", as_of=AS_OF)
    with fresh_engine.connect() as conn:
        run = rankings.ranking_run(conn, PROFILE)
        assert run["run_ids"] != current_scores.current_runs(conn, PROFILE)
    _assert_kept_equal_computed(fresh_engine, regions_ranked=1)


def test_figures_are_read_again_from_the_scores_when_not_of_the_current_runs(
        fresh_engine: Engine) -> None:
    """Kept figures of other runs than a reader's are not used; the answer stays the same."""
    standard = find_standard(DEFAULT_STANDARD)
    run_scoring(fresh_engine, PROFILE, standard=standard, as_of=AS_OF)
    with fresh_engine.connect() as conn:
        before = rankings.compare_regions(conn, PROFILE, ["AT22", "AT221"])
    with fresh_engine.begin() as conn:
        # As if the figures were of an older set of runs.
        conn.execute(text("UPDATE score_summary_run SET ranked_runs = ranked_runs || 0::bigint, "
                          "scored_runs = scored_runs || 0::bigint"))
        run = rankings.ranking_run(conn, PROFILE)
        assert current_scores.kept_summary_run(conn, PROFILE, ranked_runs=run["run_ids"]) is None
        assert run["kept_run"] is None
        assert rankings.compare_regions(conn, PROFILE, ["AT22", "AT221"]) == before


def test_pages_and_api_answer_from_the_kept_figures(fresh_client, fresh_engine: Engine) -> None:
    run_scoring(fresh_engine, PROFILE, standard=find_standard(DEFAULT_STANDARD), as_of=AS_OF)
    compared = fresh_client.get("/regions/compare", params=[
        ("profile", PROFILE), ("region", "AT22"), ("region", "AT221")])
    assert compared.status_code == 200
    styria, graz = compared.json()["regions"]
    assert styria["ranked_plots"] >= graz["ranked_plots"] > 0
    assert sum(b["plots"] for b in styria["distribution"]) == styria["ranked_plots"]
    page = fresh_client.get("/maps/compare", params={"measure": "score", "profile": PROFILE,
                                                     "lang": "en"})
    assert page.status_code == 200
    with fresh_engine.connect() as conn:
        means = [f["properties"]["avg_score"]
                 for f in queries.municipality_supply(conn, profile=PROFILE)["features"]]
    assert any(m is not None for m in means)
