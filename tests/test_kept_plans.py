"""Statements whose plans the database keeps (locations/kept_plans.py): a search page's
features made by ``plot_search_features`` and a fresh plots tile made by ``plot_tile_fresh``
answer what the statements written in Python answer, and their kept (generic) plans find
plots by key and by the spatial index whatever the page or tile.

The reference is the statement each function replaced, still written by locations/search.py
(``USE_KEPT_PLANS`` off) and kept as ``tiles._PLOTS_FRESH_SQL``: a change to either side
that the other does not follow fails here.
"""

from __future__ import annotations

import json

import mapbox_vector_tile
import pytest
from sqlalchemy import Engine, text

from locations import kept_plans, ogc, search, tiles
from locations.db import NO_PARALLEL_WORKERS, fetch_rows
from locations.search import PlotFilter

FUNCTIONS = {"plot_search_features": "bigint[], text[]",
             "plot_tile_fresh": "integer, integer, integer"}


def _pages(conn, filters: dict, extra=None, walk: int = 3) -> list[tuple]:
    """Up to ``walk`` pages of a search, following its cursors: each page's features,
    next cursor and count."""
    pages, cursor = [], None
    for _ in range(walk):
        page = search.search_plot_page(conn, PlotFilter(**filters, cursor=cursor), extra=extra)
        pages.append((page.features, page.next_cursor, page.number_matched))
        cursor = page.next_cursor
        if cursor is None:
            break
    return pages


def _both_ways(monkeypatch, conn, filters: dict, extra=None) -> tuple[list, list]:
    kept = _pages(conn, filters, extra)
    monkeypatch.setattr(search, "USE_KEPT_PLANS", False)
    written = _pages(conn, filters, extra)
    monkeypatch.setattr(search, "USE_KEPT_PLANS", True)
    return kept, written


def _zone_sizes(conn) -> list[int]:
    """Zones from the most plots to the fewest."""
    return list(conn.execute(text(
        "SELECT zone_id FROM plot WHERE retired_at IS NULL GROUP BY zone_id "
        "ORDER BY count(*) DESC, zone_id")).scalars())


def test_functions_keep_generic_plans_and_read_with_the_callers_snapshot(engine: Engine) -> None:
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT proname, provolatile, proconfig FROM pg_proc "
            "WHERE proname = ANY (:names)"), {"names": list(FUNCTIONS)}).all()
    assert {name for name, _, _ in rows} == set(FUNCTIONS)
    for name, volatility, config in rows:
        # STABLE: the function's statements see the calling statement's snapshot, so a
        # page's features are of the plots its own query chose.
        assert volatility == "s", name
        assert config == ["plan_cache_mode=force_generic_plan"], name


@pytest.mark.parametrize("filters", [
    {},
    {"limit": 1},
    {"limit": 7, "sort": "-price"},
    {"limit": 20, "sort": "area", "status": ["available"]},
    {"limit": 15, "sort": "-last_verified", "min_area_m2": 5000},
    {"limit": 25, "sort": "last_verified", "use": ["logistics"]},
    {"limit": 30, "count": True, "status": ["available", "reserved"]},
    {"limit": 1000},
    {"limit": 5, "status": ["sold"], "max_price_eur_m2": 0.01},  # nothing matches
], ids=repr)
def test_search_pages_through_the_kept_plan_equal_the_written_statement(
        engine: Engine, monkeypatch, filters: dict) -> None:
    with engine.connect() as conn:
        kept, written = _both_ways(monkeypatch, conn, filters)
    assert kept == written
    assert any(features for features, _, _ in kept) == ("max_price_eur_m2" not in filters)


def test_one_zones_pages_through_the_kept_plan_equal_the_written_statement(
        engine: Engine, monkeypatch) -> None:
    """The largest and the smallest zone, by the search's zone filter and by a CQL2 filter
    of OGC API items (the benchmark's "one zone's plots"), page after page."""
    with engine.connect() as conn:
        zones = _zone_sizes(conn)
        for zone_id in (zones[0], zones[-1]):
            kept, written = _both_ways(monkeypatch, conn, {"zone": [zone_id], "limit": 10})
            assert kept == written and kept[0][0]
            query = ogc.items_request("plots", [
                ("limit", "10"), ("filter-lang", "cql2-json"),
                ("filter", json.dumps({"op": "=", "args": [{"property": "zone_id"}, zone_id]}))])
            kept, written = _both_ways(monkeypatch, conn, {"limit": 10}, query.extra)
            assert kept == written and kept[0][0]
            ids = [json.loads(f)["id"] for features, _, _ in kept for f in features]
            assert ids == sorted(ids) and len(ids) == len(set(ids))


def test_pages_by_score_through_the_kept_plan_equal_the_written_statement(
        scored_engine: Engine, monkeypatch) -> None:
    with scored_engine.connect() as conn:
        for filters in ({"sort": "-score", "profile": "logistics", "limit": 20},
                        {"sort": "score", "profile": "logistics", "limit": 20,
                         "status": ["available"]}):
            kept, written = _both_ways(monkeypatch, conn, filters)
            assert kept == written and kept[0][0]


