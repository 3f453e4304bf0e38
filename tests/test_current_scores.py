"""Current scores read through indexes give what the view ``current_plot_score`` defines.

Searches by score, rankings, exports, tiles and pages no longer read the view (it joins
every score of the current runs before answering): they list the current runs and walk
``plot_score`` by key or best first. After runs, re-runs, a regional run over a full one,
a retired plot, a deleted plot, an edited plot (its score stays until the next run, as
before) and a run by a new version of the standard, every reader must still give exactly
what the view and the former queries give.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Connection, Engine, text

from locations import current_scores, search
from locations import rankings as ranking_module
from locations.rankings import rankings
from locations.scoring import run_scoring
from locations.search import PlotFilter, search_plots
from locations.standard import DEFAULT_STANDARD, find_standard
from maps import queries

PROFILE = "logistics"
AS_OF = dt.date(2026, 6, 30)


def _view(conn: Connection) -> dict[int, tuple[float, int]]:
    return {plot_id: (total, run_id) for plot_id, total, run_id in conn.execute(text(
        "SELECT plot_id, total, run_id FROM current_plot_score WHERE profile = :p"),
        {"p": PROFILE})}


def _search_ids(conn: Connection, **filters) -> list[int]:
    """Every plot the search finds by score, page after page."""
    ids, cursor = [], None
    while True:
        page = search_plots(conn, PlotFilter(profile=PROFILE, limit=97, cursor=cursor, **filters))
        ids += [feature["id"] for feature in page["features"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids


def _view_order(conn: Connection, descending: bool, where: str = "true",
                params: dict | None = None) -> list[int]:
    """The search's order as the former query over the view gave it."""
    far, direction = ("-Infinity", "DESC") if descending else ("Infinity", "ASC")
    return list(conn.execute(text(f"""
        SELECT p.id FROM plot p
        LEFT JOIN current_plot_score cs ON cs.plot_id = p.id AND cs.profile = :p
        WHERE p.retired_at IS NULL AND {where}
        ORDER BY coalesce(cs.total, '{far}'::real) {direction}, p.id {direction}
    """), {"p": PROFILE, **(params or {})}).scalars())


def _former_rankings(conn: Connection, region_ids: list[int] | None, limit: int) -> list[dict]:
    """Rankings as the former query gave them (every current score, then the top)."""
    run = ranking_module.ranking_run(conn, PROFILE)
    return [dict(row) for row in conn.execute(text(f"""
        SELECT p.id, round(CAST(ps.total AS numeric), 2)::float AS score
        {ranking_module._ranked(run["run_ids"])}
        ORDER BY 2 DESC, p.id LIMIT :limit
    """), {"run_ids": run["run_ids"], "region_ids": region_ids, "limit": limit}).mappings()]


def _region(conn: Connection) -> tuple[str, list[int]]:
    """The NUTS-3 region holding most plots: its code and its id (as rankings bind it)."""
    code, region_id = conn.execute(text("""
        SELECT r.code, r.id FROM plot p JOIN zone z ON z.id = p.zone_id
        JOIN municipality m ON m.id = z.municipality_id JOIN region r ON r.id = m.region_id
        GROUP BY r.code, r.id ORDER BY count(*) DESC, r.code LIMIT 1""")).one()
    return code, [region_id]


def _assert_same_as_the_view(engine: Engine) -> None:
    with engine.connect() as conn:
        view = _view(conn)
        assert current_scores.current_scores(conn, PROFILE) == view
        some = sorted(view)[::7] + [-1]
        assert current_scores.current_scores(conn, PROFILE, some) == {
            plot_id: view[plot_id] for plot_id in some if plot_id in view}
        # The search by score, both ways, alone and with filters and a region.
        assert _search_ids(conn, sort="-score") == _view_order(conn, True)
        assert _search_ids(conn, sort="score") == _view_order(conn, False)
        code, region_ids = _region(conn)
        in_region = """p.zone_id IN (SELECT z.id FROM zone z JOIN zone_municipality zm
            ON zm.zone_id = z.id JOIN municipality_region mr
            ON mr.municipality_id = zm.municipality_id WHERE mr.region_id = ANY(:r))"""
        filtered = _view_order(
            conn, True, f"{in_region} AND p.status = 'available' AND p.area_m2 >= 5000",
            {"r": region_ids})
        assert _search_ids(conn, sort="-score", region=[code], status=["available"],
                           min_area_m2=5000) == filtered
        # A walk down the best scores too short to fill a page leaves it to the full query.
        for walk in (3, 150):
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(search, "SCORE_WALK", walk)
                assert _search_ids(conn, sort="-score") == _view_order(conn, True)
                assert _search_ids(conn, sort="-score", region=[code], status=["available"],
                                   min_area_m2=5000) == filtered
        # The pages' scores (zone lists, search page markers) and a municipality's mean.
        rounded = {plot_id: round(total, 1) for plot_id, (total, _) in view.items()}
        plot_ids = list(conn.execute(text("SELECT id FROM plot ORDER BY id")).scalars())
        page_scores = queries._plot_scores(conn, plot_ids, PROFILE)
        assert page_scores.keys() == {i for i in plot_ids if i in view}
        assert all(abs(page_scores[i] - rounded[i]) < 0.051 for i in page_scores)
        zone_id = conn.execute(text("SELECT zone_id FROM plot WHERE retired_at IS NULL "
                                    "GROUP BY zone_id ORDER BY count(*) DESC LIMIT 1")).scalar_one()
        zone_plots = queries.zone_plots(conn, zone_id, PROFILE)
        assert zone_plots["id"] and all(
            (score is None) == (plot_id not in view)
            for plot_id, score in zip(zone_plots["id"], zone_plots["score"], strict=True))
        assert all(abs(score - rounded[plot_id]) < 0.051 for plot_id, score
                   in zip(zone_plots["id"], zone_plots["score"], strict=True) if score is not None)
        means = {f["properties"]["code"]: f["properties"]["avg_score"]
                 for f in queries.municipality_supply(conn, profile=PROFILE)["features"]}
        former = dict(conn.execute(text("""
            SELECT m.code, avg(s.total) FROM municipality m
            JOIN zone z ON z.municipality_id = m.id
            JOIN plot p ON p.zone_id = z.id AND p.retired_at IS NULL
            JOIN current_plot_score s ON s.plot_id = p.id AND s.profile = :p
            GROUP BY m.code"""), {"p": PROFILE}).all())
        # (Summed in another order, a mean may differ in its last bits.)
        assert {code: round(mean, 6) for code, mean in means.items() if mean is not None} == {
            code: round(mean, 6) for code, mean in former.items() if code in means}
        # Rankings, of all regions and of one, against the former query.
        for regions, limit in ((None, 50), (None, 7), (region_ids, 50), (region_ids, 3)):
            got = rankings(conn, PROFILE, region=code if regions else None, limit=limit)
            assert [{"id": p["id"], "score": p["score"]} for p in got["plots"]] == \
                _former_rankings(conn, regions, limit)


