"""Zones ranked by score read a page down the run's index of medians
(``zone_score_median_idx``) instead of numbering every zone: each page is the one the
full ordering of every zone gives, with every filter, in both directions, through ties
of medians broken by name and id, with zones that have no median, and after new runs
(a regional run on top of a full one, then a full one again) and plot writes."""

from __future__ import annotations

import itertools

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from locations import rankings, regions, zone_search
from locations.scoring import run_scoring
from tests.conftest import _drop_database, _engine_from_template

FILTERS = [
    {},
    {"region": ["SI042"]},
    {"region": ["AT22"]},
    {"region": ["AT221"]},
    {"region": ["AT-D-601"]},
    {"region": ["SI042", "AT22"]},
    {"kind": ["industrial"]},
    {"kind": ["logistics", "mixed"], "region": ["AT22"]},
    {"has_available": True},
    {"has_available": False},
    {"min_available_area_m2": 20000},
]


@pytest.fixture
def walks(monkeypatch):
    """How many pages came from the walk (not the full ordering), so a test can show the
    walk was taken."""
    taken = []
    walk = zone_search._walked_by_score

    def counted(*args, **kwargs):
        rows = walk(*args, **kwargs)
        taken.append(rows is not None)
        return rows

    monkeypatch.setattr(zone_search, "_walked_by_score", counted)
    return taken


def _full(conn, filters: zone_search.ZoneFilter) -> dict:
    # Without a limit no page is walked: every matching zone, numbered in order.
    return zone_search.zone_ranking(conn, filters, limit=None)


def _assert_pages_are_the_full_ordering(conn, walks: list[bool]) -> None:
    walked_before = sum(walks)
    for extra, sort in itertools.product(FILTERS, ("-score", "score")):
        filters = zone_search.ZoneFilter(profile="logistics", sort=sort, **extra)
        full = _full(conn, filters)
        for limit in (1, 2, 5, 10, 50, len(full["zones"]) + 1):
            page = zone_search.zone_ranking(conn, filters, limit=limit)
            assert page["zones"] == full["zones"][:limit], (extra, sort, limit)
            assert page["matched"] == full["matched"], (extra, sort, limit)
            assert {k: v for k, v in page.items() if k not in ("zones", "matched")} == \
                {k: v for k, v in full.items() if k not in ("zones", "matched")}
            uncounted = zone_search.zone_ranking(conn, filters, limit=limit, count=False)
            assert uncounted["zones"] == page["zones"] and uncounted["matched"] is None
    # Most pages are short enough to be walked; a page reaching zones without a median
    # is ordered whole.
    assert sum(walks) - walked_before >= 20
    assert not all(walks)


def test_a_walked_page_is_the_full_orderings_first_zones(scored_engine, walks):
    with scored_engine.connect() as conn:
        run = rankings.ranking_run(conn, "logistics")["run_ids"][0]
        medians = conn.execute(text("SELECT count(median_total) FROM zone_score "
                                    "WHERE run_id = :run"), {"run": run}).scalar_one()
        # Zones with a median, and zones without one (ordered after them).
        assert 10 <= medians < conn.execute(text("SELECT count(*) FROM zone")).scalar_one()
        _assert_pages_are_the_full_ordering(conn, walks)


def test_rankings_zones_are_the_zone_rankings_first(scored_engine, walks):
    """/rankings reads the run and the region once for plots and zones; its zones are the
    zone ranking's first, and its plots those of the ranking alone."""
    from api.app import create_app

    with TestClient(create_app(scored_engine)) as client, scored_engine.connect() as conn:
        for region, limit in itertools.product((None, "SI042", "AT22", "at221"), (3, 50)):
            params = {"profile": "logistics", "limit": limit} | ({"region": region} if region else {})
            answer = client.get("/rankings", params=params)
            assert answer.status_code == 200, answer.text
            body = answer.json()
            filters = zone_search.ZoneFilter(profile="logistics", sort="-score",
                                             region=[region] if region else [])
            assert body["zones"] == _full(conn, filters)["zones"][:limit]
            alone = rankings.rankings(conn, "logistics", region=region, limit=limit)
            assert body["plots"] == alone["plots"] and body["region"] == alone["region"]
    assert any(walks)


