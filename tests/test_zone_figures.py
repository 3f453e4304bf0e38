"""The figures kept per zone (``zone_summary``, ``zone_verified_month``), which dashboards
and comparisons sum instead of reading plots, equal a fresh computation over the plot rows
after every kind of write: the form's edits and verifications, a bulk file, an import,
retiring, splitting, a statement changing many plots at once, deletions and a truncation;
and a region's freshness counts plots verified on the first day of its twelve months but
not the day before."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from locations import bulk_updates, dashboard
from locations.accounts import account_by_name, create_account
from locations.importer import import_file
from locations.plot_updates import retire_plot, update_plot, verify_plot

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
STATUSES = ("available", "reserved", "under_negotiation", "sold", "occupied", "not_for_sale")
TIERS = ("registered", "serviced", "shovel_ready", "unknown")

#: Each kept column and how the plot rows give it.
FRESH = {
    "plot_count": "count(*)",
    "plot_area_m2": "sum(area_m2)",
    "taken_area_m2": "sum(area_m2) FILTER (WHERE status IN ('sold', 'occupied'))",
    "brownfield_area_m2": "sum(area_m2) FILTER (WHERE brownfield)",
    "brownfield_available_area_m2":
        "sum(area_m2) FILTER (WHERE brownfield AND status = 'available')",
    **{f"{s}_count": f"count(*) FILTER (WHERE status = '{s}')" for s in STATUSES},
    **{f"{s}_area_m2": f"sum(area_m2) FILTER (WHERE status = '{s}')" for s in STATUSES},
    **{f"available_{t}_count": f"count(*) FILTER (WHERE status = 'available' AND "
                               f"coalesce(readiness, 'unknown') = '{t}')" for t in TIERS},
    **{f"available_{t}_area_m2": f"sum(area_m2) FILTER (WHERE status = 'available' AND "
                                 f"coalesce(readiness, 'unknown') = '{t}')" for t in TIERS},
}


def _kept_and_fresh(conn) -> tuple[dict, dict]:
    columns = list(FRESH)
    kept = {row[0]: tuple(float(v) for v in row[1:]) for row in conn.execute(text(
        f"SELECT zone_id, {', '.join(columns)} FROM zone_summary"))}
    fresh = {row[0]: tuple(float(v or 0) for v in row[1:]) for row in conn.execute(text(
        f"SELECT zone_id, {', '.join(FRESH[c] for c in columns)} FROM plot "
        "WHERE retired_at IS NULL GROUP BY zone_id"))}
    # A zone whose plots all left keeps a row of zeros: the same as no plots.
    zeros = tuple(0.0 for _ in columns)
    kept = {zone: values for zone, values in kept.items() if values != zeros}
    return kept, fresh


def _verified(conn) -> tuple[dict, dict]:
    kept: dict = {}
    for zone_id, month, plots, by_day in conn.execute(text(
            "SELECT zone_id, month, plots, by_day FROM zone_verified_month")):
        assert plots == sum(by_day) and len(by_day) == 31
        for day, count in enumerate(by_day, start=1):
            if count:
                kept[(zone_id, month.replace(day=day))] = count
    fresh = {(zone, day): n for zone, day, n in conn.execute(text(
        "SELECT zone_id, last_verified, count(*) FROM plot "
        "WHERE retired_at IS NULL AND last_verified IS NOT NULL GROUP BY 1, 2"))}
    return kept, fresh


def _verified_by_municipality(conn) -> tuple[dict, dict]:
    kept: dict = {}
    for municipality_id, month, plots, by_day in conn.execute(text(
            "SELECT municipality_id, month, plots, by_day FROM municipality_verified_month")):
        assert plots == sum(by_day) and len(by_day) == 31
        for day, count in enumerate(by_day, start=1):
            if count:
                kept[(municipality_id, month.replace(day=day))] = count
    fresh = {(municipality, day): n for municipality, day, n in conn.execute(text(
        "SELECT z.municipality_id, p.last_verified, count(*) FROM plot p "
        "JOIN zone z ON z.id = p.zone_id "
        "WHERE p.retired_at IS NULL AND p.last_verified IS NOT NULL GROUP BY 1, 2"))}
    return kept, fresh


def assert_kept_equals_fresh(engine: Engine) -> None:
    with engine.connect() as conn:
        kept, fresh = _kept_and_fresh(conn)
        assert kept.keys() == fresh.keys()
        for zone, values in fresh.items():
            assert kept[zone] == pytest.approx(values, abs=1e-6), (zone, dict(zip(FRESH, values)))
        kept_days, fresh_days = _verified(conn)
        assert kept_days == fresh_days
        kept_days, fresh_days = _verified_by_municipality(conn)
        assert kept_days == fresh_days


@pytest.fixture(autouse=True)
def _room_for_samples(fresh_engine: Engine) -> None:
    from tests.test_import_samples import make_room_for_samples

    make_room_for_samples(fresh_engine, east_m=385)


def _plots(conn, zone_id: int, n: int) -> list:
    """``n`` available plots of the zone (any status may follow available)."""
    return conn.execute(text(
        "SELECT id, version, cadastral_ref FROM plot WHERE zone_id = :z AND retired_at IS NULL "
        "AND status = 'available' ORDER BY id LIMIT :n"), {"z": zone_id, "n": n}).all()


def test_kept_zone_figures_follow_every_write(fresh_engine: Engine, tmp_path) -> None:
    assert_kept_equals_fresh(fresh_engine)  # as the demo's load left them
    with fresh_engine.begin() as conn:
        create_account(conn, "figures admin", "admin")
        account = account_by_name(conn, "figures admin")
        zones = conn.execute(text(
            "SELECT zone_id FROM plot WHERE retired_at IS NULL AND status = 'available' "
            "GROUP BY zone_id HAVING count(*) >= 6 ORDER BY count(*) DESC, zone_id LIMIT 2"
        )).scalars().all()
        first, second = zones
        plots = _plots(conn, first, 6)

    # The form: status, readiness and brownfield changed, a plot verified today.
    with fresh_engine.begin() as conn:
        update_plot(conn, account, plots[0].id, plots[0].version,
                    {"status": "reserved", "readiness": "shovel_ready", "brownfield": True})
        update_plot(conn, account, plots[1].id, plots[1].version, {"readiness": None})
        verify_plot(conn, account, plots[2].id, plots[2].version)
    assert_kept_equals_fresh(fresh_engine)

    # A bulk file selling one plot and taking another off the market.
    rows = bulk_updates.read_table(
        f"cadastral_ref;status\n{plots[3].cadastral_ref};sold\n"
        f"{plots[4].cadastral_ref};not_for_sale\n".encode(), "changes.csv")
    with fresh_engine.begin() as conn:
        assert bulk_updates.apply_updates(conn, account, rows)["plots_changed"] == 2
    assert_kept_equals_fresh(fresh_engine)

    # An import of new plots, and a plot retired.
    report = import_file(fresh_engine, "plots", SAMPLES / "plots-generic.gpkg")
    assert report.written and report.created
    with fresh_engine.begin() as conn:
        version = conn.execute(text("SELECT version FROM plot WHERE id = :p"),
                               {"p": plots[5].id}).scalar_one()
        retire_plot(conn, account, plots[5].id, version)
    assert_kept_equals_fresh(fresh_engine)

    # One statement over many plots: moved to another zone, verified on other days, enlarged.
    with fresh_engine.begin() as conn:
        conn.execute(text("""
            UPDATE plot SET zone_id = :second,
                            last_verified = DATE '2025-03-01' + (id % 40)::int,
                            area_m2 = area_m2 + 1
            WHERE zone_id = :first AND retired_at IS NULL"""),
                     {"first": first, "second": second})
    assert_kept_equals_fresh(fresh_engine)

    # Plots deleted outright (their trail first), then every plot at once.
    with fresh_engine.begin() as conn:
        doomed = [row.id for row in _plots(conn, second, 3)]
        conn.execute(text("DELETE FROM plot_event WHERE plot_id = ANY(:ids)"), {"ids": doomed})
        conn.execute(text("DELETE FROM plot_site_metrics WHERE plot_id = ANY(:ids)"),
                     {"ids": doomed})
        conn.execute(text("DELETE FROM plot WHERE id = ANY(:ids)"), {"ids": doomed})
    assert_kept_equals_fresh(fresh_engine)
    with fresh_engine.begin() as conn:
        conn.execute(text("SELECT zone_summary_rebuild()"))
    assert_kept_equals_fresh(fresh_engine)
    with fresh_engine.begin() as conn:
        conn.execute(text("TRUNCATE plot CASCADE"))
        assert conn.execute(text("SELECT count(*) FROM zone_verified_month")).scalar_one() == 0
    assert_kept_equals_fresh(fresh_engine)


def test_freshness_counts_from_the_first_day_of_the_twelve_months(fresh_engine: Engine) -> None:
    today = dt.date(2026, 3, 15)
    since = dt.date(2025, 3, 15)
    with fresh_engine.begin() as conn:
        zone_id, region = conn.execute(text("""
            SELECT z.id, r.code FROM zone z JOIN municipality m ON m.id = z.municipality_id
            JOIN region r ON r.id = m.region_id
            JOIN plot p ON p.zone_id = z.id AND p.retired_at IS NULL
            GROUP BY z.id, r.code HAVING count(*) >= 3 ORDER BY z.id LIMIT 1""")).one()
        # Nothing else in the region verified near the boundary, so the three days decide.
        conn.execute(text("""
            UPDATE plot SET last_verified = DATE '2020-01-01'
            WHERE retired_at IS NULL AND zone_id IN (
                SELECT z.id FROM zone z JOIN municipality m ON m.id = z.municipality_id
                JOIN region r ON r.id = m.region_id WHERE r.code = :r)"""), {"r": region})
        before = dashboard.region_figures(conn, region, profiles=[], today=today)
        assert before["freshness"]["verified_plots"] == 0
        ids = conn.execute(text("SELECT id FROM plot WHERE zone_id = :z AND retired_at IS NULL "
                                "ORDER BY id LIMIT 3"), {"z": zone_id}).scalars().all()
        for plot_id, day in zip(ids, (since - dt.timedelta(days=1), since,
                                      dt.date(2025, 4, 1))):
            conn.execute(text("UPDATE plot SET last_verified = :d WHERE id = :p"),
                         {"d": day, "p": plot_id})
        figures = dashboard.region_figures(conn, region, profiles=[], today=today)
    assert figures["freshness"]["since"] == since.isoformat()
    assert figures["freshness"]["verified_plots"] == 2
    assert_kept_equals_fresh(fresh_engine)


def assert_municipality_months_equal_their_zones(engine: Engine) -> None:
    amounts = ("available_registered", "available_serviced", "available_shovel_ready",
               "available_unknown", "opening_stock", "market_change", "new_supply", "take_up",
               "reversed")
    with engine.connect() as conn:
        kept = {(row[0], row[1]): tuple(float(v) for v in row[2:]) for row in conn.execute(text(
            f"SELECT municipality_id, month, {', '.join(amounts)} "
            "FROM municipality_supply_month"))}
        fresh = {(row[0], row[1]): tuple(float(v) for v in row[2:]) for row in conn.execute(text(
            f"SELECT z.municipality_id, s.month, {', '.join(f'sum(s.{a})' for a in amounts)} "
            "FROM zone_supply_month s JOIN zone z ON z.id = s.zone_id GROUP BY 1, 2"))}
    # The same months (a series starts at its first), with the same amounts.
    assert kept == fresh


def test_municipalities_months_are_their_zones_months(fresh_engine: Engine) -> None:
    """The land supply kept per municipality (what a region's series sums) is its zones'
    months summed, after a first load, edits, a bulk file, a zone given to another
    municipality and a rebuild from the whole trail."""
    assert_municipality_months_equal_their_zones(fresh_engine)
    with fresh_engine.begin() as conn:
        create_account(conn, "supply admin", "admin")
        account = account_by_name(conn, "supply admin")
        zone_id = conn.execute(text(
            "SELECT zone_id FROM plot WHERE retired_at IS NULL AND status = 'available' "
            "GROUP BY zone_id HAVING count(*) >= 3 ORDER BY zone_id LIMIT 1")).scalar_one()
        plots = _plots(conn, zone_id, 3)
        update_plot(conn, account, plots[0].id, plots[0].version, {"status": "sold"},
                    effective_date=dt.date.today() - dt.timedelta(days=40))
        update_plot(conn, account, plots[1].id, plots[1].version, {"readiness": "serviced"})
    rows = bulk_updates.read_table(
        f"cadastral_ref;status\n{plots[2].cadastral_ref};reserved\n".encode(), "changes.csv")
    with fresh_engine.begin() as conn:
        bulk_updates.apply_updates(conn, account, rows)
    assert_municipality_months_equal_their_zones(fresh_engine)
    with fresh_engine.begin() as conn:
        # The zone goes to another municipality (of another region): its months go along.
        other = conn.execute(text(
            "SELECT m.id FROM municipality m, zone z WHERE z.id = :z "
            "AND m.region_id <> (SELECT region_id FROM municipality WHERE id = z.municipality_id) "
            "ORDER BY m.id LIMIT 1"), {"z": zone_id}).scalar_one()
        conn.execute(text("UPDATE zone SET municipality_id = :m WHERE id = :z"),
                     {"m": other, "z": zone_id})
    assert_municipality_months_equal_their_zones(fresh_engine)
    assert_kept_equals_fresh(fresh_engine)
    with fresh_engine.begin() as conn:
        conn.execute(text("SELECT zone_supply_rebuild()"))
    assert_municipality_months_equal_their_zones(fresh_engine)
    with fresh_engine.begin() as conn:
        conn.execute(text("TRUNCATE plot CASCADE"))
        assert conn.execute(text("SELECT count(*) FROM municipality_supply_month")).scalar_one() == 0


def test_a_first_load_in_one_statement_keeps_the_same_figures(empty_engine: Engine,
                                                               monkeypatch) -> None:
    """Thousands of plots of many zones, statuses, tiers and days in one INSERT (the
    synthetic loader's first load): the figures summed by group first equal a fresh count,
    and the municipalities' months their zones'."""
    from bench import synthetic
    from locations.imports import bulk_rebuild

    monkeypatch.setattr(bulk_rebuild, "BULK_REBUILD_MIN_ROWS", 1)  # the first-load path
    synthetic.generate(empty_engine, 4000, seed=11, history=False)
    assert_kept_equals_fresh(empty_engine)
    with empty_engine.connect() as conn:
        kept, fresh = _verified_by_municipality(conn)
    assert kept == fresh and kept