def test_readers_give_what_the_view_gives_through_runs_edits_and_a_new_standard(
        fresh_engine: Engine) -> None:
    standard = find_standard(DEFAULT_STANDARD)
    with fresh_engine.connect() as conn:
        code, _ = _region(conn)
    full = run_scoring(fresh_engine, PROFILE, standard=standard, as_of=AS_OF)
    _assert_same_as_the_view(fresh_engine)

    # A re-run: every plot's current score moves to the new run.
    again = run_scoring(fresh_engine, PROFILE, standard=standard, as_of=AS_OF)
    with fresh_engine.connect() as conn:
        assert {run for _, run in _view(conn).values()} == {again.run_id} != {full.run_id}
    _assert_same_as_the_view(fresh_engine)

    # A plot changes after the run (outline and status): its score stays until the next run.
    with fresh_engine.begin() as conn:
        edited = conn.execute(text(
            "SELECT p.id FROM plot p JOIN zone z ON z.id = p.zone_id "
            "JOIN municipality m ON m.id = z.municipality_id JOIN region r ON r.id = m.region_id "
            "WHERE p.status = 'available' AND r.code = :c ORDER BY p.id LIMIT 1"),
            {"c": code}).scalar_one()
        conn.execute(text("UPDATE plot SET boundary = ST_Multi(ST_Buffer(boundary, -2)), "
                          "status = 'reserved' WHERE id = :id"), {"id": edited})
    _assert_same_as_the_view(fresh_engine)

    # A regional run over the full one: that region's plots take its scores; retired and
    # deleted plots keep (or lose) theirs exactly as the view says.
    with fresh_engine.begin() as conn:
        retired, deleted = conn.execute(text(
            "SELECT p.id FROM plot p JOIN zone z ON z.id = p.zone_id "
            "JOIN municipality m ON m.id = z.municipality_id JOIN region r ON r.id = m.region_id "
            "WHERE r.code = :c AND p.id <> :e ORDER BY p.id DESC LIMIT 2"),
            {"c": code, "e": edited}).scalars().all()
        conn.execute(text("UPDATE plot SET retired_at = now() WHERE id = :id"), {"id": retired})
        conn.execute(text("DELETE FROM plot_event WHERE plot_id = :id"), {"id": deleted})
        conn.execute(text("DELETE FROM plot WHERE id = :id"), {"id": deleted})
    regional = run_scoring(fresh_engine, PROFILE, standard=standard, region=code, as_of=AS_OF)
    with fresh_engine.connect() as conn:
        view = _view(conn)
    assert view[edited][1] == regional.run_id and view[retired][1] == again.run_id
    assert {run for _, run in view.values()} == {regional.run_id, again.run_id}
    _assert_same_as_the_view(fresh_engine)

    # A new version of the standard, run over one region only: the view mixes versions,
    # rankings speak for the newest standard's runs alone.
    newer = standard.model_copy(update={"version": f"{standard.version}.1"}, deep=True)
    newer.profiles[PROFILE].weights.update(accessibility=5, sustainability=35)
    versioned = run_scoring(fresh_engine, PROFILE, standard=newer, region=code, as_of=AS_OF)
    with fresh_engine.connect() as conn:
        assert ranking_module.ranking_run(conn, PROFILE)["run_ids"] == [versioned.run_id]
        assert {run for _, run in _view(conn).values()} == {versioned.run_id, again.run_id}
    _assert_same_as_the_view(fresh_engine)

    # And a full run of the new version over everything.
    run_scoring(fresh_engine, PROFILE, standard=newer, as_of=AS_OF)
    _assert_same_as_the_view(fresh_engine)
