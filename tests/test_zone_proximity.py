"""Each zone's kept distances (``zone_proximity``) equal a fresh computation against every
piece of infrastructure, after zones are drawn, redrawn and deleted and after infrastructure
is added, moved and removed; and the zone ranking by distance reads them."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, Engine, text

#: Each kept distance and the infrastructure it measures to, as the search's distances do.
KINDS = {
    "motorway_km": ["motorway_junction"],
    "rail_station_km": ["rail_station"],
    "rail_freight_km": ["rail_freight_terminal"],
    "airport_km": ["airport"],
    "public_transport_km": ["rail_station", "bus_stop"],
}


def fresh_distances(conn: Connection) -> dict[int, tuple]:
    """Every zone's distances worked out here: the least distance to any piece of each kind
    (no index, no nearest-neighbour search), in km."""
    columns = ", ".join(
        f"(SELECT min(ST_Distance(z.boundary, i.geom)) / 1000 FROM infrastructure i "
        f"WHERE i.kind = ANY (CAST(:{column} AS text[])))" for column in KINDS)
    return {row[0]: tuple(row[1:]) for row in conn.execute(
        text(f"SELECT z.id, {columns} FROM zone z"), KINDS)}


def kept_distances(conn: Connection) -> dict[int, tuple]:
    return {row[0]: tuple(row[1:]) for row in conn.execute(text(
        f"SELECT zone_id, {', '.join(KINDS)} FROM zone_proximity"))}


def assert_kept_equals_fresh(engine: Engine) -> None:
    with engine.connect() as conn:
        kept, fresh = kept_distances(conn), fresh_distances(conn)
    assert kept.keys() == fresh.keys()
    for zone_id, distances in fresh.items():
        assert kept[zone_id] == pytest.approx(distances, abs=1e-9), zone_id


def _far_corner(conn: Connection, zone_id: int) -> tuple[float, float]:
    """A point 300 m beyond the zone's outline, away from everything else of the zone."""
    return conn.execute(text(
        "SELECT ST_XMax(boundary) + 300, ST_YMax(boundary) + 300 FROM zone WHERE id = :z"),
        {"z": zone_id}).one()


def test_kept_zone_distances_follow_zones_and_infrastructure(fresh_engine: Engine) -> None:
    assert_kept_equals_fresh(fresh_engine)
    with fresh_engine.begin() as conn:
        zone_id = conn.execute(text("SELECT min(id) FROM zone")).scalar_one()
        before = kept_distances(conn)[zone_id]
        x, y = _far_corner(conn, zone_id)
        # A junction just beyond the zone's corner: its nearest now, some hundred metres away.
        conn.execute(text(
            "INSERT INTO infrastructure (kind, name, geom) VALUES "
            "('motorway_junction', 'Test junction', ST_SetSRID(ST_MakePoint(:x, :y), 3035)), "
            "('bus_stop', 'Test stop', ST_SetSRID(ST_MakePoint(:x, :y), 3035))"),
            {"x": x, "y": y})
        after = kept_distances(conn)[zone_id]
        to_new = conn.execute(text(
            "SELECT ST_Distance(z.boundary, i.geom) / 1000 FROM zone z, infrastructure i "
            "WHERE z.id = :z AND i.name = 'Test junction'"), {"z": zone_id}).scalar_one()
    # The new junction is the zone's nearest now.
    assert to_new < before[0] and after[0] == pytest.approx(to_new)
    assert after[4] <= before[4]
    assert_kept_equals_fresh(fresh_engine)

    with fresh_engine.begin() as conn:
        # Moved 50 km away: the zone's nearest junction is another again.
        conn.execute(text(
            "UPDATE infrastructure SET geom = ST_Translate(geom, 50000, 50000) "
            "WHERE name = 'Test junction'"))
    assert_kept_equals_fresh(fresh_engine)
    with fresh_engine.begin() as conn:
        conn.execute(text("DELETE FROM infrastructure WHERE name IN ('Test junction', 'Test stop')"))
        assert kept_distances(conn)[zone_id] == pytest.approx(before)
    assert_kept_equals_fresh(fresh_engine)

    with fresh_engine.begin() as conn:
        # The zone redrawn 20 km east, another drawn anew.
        conn.execute(text("UPDATE zone SET boundary = ST_Translate(boundary, 20000, 0) "
                          "WHERE id = :z"), {"z": zone_id})
        assert kept_distances(conn)[zone_id] != pytest.approx(before)
        new_zone = conn.execute(text("""
            INSERT INTO zone (municipality_id, name, kind, lifecycle, boundary)
            SELECT municipality_id, 'Drawn for the test', kind, lifecycle,
                   ST_Translate(boundary, 0, 3000)
            FROM zone WHERE id = :z RETURNING id"""), {"z": zone_id}).scalar_one()
        assert new_zone in kept_distances(conn)
    assert_kept_equals_fresh(fresh_engine)
    with fresh_engine.begin() as conn:
        # A zone deleted takes its distances along.
        conn.execute(text("DELETE FROM zone WHERE id = :z"), {"z": new_zone})
        assert new_zone not in kept_distances(conn)
    assert_kept_equals_fresh(fresh_engine)


def test_zones_by_distance_come_in_the_order_of_the_fresh_distances(client, engine) -> None:
    with engine.connect() as conn:
        fresh = fresh_distances(conn)
    features = client.get("/zones", params={"sort": "motorway", "limit": 1000}).json()[
        "features"]
    assert len(features) == len(fresh)
    nearest = [fresh[feature["id"]][0] for feature in features]
    assert nearest == sorted(nearest)
    for feature in features:
        assert feature["properties"]["motorway_km"] == pytest.approx(
            fresh[feature["id"]][0], abs=0.006)