@pytest.fixture
def scored_copy(pg_server, scored_template_db):
    name, engine = _engine_from_template(pg_server, scored_template_db, "locations_test_walk")
    yield engine
    engine.dispose()
    _drop_database(pg_server, name)


def test_ties_missing_medians_new_runs_and_plot_writes(scored_copy, walks):
    engine = scored_copy
    with engine.begin() as conn:
        run = rankings.ranking_run(conn, "logistics")["run_ids"][0]
        zones = conn.execute(text("""
            SELECT zone_id FROM zone_score WHERE run_id = :run AND median_total IS NOT NULL
            ORDER BY zone_id"""), {"run": run}).scalars().all()
        # Ties: six zones share the best median and four another; names decide, then ids.
        conn.execute(text("UPDATE zone_score SET median_total = 99.5 WHERE run_id = :run "
                          "AND zone_id = ANY (CAST(:ids AS int[]))"),
                     {"run": run, "ids": zones[:6]})
        conn.execute(text("UPDATE zone_score SET median_total = 40.25 WHERE run_id = :run "
                          "AND zone_id = ANY (CAST(:ids AS int[]))"),
                     {"run": run, "ids": zones[6:10]})
        # A zone whose run kept no row at all, and one kept without a median.
        conn.execute(text("DELETE FROM zone_score WHERE run_id = :run AND zone_id = :z"),
                     {"run": run, "z": zones[10]})
        conn.execute(text("UPDATE zone_score SET median_total = NULL WHERE run_id = :run "
                          "AND zone_id = :z"), {"run": run, "z": zones[11]})
    with engine.connect() as conn:
        _assert_pages_are_the_full_ordering(conn, walks)
        tied = zone_search.zone_ranking(conn, zone_search.ZoneFilter(profile="logistics"),
                                        limit=6)["zones"]
        assert [z["score_median"] for z in tied] == [99.5] * 6
        assert [(z["name"], z["id"]) for z in tied] == sorted((z["name"], z["id"]) for z in tied)

    # A regional run on top of the full one: two current runs, zones ordered whole.
    run_scoring(engine, "logistics", region="SI042", requested_by="test")
    with engine.connect() as conn:
        assert len(rankings.ranking_run(conn, "logistics")["run_ids"]) == 2
        before = len(walks)
        _assert_pages_walked_or_not(conn, walks)
        assert len(walks) == before  # never walked with two current runs

    # Plots written (sold, moved out of the gates) and a new full run: its medians.
    with engine.begin() as conn:
        conn.execute(text("""
            UPDATE plot SET status = 'sold' WHERE id IN (
                SELECT id FROM plot WHERE status = 'available' ORDER BY id LIMIT 40)"""))
    run_scoring(engine, "logistics", requested_by="test")
    with engine.connect() as conn:
        current = rankings.ranking_run(conn, "logistics")["run_ids"]
        assert len(current) == 1 and current[0] != run
        _assert_pages_are_the_full_ordering(conn, walks)


def _assert_pages_walked_or_not(conn, walks) -> None:
    for extra in FILTERS[:4]:
        filters = zone_search.ZoneFilter(profile="logistics", sort="-score", **extra)
        full = _full(conn, filters)
        for limit in (1, 10, 50):
            assert zone_search.zone_ranking(conn, filters, limit=limit)["zones"] == \
                full["zones"][:limit]


def test_a_region_resolved_by_the_caller_is_the_one_named(scored_engine):
    with scored_engine.connect() as conn:
        selection = regions.resolve(conn, ["at22"])
        filters = zone_search.ZoneFilter(profile="logistics", region=["AT22"])
        run = rankings.ranking_run(conn, "logistics")
        assert zone_search.zone_ranking(conn, filters, limit=7, run=run, selection=selection) \
            == zone_search.zone_ranking(conn, filters, limit=7)
