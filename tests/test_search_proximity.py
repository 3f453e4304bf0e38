"""plot_proximity: distances to the nearest infrastructure, kept current by the triggers."""

from __future__ import annotations

import pytest
import shapely
from sqlalchemy import Engine, text

from locations.proximity import refresh_proximity

ZONE = (4_700_000, 2_600_000, 4_702_000, 2_602_000)  # a 2 km square zone, EPSG:3035


@pytest.fixture
def zone_id(empty_engine: Engine) -> int:
    with empty_engine.begin() as conn:
        region = conn.execute(text(
            "INSERT INTO region (code, name, country) VALUES ('SI042', 'Gorenjska', 'SI') RETURNING id"
        )).scalar_one()
        municipality = conn.execute(text(
            "INSERT INTO municipality (code, name, region_id, country) "
            "VALUES ('052', 'Kranj', :r, 'SI') RETURNING id"), {"r": region}).scalar_one()
        return conn.execute(text(
            "INSERT INTO zone (municipality_id, name, kind, boundary) VALUES "
            "(:m, 'Zone', 'industrial', ST_Multi(ST_MakeEnvelope(:x0, :y0, :x1, :y1, 3035))) "
            "RETURNING id"), {"m": municipality, "x0": ZONE[0], "y0": ZONE[1], "x1": ZONE[2],
                              "y1": ZONE[3]}).scalar_one()


def add_infrastructure(conn, kind: str, name: str, x: float, y: float) -> shapely.Point:
    conn.execute(text("INSERT INTO infrastructure (kind, name, geom) "
                      "VALUES (:k, :n, ST_SetSRID(ST_MakePoint(:x, :y), 3035))"),
                 {"k": kind, "n": name, "x": x, "y": y})
    return shapely.Point(x, y)


def square(x: float, y: float, side: float = 100) -> shapely.Polygon:
    return shapely.box(x, y, x + side, y + side)


def distances(engine: Engine) -> dict[int, dict]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM plot_proximity")).mappings().all()
    return {row["plot_id"]: dict(row) for row in rows}


def test_inserted_plots_get_their_distances_in_the_same_statement(empty_engine, zone_id):
    with empty_engine.begin() as conn:
        motorway = add_infrastructure(conn, "motorway_junction", "A2 Kranj", 4_705_000, 2_601_000)
        airport = add_infrastructure(conn, "airport", "Brnik", 4_690_000, 2_590_000)
        station = add_infrastructure(conn, "rail_station", "Kranj", 4_701_000, 2_603_500)
        bus = add_infrastructure(conn, "bus_stop", "Hrastje", 4_700_500, 2_599_800)
    shapes = [square(4_700_100 + 300 * i, 2_600_100 + 200 * i) for i in range(5)]
    with empty_engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO plot (zone_id, cadastral_ref, boundary) "
            "SELECT :z, 'ref-' || n, ST_Multi(ST_GeomFromText(wkt, 3035)) "
            "FROM unnest(CAST(:wkts AS text[])) WITH ORDINALITY AS t(wkt, n)"),
            {"z": zone_id, "wkts": [s.wkt for s in shapes]})
        ids = conn.execute(text("SELECT id FROM plot ORDER BY cadastral_ref")).scalars().all()
    found = distances(empty_engine)
    assert set(found) == set(ids)
    for plot_id, shape in zip(ids, shapes):
        row = found[plot_id]
        assert row["motorway_km"] == pytest.approx(shape.distance(motorway) / 1000, abs=1e-6)
        assert row["airport_km"] == pytest.approx(shape.distance(airport) / 1000, abs=1e-6)
        assert row["rail_station_km"] == pytest.approx(shape.distance(station) / 1000, abs=1e-6)
        assert row["public_transport_km"] == pytest.approx(
            min(shape.distance(station), shape.distance(bus)) / 1000, abs=1e-6)
        assert row["rail_freight_km"] is None  # there is no freight terminal at all


def test_a_moved_plot_is_recomputed_and_a_status_change_costs_nothing(empty_engine, zone_id):
    with empty_engine.begin() as conn:
        motorway = add_infrastructure(conn, "motorway_junction", "A2", 4_703_000, 2_600_000)
        conn.execute(text("INSERT INTO plot (zone_id, cadastral_ref, boundary) VALUES "
                          "(:z, 'a', ST_Multi(ST_GeomFromText(:w, 3035)))"),
                     {"z": zone_id, "w": square(4_700_000, 2_600_000).wkt})
    before = distances(empty_engine)
    (plot_id,) = before
    with empty_engine.begin() as conn:
        conn.execute(text("UPDATE plot SET status = 'reserved' WHERE id = :i"), {"i": plot_id})
    assert distances(empty_engine)[plot_id]["computed_at"] == before[plot_id]["computed_at"]
    moved = square(4_701_500, 2_601_500)
    with empty_engine.begin() as conn:
        conn.execute(text("UPDATE plot SET boundary = ST_Multi(ST_GeomFromText(:w, 3035)) "
                          "WHERE id = :i"), {"w": moved.wkt, "i": plot_id})
    assert distances(empty_engine)[plot_id]["motorway_km"] == pytest.approx(
        moved.distance(motorway) / 1000, abs=1e-6)


def test_new_infrastructure_updates_every_plot_and_deleted_plots_leave(empty_engine, zone_id):
    with empty_engine.begin() as conn:
        add_infrastructure(conn, "airport", "Far away", 4_800_000, 2_700_000)
        conn.execute(text(
            "INSERT INTO plot (zone_id, cadastral_ref, boundary) SELECT :z, 'p' || g, "
            "ST_Multi(ST_MakeEnvelope(4700000 + g * 200, 2600000, 4700100 + g * 200, 2600100, 3035)) "
            "FROM generate_series(0, 4) g"), {"z": zone_id})
    near = shapely.Point(4_700_050, 2_599_000)
    with empty_engine.begin() as conn:
        add_infrastructure(conn, "airport", "Near", near.x, near.y)
        shapes = {row.id: shapely.from_wkb(bytes(row.wkb)) for row in conn.execute(text(
            "SELECT id, ST_AsBinary(boundary) AS wkb FROM plot"))}
    found = distances(empty_engine)
    for plot_id, shape in shapes.items():
        assert found[plot_id]["airport_km"] == pytest.approx(shape.distance(near) / 1000, abs=1e-6)
    with empty_engine.begin() as conn:
        conn.execute(text("DELETE FROM plot WHERE id = :i"), {"i": min(shapes)})
    assert min(shapes) not in distances(empty_engine)


def test_refresh_repairs_lost_rows(empty_engine, zone_id):
    with empty_engine.begin() as conn:
        add_infrastructure(conn, "motorway_junction", "A9", 4_700_000, 2_590_000)
        conn.execute(text(
            "INSERT INTO plot (zone_id, cadastral_ref, boundary) SELECT :z, 'p' || g, "
            "ST_Multi(ST_MakeEnvelope(4700000 + g * 200, 2600000, 4700100 + g * 200, 2600100, 3035)) "
            "FROM generate_series(0, 2) g"), {"z": zone_id})
        conn.execute(text("DELETE FROM plot_proximity"))
        assert refresh_proximity(conn) == 3
        conn.execute(text("DELETE FROM plot_proximity"))
        some = conn.execute(text("SELECT min(id) FROM plot")).scalar_one()
        assert refresh_proximity(conn, [some]) == 1
    assert list(distances(empty_engine)) == [some]
    assert distances(empty_engine)[some]["motorway_km"] == pytest.approx(10.0, abs=1e-6)