def _as_at_a_million_plots(conn) -> None:
    """Have the planner take the plot table for a million rows (in the caller's transaction,
    rolled back after): the demo's few hundred plots are read whole more cheaply than by
    key, which a plan kept for every page at a million plots must not do."""
    conn.execute(text("UPDATE pg_class SET reltuples = 1000000, "
                      "relpages = pg_relation_size(oid) / current_setting('block_size')::int "
                      "WHERE oid = 'plot'::regclass"))


def test_features_of_any_page_are_read_by_key(engine: Engine) -> None:
    """The kept plan of the features, for one plot and for the most a page holds, with plots
    as many as at a million: each plot found by its key, once."""
    with engine.connect() as conn:
        _as_at_a_million_plots(conn)
        ids = list(conn.execute(text(
            f"SELECT id FROM plot ORDER BY id LIMIT {search.MAX_LIMIT}")).scalars())
        for page in (ids[:1], ids):
            plans = kept_plans.inner_plans(
                conn, "SELECT * FROM plot_search_features(:ids, :keys)",
                {"ids": page, "keys": [str(i) for i in page]})
            inner = next(p for p in plans if "unnest(ids, sort_keys)" in p["Query Text"])
            nodes = list(kept_plans.plan_nodes(inner["Plan"]))
            plot_reads = [n for n in nodes if n.get("Relation Name") == "plot"]
            assert [(n["Node Type"], n.get("Index Name")) for n in plot_reads] == [
                ("Index Scan", "plot_pkey")], json.dumps(inner["Plan"], indent=1)[:3000]
            assert plot_reads[0]["Actual Loops"] * plot_reads[0]["Actual Rows"] == len(page), \
                plot_reads
        conn.rollback()


def _tile_decoded(content: bytes | None) -> dict:
    """A tile's layers with their features in id order (the order plots are read in is
    the plan's: the same tile may list them in another order)."""
    layers = mapbox_vector_tile.decode(bytes(content or b""))
    for layer in layers.values():
        layer["features"].sort(key=lambda f: f["id"])
    return layers


def _tiles_under_plots(conn, zoom: int, count: int) -> list[tuple[int, int, int]]:
    half = 20037508.342789244
    size = 2 * half / (1 << zoom)
    points = conn.execute(text(
        "SELECT ST_X(c), ST_Y(c) FROM plot p, ST_Centroid(p.boundary_3857) c "
        "WHERE p.retired_at IS NULL ORDER BY p.id LIMIT :n"), {"n": count}).all()
    return sorted({(zoom, int((x + half) // size), int((half - y) // size)) for x, y in points})


def test_fresh_tiles_through_the_kept_plan_equal_the_written_statement(engine: Engine) -> None:
    with engine.connect() as conn:
        addresses = [a for zoom in (16, 17, 19, 22) for a in _tiles_under_plots(conn, zoom, 40)]
        addresses += [(16, 0, 0), (22, 1, 2)]  # nothing there
        drawn = 0
        for z, x, y in addresses:
            params = {"z": z, "x": x, "y": y}
            ((written,),) = fetch_rows(conn, NO_PARALLEL_WORKERS + tiles._PLOTS_FRESH_SQL, params)
            ((kept,),) = fetch_rows(conn, "SELECT plot_tile_fresh(:z, :x, :y)", params)
            assert _tile_decoded(kept) == _tile_decoded(written), (z, x, y)
            assert len(bytes(kept or b"")) == len(bytes(written or b""))
            served = tiles.plot_tile(conn, z, x, y).content
            if written:
                assert _tile_decoded(served) == _tile_decoded(written), (z, x, y)
            else:
                assert served == tiles.empty_tile(("plots",))
            drawn += len(_tile_decoded(kept).get("plots", {}).get("features", []))
    assert drawn > 100


def test_a_fresh_tiles_plots_are_found_by_the_spatial_index(engine: Engine) -> None:
    """The kept plan for the densest z16 tile and for an empty one: the GiST index, and the
    tile's envelopes worked out once rather than for every plot."""
    with engine.connect() as conn:
        _as_at_a_million_plots(conn)
        densest = max(_tiles_under_plots(conn, 16, 2000),
                      key=lambda a: len(_tile_decoded(fetch_rows(
                          conn, "SELECT plot_tile_fresh(:z, :x, :y)",
                          dict(zip("zxy", a, strict=True)))[0][0]).get("plots", {})
                          .get("features", [])))
        for z, x, y in (densest, (16, 0, 0)):
            plans = kept_plans.inner_plans(conn, "SELECT plot_tile_fresh(:z, :x, :y)",
                                           {"z": z, "x": x, "y": y})
            inner = next(p for p in plans if "ST_AsMVT" in p["Query Text"])
            nodes = list(kept_plans.plan_nodes(inner["Plan"]))
            assert not [n for n in nodes if n.get("Relation Name") == "plot"
                        and n["Node Type"] == "Seq Scan"], inner
            assert any(n.get("Index Name") == "plot_boundary_gist" for n in nodes), inner
            assert "st_tileenvelope" not in json.dumps(inner["Plan"]).lower(), inner
        conn.rollback()
