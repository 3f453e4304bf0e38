"""Each zone's kept GeoJSON texts (``zone_feature``: outline in CRS84, properties, Feature)
and the keys of its default order equal a fresh computation from the zone, its
municipalities, region and plot figures, byte for byte, after every kind of write: a zone's facts edited, redrawn, moved to another
municipality, added and deleted; plots written one by one, in bulk, imported, retired,
moved, deleted and truncated; a municipality renamed or moved to another region, a region's
code changed; and two transactions changing different sources of one zone at once. And
GET /zones and OGC API zone items, written around the kept texts, equal the statement that
wrote every zone per request, in every order, CRS and with a ranking's columns."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from locations import bulk_updates
from locations.accounts import account_by_name, create_account
from locations.features import ZONE_AGGREGATE_JOIN, ZONE_AGGREGATES, ZONE_COLUMNS
from locations.geojson import GEOJSON_CRS, Window, geometry_sql
from locations.importer import import_file
from locations.plot_updates import retire_plot, update_plot
from locations.zone_search import ZoneFilter, search_zones
from locations.zone_updates import update_zone

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"

#: The zones' texts as the zone reads wrote them per request before they were kept.
FRESH = f"""
    SELECT z.id, r.code, m.name, z.name, {geometry_sql("z.boundary")}, to_json(properties)::text,
           json_build_object('type', 'Feature', 'id', z.id,
                             'geometry', {geometry_sql("z.boundary")}::json,
                             'properties', to_json(properties))::text
    FROM zone z
    JOIN municipality m ON m.id = z.municipality_id
    JOIN region r ON r.id = m.region_id
    {ZONE_AGGREGATE_JOIN}
    CROSS JOIN LATERAL (SELECT {ZONE_COLUMNS}, {ZONE_AGGREGATES}) AS properties
