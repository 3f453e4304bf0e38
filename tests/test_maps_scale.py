"""The overview at scale: its weight does not follow the number of plots, and the kept zone
summary behind the zone tiles stays equal to the plots through every kind of change."""

from __future__ import annotations

from collections import defaultdict

import mapbox_vector_tile
import shapely
from fastapi.testclient import TestClient
from pyproj import Transformer
from shapely import wkb
from sqlalchemy import text

from bench.synthetic import generate

STATUSES = ("available", "reserved", "under_negotiation", "sold", "occupied", "not_for_sale")


def overview_bytes(engine) -> int:
    from api.app import create_app

    with TestClient(create_app(engine)) as client:
        response = client.get("/maps/overview?lang=en")
        assert response.status_code == 200
        return len(response.content)


def counts(engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return (conn.execute(text("SELECT count(*) FROM plot")).scalar_one(),
                conn.execute(text("SELECT count(*) FROM zone")).scalar_one())


def test_the_overview_weighs_the_same_for_few_plots_and_for_many(empty_engine):
    generate(empty_engine, 150, seed=3)
    few_plots, few_zones = counts(empty_engine)
    small = overview_bytes(empty_engine)
    with empty_engine.begin() as conn:
        conn.execute(text("TRUNCATE region, municipality, zone, plot, infrastructure, constraint_area "
                          "RESTART IDENTITY CASCADE"))
    generate(empty_engine, 6000, seed=3)
    many_plots, many_zones = counts(empty_engine)
    large = overview_bytes(empty_engine)
    assert many_plots >= 40 * few_plots and many_zones >= 5 * few_zones
    assert large < 1_000_000
    # Boundaries and infrastructure are the same in both; zones and plots come from tiles.
    # (The synthetic infrastructure varies a little with the seed's draws, hence the slack.)
    assert abs(large - small) < 0.05 * small, (small, large)


def summary_from_plots(engine) -> dict[int, dict]:
    """Per zone, what the summary must say, computed here from the plot rows and shapely areas."""
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT zone_id, status, ST_AsBinary(boundary) AS geom FROM plot WHERE retired_at IS NULL"
        )).mappings().all()
    expected: dict[int, dict] = defaultdict(lambda: {"plot_count": 0, "plot_area": 0.0,
                                                     "available": 0.0, "taken": 0.0,
                                                     **{f"{s}_count": 0 for s in STATUSES}})
    for row in rows:
        area = shapely.area(wkb.loads(bytes(row["geom"])))
        zone = expected[row["zone_id"]]
        zone["plot_count"] += 1
        zone["plot_area"] += area
        zone[f"{row['status']}_count"] += 1
        if row["status"] == "available":
            zone["available"] += area
        if row["status"] in ("sold", "occupied"):
            zone["taken"] += area
    return dict(expected)


def assert_summary_matches(engine) -> None:
    expected = summary_from_plots(engine)
    with engine.connect() as conn:
        kept = {row["zone_id"]: row for row in conn.execute(text(
            "SELECT * FROM zone_summary")).mappings()}
    for zone_id, want in expected.items():
        got = kept[zone_id]
        assert got["plot_count"] == want["plot_count"], zone_id
        assert abs(float(got["plot_area_m2"]) - want["plot_area"]) < 0.01
        assert abs(float(got["available_area_m2"]) - want["available"]) < 0.01
        assert abs(got["occupancy_share"] - want["taken"] / want["plot_area"]) < 1e-9
        for status in STATUSES:
            assert got[f"{status}_count"] == want[f"{status}_count"], (zone_id, status)
    # A zone whose plots are all gone counts nothing.
    for zone_id in set(kept) - set(expected):
        assert kept[zone_id]["plot_count"] == 0 and float(kept[zone_id]["plot_area_m2"]) == 0
        assert kept[zone_id]["occupancy_share"] is None


def test_the_zone_summary_follows_inserts_updates_retirements_moves_and_deletes(fresh_engine):
    assert_summary_matches(fresh_engine)
    with fresh_engine.begin() as conn:
        zones = conn.execute(text("SELECT id FROM zone ORDER BY id LIMIT 2")).scalars().all()
        # Many plots at once, one statement: sold out of one zone's available ones.
        conn.execute(text("UPDATE plot SET status = 'sold' WHERE zone_id = :z AND status = 'available'"),
                     {"z": zones[0]})
        # A new plot: a copy of an existing one's shape, moved 5 km away.
        conn.execute(text("""
            INSERT INTO plot (zone_id, cadastral_ref, boundary, status)
            SELECT zone_id, 'TEST-NEW-1', ST_Translate(boundary, 5000, 5000), 'reserved'
            FROM plot WHERE zone_id = :z ORDER BY id LIMIT 1
        """), {"z": zones[1]})
        conn.execute(text("""
            UPDATE plot SET retired_at = now()
            WHERE id = (SELECT min(id) FROM plot WHERE zone_id = :z AND retired_at IS NULL)
        """), {"z": zones[1]})
        # A plot moved to the other zone (a correction), and one deleted outright.
        conn.execute(text("""
            UPDATE plot SET zone_id = :to
            WHERE id = (SELECT max(id) FROM plot WHERE zone_id = :from AND cadastral_ref <> 'TEST-NEW-1')
        """), {"to": zones[0], "from": zones[1]})
        conn.execute(text("DELETE FROM plot WHERE cadastral_ref = 'TEST-NEW-1'"))
        # An edit that touches no summarised column writes nothing to the summary.
        before = conn.execute(text("SELECT max(updated_at) FROM zone_summary")).scalar_one()
        conn.execute(text("UPDATE plot SET internal_note = 'checked' WHERE zone_id = :z"),
                     {"z": zones[1]})
    assert_summary_matches(fresh_engine)
    with fresh_engine.connect() as conn:
        assert conn.execute(text("SELECT max(updated_at) FROM zone_summary")).scalar_one() == before


def test_zone_tiles_carry_the_zones_plot_figures(fresh_engine):
    from api.app import create_app

    expected = summary_from_plots(fresh_engine)
    with fresh_engine.connect() as conn:
        zone_id, name, geom = conn.execute(text(
            "SELECT id, name, ST_AsBinary(boundary) FROM zone WHERE name = 'PC Hrastje'")).one()
    want = expected[zone_id]
    # The z11 tile under the zone's centre, worked out here from the XYZ scheme.
    centre = wkb.loads(bytes(geom)).centroid
    x_3857, y_3857 = Transformer.from_crs("EPSG:3035", "EPSG:3857", always_xy=True).transform(
        centre.x, centre.y)
    half, z = 20037508.342789244, 11
    size = 2 * half / (1 << z)
    x, y = int((x_3857 + half) // size), int((half - y_3857) // size)
    with TestClient(create_app(fresh_engine)) as client:
        tile = mapbox_vector_tile.decode(client.get(f"/tiles/zones/{z}/{x}/{y}.pbf").content)
    # Below the plot zoom a point per zone comes along with the outlines.
    assert set(tile) == {"zones", "zone_points"}
    for layer in ("zones", "zone_points"):
        feature = next(f for f in tile[layer]["features"] if f["id"] == zone_id)
        properties = feature["properties"]
        assert properties["name"] == name and properties["zone_id"] == zone_id
        assert properties["plot_count"] == want["plot_count"]
        assert abs(properties["available_area_m2"] - want["available"]) <= 0.5
        assert abs(properties["occupancy"] - want["taken"] / want["plot_area"]) < 1e-4
