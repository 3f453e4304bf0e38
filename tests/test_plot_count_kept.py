"""The live plots kept per municipality and status (``plot_count_kept``), from which a search
by places and statuses alone counts its matches, equal a fresh count of the plot rows after
every kind of write (the form's edits, a bulk file, an import, retiring, a statement moving
plots to another municipality, deletions, a truncation, the synthetic bulk load); and a
search's count, kept or counted, is the number of plots the search finds."""

from __future__ import annotations

import json
from pathlib import Path

import lxml.html
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from bench.synthetic import generate
from locations import bulk_updates, search
from locations.accounts import account_by_name, create_account
from locations.importer import import_file
from locations.plot_updates import retire_plot, update_plot

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


def assert_kept_equals_fresh(engine: Engine) -> None:
    with engine.connect() as conn:
        kept = {(m, s): n for m, s, n in conn.execute(text(
            "SELECT municipality_id, status, plots FROM plot_count_kept WHERE plots <> 0"))}
        fresh = {(m, s): n for m, s, n in conn.execute(text(
            "SELECT municipality_id, status, count(*) FROM plot WHERE retired_at IS NULL "
            "GROUP BY 1, 2"))}
        assert conn.execute(text(
            "SELECT count(*) FROM plot_count_kept WHERE plots < 0")).scalar_one() == 0
    assert kept == fresh


@pytest.fixture
def room_for_samples(fresh_engine: Engine) -> Engine:
    from tests.test_import_samples import make_room_for_samples

    make_room_for_samples(fresh_engine, east_m=385)
    return fresh_engine


def test_kept_counts_follow_every_write(room_for_samples: Engine) -> None:
    engine = room_for_samples
    assert_kept_equals_fresh(engine)  # as the demo's load and the migration left them
    with engine.begin() as conn:
        create_account(conn, "count admin", "admin")
        account = account_by_name(conn, "count admin")
        plots = conn.execute(text(
            "SELECT id, version, cadastral_ref FROM plot WHERE retired_at IS NULL "
            "AND status = 'available' ORDER BY id LIMIT 5")).all()
        update_plot(conn, account, plots[0].id, plots[0].version, {"status": "reserved"})
    assert_kept_equals_fresh(engine)

    rows = bulk_updates.read_table(
        f"cadastral_ref;status\n{plots[1].cadastral_ref};sold\n"
        f"{plots[2].cadastral_ref};not_for_sale\n".encode(), "changes.csv")
    with engine.begin() as conn:
        assert bulk_updates.apply_updates(conn, account, rows)["plots_changed"] == 2
    assert_kept_equals_fresh(engine)

    report = import_file(engine, "plots", SAMPLES / "plots-generic.gpkg")
    assert report.written and report.created
    with engine.begin() as conn:
        version = conn.execute(text("SELECT version FROM plot WHERE id = :p"),
                               {"p": plots[3].id}).scalar_one()
        retire_plot(conn, account, plots[3].id, version)
    assert_kept_equals_fresh(engine)

    # One statement giving a municipality's plots to another and changing their status: the
    # row trigger would place them again by their outline, so it is told they are placed.
    with engine.begin() as conn:
        first, second = conn.execute(text(
            "SELECT municipality_id FROM plot WHERE retired_at IS NULL GROUP BY 1 "
            "ORDER BY count(*) DESC, 1 LIMIT 2")).scalars().all()
        conn.execute(text("SET LOCAL locations.plot_municipality_given = 'on'"))
        moved = conn.execute(text(
            "UPDATE plot SET municipality_id = :second, "
            "status = CASE WHEN id % 2 = 0 THEN 'occupied' ELSE status END "
            "WHERE municipality_id = :first AND id % 3 = 0"),
            {"first": first, "second": second}).rowcount
        assert moved
    assert_kept_equals_fresh(engine)

    with engine.begin() as conn:
        doomed = conn.execute(text(
            "SELECT id FROM plot WHERE retired_at IS NULL ORDER BY id DESC LIMIT 3")).scalars().all()
        conn.execute(text("DELETE FROM plot_event WHERE plot_id = ANY(:ids)"), {"ids": doomed})
        conn.execute(text("DELETE FROM plot_site_metrics WHERE plot_id = ANY(:ids)"),
                     {"ids": doomed})
        conn.execute(text("DELETE FROM plot WHERE id = ANY(:ids)"), {"ids": doomed})
    assert_kept_equals_fresh(engine)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE plot CASCADE"))
        assert conn.execute(text("SELECT count(*) FROM plot_count_kept")).scalar_one() == 0
    assert_kept_equals_fresh(engine)


def test_the_synthetic_bulk_load_is_counted(empty_engine: Engine) -> None:
    # The benchmark's own generator takes the import's first-load path.
    generate(empty_engine, 3000, seed=7, history=False)
    assert_kept_equals_fresh(empty_engine)


#: Searches a kept count answers (places and statuses alone, or nothing), and some it does not.
KEPT = [{}, {"status": ["available"]}, {"region": ["SI042"]}, {"region": ["AT22"]},
        {"region": ["SI042", "AT221"], "status": ["available", "reserved"]}]
COUNTED = [{"region": ["SI042"], "min_area_m2": 10_000}, {"zone_kind": ["industrial"]},
           {"status": ["available"], "max_motorway_km": 5}]


@pytest.mark.parametrize("filters", KEPT + COUNTED)
def test_a_search_counts_what_it_finds(fresh_engine: Engine, filters: dict) -> None:
    with fresh_engine.begin() as conn:
        # A retired plot is not a match, whether counted or kept.
        conn.execute(text("UPDATE plot SET retired_at = now() WHERE id = (SELECT min(id) FROM plot)"))
    with fresh_engine.connect() as conn:
        plot_filter = search.PlotFilter(**filters, count=True, limit=search.MAX_LIMIT)
        query = search.plot_query(conn, plot_filter)
        assert query.count_kept == (filters in KEPT)
        found, cursor = 0, None
        while True:
            page = search.search_plot_page(
                conn, plot_filter.model_copy(update={"cursor": cursor}))
            found += len(page.features)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    assert page.number_matched == found
    assert found > 0 or filters == COUNTED[2]


def test_the_search_page_shows_the_kept_count(fresh_engine: Engine) -> None:
    from api.app import create_app

    with fresh_engine.connect() as conn:
        live = conn.execute(text(
            "SELECT count(*) FROM plot WHERE retired_at IS NULL")).scalar_one()
        region_live = conn.execute(text(
            "SELECT count(*) FROM plot p JOIN municipality_region mr "
            "ON mr.municipality_id = p.municipality_id JOIN region r ON r.id = mr.region_id "
            "WHERE p.retired_at IS NULL AND r.code = 'SI042'")).scalar_one()
    with TestClient(create_app(fresh_engine)) as client:
        for params, expected in (({"lang": "en"}, live),
                                 ({"lang": "en", "region": "SI042"}, region_live)):
            page = client.get("/maps/search", params=params)
            assert page.status_code == 200
            doc = lxml.html.fromstring(page.text)
            assert int(doc.get_element_by_id("result-count").get("data-count")) == expected
            drawn = json.loads(doc.get_element_by_id("result-data").text)["plots"]
            assert len(drawn) == min(expected, 500)