"""


def assert_kept_equals_fresh(engine: Engine) -> None:
    with engine.connect() as conn:
        kept = {row[0]: tuple(row[1:]) for row in conn.execute(text(
            "SELECT zone_id, region_code, municipality_name, name, geometry::text, "
            "properties::text, feature FROM zone_feature"))}
        fresh = {row[0]: tuple(row[1:]) for row in conn.execute(text(FRESH))}
    assert kept.keys() == fresh.keys()
    differing = [zone for zone in fresh if kept[zone] != fresh[zone]]
    assert not differing, [(zone, kept[zone], fresh[zone]) for zone in differing[:3]]


@pytest.fixture(autouse=True)
def _room_for_samples(request) -> None:
    if "fresh_engine" in request.fixturenames:
        from tests.test_import_samples import make_room_for_samples

        make_room_for_samples(request.getfixturevalue("fresh_engine"), east_m=385)


def _admin(engine: Engine):
    with engine.begin() as conn:
        create_account(conn, "zone feature admin", "admin")
        return account_by_name(conn, "zone feature admin")


def _busiest_zones(conn, n: int) -> list[int]:
    return conn.execute(text(
        "SELECT zone_id FROM plot WHERE retired_at IS NULL AND status = 'available' "
        "GROUP BY zone_id HAVING count(*) >= 6 ORDER BY count(*) DESC, zone_id LIMIT :n"),
        {"n": n}).scalars().all()


def _available_plots(conn, zone_id: int, n: int) -> list:
    return conn.execute(text(
        "SELECT id, version, cadastral_ref FROM plot WHERE zone_id = :z AND retired_at IS NULL "
        "AND status = 'available' ORDER BY id LIMIT :n"), {"z": zone_id, "n": n}).all()


def _kept_properties(engine: Engine, zone_id: int) -> str:
    with engine.connect() as conn:
        return conn.execute(text("SELECT properties::text FROM zone_feature WHERE zone_id = :z"),
                            {"z": zone_id}).scalar_one()


def test_kept_zone_json_follows_every_plot_write(fresh_engine: Engine) -> None:
    assert_kept_equals_fresh(fresh_engine)  # as the migration and the demo's load left it
    account = _admin(fresh_engine)
    with fresh_engine.connect() as conn:
        first, second = _busiest_zones(conn, 2)
        plots = _available_plots(conn, first, 6)
    before = _kept_properties(fresh_engine, first)

    # The form: a plot reserved, another's readiness cleared (no figure shown changes).
    with fresh_engine.begin() as conn:
        update_plot(conn, account, plots[0].id, plots[0].version, {"status": "reserved"})
        update_plot(conn, account, plots[1].id, plots[1].version, {"readiness": None})
    assert_kept_equals_fresh(fresh_engine)
    assert _kept_properties(fresh_engine, first) != before  # one plot fewer available

    # A bulk file selling one plot and taking another off the market.
    rows = bulk_updates.read_table(
        f"cadastral_ref;status\n{plots[2].cadastral_ref};sold\n"
        f"{plots[3].cadastral_ref};not_for_sale\n".encode(), "changes.csv")
    with fresh_engine.begin() as conn:
        assert bulk_updates.apply_updates(conn, account, rows)["plots_changed"] == 2
    assert_kept_equals_fresh(fresh_engine)

    # An import of new plots, and a plot retired.
    report = import_file(fresh_engine, "plots", SAMPLES / "plots-generic.gpkg")
    assert report.written and report.created
    with fresh_engine.begin() as conn:
        version = conn.execute(text("SELECT version FROM plot WHERE id = :p"),
                               {"p": plots[4].id}).scalar_one()
        retire_plot(conn, account, plots[4].id, version)
    assert_kept_equals_fresh(fresh_engine)

    # One statement moving every plot of a zone to another, enlarged.
    with fresh_engine.begin() as conn:
        conn.execute(text("UPDATE plot SET zone_id = :second, area_m2 = area_m2 + 1 "
                          "WHERE zone_id = :first AND retired_at IS NULL"),
                     {"first": first, "second": second})
    assert_kept_equals_fresh(fresh_engine)
    assert '"plot_count":0,' in _kept_properties(fresh_engine, first)

    # Plots deleted outright (their trail first), the figures rebuilt, then every plot at once.
    with fresh_engine.begin() as conn:
        doomed = [row.id for row in _available_plots(conn, second, 3)]
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
    assert_kept_equals_fresh(fresh_engine)
    assert '"plot_count":0,' in _kept_properties(fresh_engine, second)


def test_kept_zone_json_follows_zones_municipalities_and_regions(fresh_engine: Engine) -> None:
    account = _admin(fresh_engine)
    with fresh_engine.connect() as conn:
        zone = conn.execute(text(
            "SELECT id, version, municipality_id FROM zone ORDER BY id LIMIT 1")).one()
        shared = conn.execute(text(
            "SELECT zone_id FROM zone_municipality GROUP BY zone_id HAVING count(*) > 1 "
            "ORDER BY zone_id LIMIT 1")).scalar_one()
        other_municipality = conn.execute(text(
            "SELECT id FROM municipality WHERE id <> :m ORDER BY id LIMIT 1"),
            {"m": zone.municipality_id}).scalar_one()

    # The form: a zone's facts and its manager's contact.
    with fresh_engine.begin() as conn:
        update_zone(conn, account, zone.id, zone.version,
                    {"power_mw": 42.5, "manager_name": "Ana Novak", "broadband": "ftth"})
    assert_kept_equals_fresh(fresh_engine)
    assert '"power_mw":42.5' in _kept_properties(fresh_engine, zone.id)

    # A zone renamed, redrawn (moved 300 m east: outline and municipalities), and moved to
    # another municipality; a shared zone's municipalities change with its neighbour's name.
    with fresh_engine.begin() as conn:
        conn.execute(text("UPDATE zone SET name = name || ' (new)', "
                          "boundary = ST_Translate(boundary, 300, 0) WHERE id = :z"),
                     {"z": shared})
    assert_kept_equals_fresh(fresh_engine)
    with fresh_engine.begin() as conn:
        conn.execute(text("UPDATE zone SET municipality_id = :m WHERE id = :z"),
                     {"m": other_municipality, "z": zone.id})
    assert_kept_equals_fresh(fresh_engine)
    with fresh_engine.begin() as conn:
        conn.execute(text("UPDATE municipality SET name = name || ' Süd' WHERE id IN ("
                          "SELECT municipality_id FROM zone_municipality WHERE zone_id = :z)"),
                     {"z": shared})
    assert_kept_equals_fresh(fresh_engine)
    assert " Süd" in _kept_properties(fresh_engine, shared)

    # A municipality moved to another region, and a region's code changed.
    with fresh_engine.begin() as conn:
        other_region = conn.execute(text(
            "SELECT (SELECT min(r.id) FROM region r WHERE r.level = rr.level "
            "AND r.id <> m.region_id) FROM municipality m JOIN region rr ON rr.id = m.region_id "
            "WHERE m.id = :m"), {"m": other_municipality}).scalar_one()
        conn.execute(text("UPDATE municipality SET region_id = :r WHERE id = :m"),
                     {"r": other_region, "m": other_municipality})
    assert_kept_equals_fresh(fresh_engine)
    with fresh_engine.begin() as conn:
        code = conn.execute(text("UPDATE region SET code = left(code, -1) || 'Z' "
                                 "WHERE id = :r RETURNING code"),
                            {"r": other_region}).scalar_one()
    assert_kept_equals_fresh(fresh_engine)
    assert f'"region_code":"{code}"' in _kept_properties(fresh_engine, zone.id)

    # A new zone (a copy of another, moved 20 m north), then deleted.
    with fresh_engine.begin() as conn:
        new_zone = conn.execute(text("""
            INSERT INTO zone (municipality_id, name, kind, boundary)
            SELECT municipality_id, name || ' II', kind, ST_Translate(boundary, 0, 20)
            FROM zone WHERE id = :z RETURNING id"""), {"z": zone.id}).scalar_one()
    assert_kept_equals_fresh(fresh_engine)
    with fresh_engine.begin() as conn:
        conn.execute(text("DELETE FROM zone WHERE id = :z"), {"z": new_zone})
    assert_kept_equals_fresh(fresh_engine)
    with fresh_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM zone_feature WHERE zone_id = :z"),
                            {"z": new_zone}).scalar_one() == 0


def _wait_until_blocked(engine: Engine, pid: int) -> None:
    with engine.connect() as conn:
        for _ in range(200):
            waiting = conn.execute(text(
                "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = :p"),
                {"p": pid}).scalar_one_or_none()
            if waiting:
                return
            time.sleep(0.05)
    raise AssertionError("the second writer never waited for the first")


@pytest.mark.parametrize("first_writer", ["plots", "municipality"])
def test_two_writers_of_one_zone_leave_neither_view_behind(fresh_engine: Engine,
                                                             first_writer: str) -> None:
    """A plot written in one transaction while another renames the zone's municipality: the
    one that waits for the other's kept row reads its figures after the other committed."""
    with fresh_engine.connect() as conn:
        zone_id, municipality_id = conn.execute(text(
            "SELECT z.id, z.municipality_id FROM zone z WHERE EXISTS ("
            "SELECT 1 FROM plot p WHERE p.zone_id = z.id AND p.status = 'available' "
            "AND p.retired_at IS NULL) ORDER BY z.id LIMIT 1")).one()
    writes = {
        "plots": ("UPDATE plot SET status = 'sold' WHERE zone_id = :z AND status = 'available'",
                  {"z": zone_id}),
        "municipality": ("UPDATE municipality SET name = name || ' Ost' WHERE id = :m",
                         {"m": municipality_id}),
    }
    second_writer = "municipality" if first_writer == "plots" else "plots"
    errors: list[BaseException] = []
    with fresh_engine.connect() as first:
        first.execute(text(writes[first_writer][0]), writes[first_writer][1])
        second = fresh_engine.connect()
        pid = second.execute(text("SELECT pg_backend_pid()")).scalar_one()

        def write_second() -> None:
            try:
                second.execute(text(writes[second_writer][0]), writes[second_writer][1])
                second.commit()
            except BaseException as exc:  # noqa: BLE001 - reported by the main thread
                errors.append(exc)

        thread = threading.Thread(target=write_second)
        thread.start()
        _wait_until_blocked(fresh_engine, pid)
        first.commit()
        thread.join(30)
        second.close()
    assert not errors and not thread.is_alive()
    assert_kept_equals_fresh(fresh_engine)
    kept = _kept_properties(fresh_engine, zone_id)
    assert " Ost" in kept and '"available"' not in kept.split('"plots_by_status":')[1]


def _fresh_features(conn, filters: ZoneFilter, crs, window: Window) -> list[str]:
    """A page of zones as written per request before their texts were kept: every zone's
    properties and outline computed in the statement (locations.zone_search before 0134)."""
    from locations.zone_search import ZONE_JOINS, _ranking, _zone_order, zone_conditions

    where, params = zone_conditions(conn, filters)
    ranking = _ranking(conn, filters)
    order = window.order_sql(_zone_order(filters))
    rows = conn.execute(text(f"""
        WITH page AS (
            SELECT z.id FROM zone z {ZONE_JOINS} {ranking.joins}
            WHERE {where} AND {window.where("z.boundary", "z.id")}
            ORDER BY {order} {window.limit_sql()}
        )
        SELECT json_build_object('type', 'Feature', 'id', z.id,
                                 'geometry', {geometry_sql("z.boundary", crs)}::json,
                                 'properties', to_json(properties))::text
        FROM page JOIN zone z ON z.id = page.id
        {ZONE_JOINS} {ranking.joins}
        CROSS JOIN LATERAL (SELECT {ZONE_COLUMNS}, {ZONE_AGGREGATES} {ranking.columns})
            AS properties
        ORDER BY {order}
    """), params | (ranking.params or {}) | window.params()).scalars().all()
    return list(rows)


@pytest.mark.parametrize("filters", [
    ZoneFilter(),
    ZoneFilter(sort="-name"),
    ZoneFilter(sort="available", kind=["industrial"]),
    ZoneFilter(sort="-occupancy", region=["AT22"]),
    ZoneFilter(sort="motorway"),
    ZoneFilter(profile="logistics"),
    ZoneFilter(profile="logistics", sort="-score"),
    ZoneFilter(profile="logistics", sort="best", has_available=True),
], ids=lambda f: ",".join(f"{k}={v}" for k, v in f.model_dump(exclude_defaults=True).items())
    or "default")
def test_zone_pages_equal_the_zones_written_per_request(scored_engine: Engine,
                                                         filters: ZoneFilter) -> None:
    from locations.ogc import crs_named

    d96 = crs_named("http://www.opengis.net/def/crs/EPSG/0/3794").output
    with scored_engine.connect() as conn:
        for crs in (GEOJSON_CRS, d96):
            for window in (Window(), Window(limit=7, offset=7),
                           Window(limit=5, bbox_wkt="POLYGON((13 45, 17 45, 17 47.5, 13 47.5, "
                                                    "13 45))"),
                           Window(limit=3, order="z.area_m2 DESC, z.id"),
                           # An order by the municipality alone (the page then joins it).
                           Window(limit=4, order="m.name DESC NULLS LAST, z.id")):
                expected = _fresh_features(conn, filters, crs, window)
                assert expected or window.offset or window.bbox_wkt
                for count in (True, False):
                    page = search_zones(conn, filters, crs=crs, window=window, count=count)
                    assert page.features == expected, (crs, window, count)
