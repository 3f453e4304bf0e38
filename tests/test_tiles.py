"""Vector tiles of plots and zones: decoded with mapbox-vector-tile and checked against the plots themselves."""

from __future__ import annotations

import math

import mapbox_vector_tile
import numpy as np
import pytest
import shapely
from pyproj import Transformer
from shapely import wkb
from shapely.geometry import box
from sqlalchemy import text

TO_3857 = Transformer.from_crs("EPSG:3035", "EPSG:3857", always_xy=True)
HALF_WORLD = 20037508.342789244
EXTENT = 4096


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """The tile's box in EPSG:3857 metres, computed here from the XYZ scheme."""
    size = 2 * HALF_WORLD / (1 << z)
    return (-HALF_WORLD + x * size, HALF_WORLD - (y + 1) * size,
            -HALF_WORLD + (x + 1) * size, HALF_WORLD - y * size)


def tile_of(x_3857: float, y_3857: float, z: int) -> tuple[int, int]:
    size = 2 * HALF_WORLD / (1 << z)
    return int((x_3857 + HALF_WORLD) // size), int((HALF_WORLD - y_3857) // size)


def plots_3857(engine, zone_name: str) -> dict[int, dict]:
    """The zone's plots straight from the table, moved to 3857 here with pyproj."""
    with engine.connect() as conn:
        rows = conn.execute(text("""
            SELECT p.id, p.status, p.cadastral_ref, ST_AsBinary(p.boundary) AS geom
            FROM plot p JOIN zone z ON z.id = p.zone_id
            WHERE z.name = :name AND p.retired_at IS NULL
        """), {"name": zone_name}).mappings().all()
    assert rows, f"the demo has plots in {zone_name}"
    return {
        row["id"]: {"status": row["status"], "cadastral_ref": row["cadastral_ref"],
                    "geometry": shapely.transform(wkb.loads(bytes(row["geom"])),
                                                  lambda xy: np.column_stack(
                                                      TO_3857.transform(xy[:, 0], xy[:, 1])))}
        for row in rows
    }


def to_3857(geometry_tile, bounds) -> shapely.Geometry:
    """A decoded tile geometry (tile units, y up) back to EPSG:3857 metres."""
    minx, miny, maxx, maxy = bounds
    shape = shapely.geometry.shape(geometry_tile)
    return shapely.transform(shape, lambda xy: np.column_stack((
        minx + xy[:, 0] / EXTENT * (maxx - minx), miny + xy[:, 1] / EXTENT * (maxy - miny))))


@pytest.fixture(scope="module")
def hrastje(engine):
    plots = plots_3857(engine, "PC Hrastje")
    union = shapely.union_all([p["geometry"] for p in plots.values()])
    return plots, union


def test_a_z16_tile_holds_the_plots_it_covers_with_their_status_and_shape(client, hrastje):
    plots, union = hrastje
    centre = union.centroid
    z = 16
    x, y = tile_of(centre.x, centre.y, z)
    response = client.get(f"/tiles/plots/{z}/{x}/{y}.pbf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    tile = mapbox_vector_tile.decode(response.content)
    assert list(tile) == ["plots"]
    features = {f["id"]: f for f in tile["plots"]["features"]}

    bounds = tile_bounds(z, x, y)
    tile_box = box(*bounds)
    buffered = tile_box.buffer((bounds[2] - bounds[0]) * 64 / EXTENT, join_style="mitre")
    inside = {pid for pid, p in plots.items() if tile_box.contains(p["geometry"])}
    touching = {pid for pid, p in plots.items() if buffered.intersects(p["geometry"])}
    assert inside, "the chosen tile lies inside the zone"
    assert inside <= set(features)
    # Of this zone's plots, only those reaching into the tile (or its buffer) are drawn.
    assert (set(features) & set(plots)) <= touching
    for pid in inside:
        feature = features[pid]
        assert feature["properties"]["status"] == plots[pid]["status"]
        # Only what drawing needs: the popup asks the API for the rest.
        assert feature["properties"] == {"plot_id": pid, "status": plots[pid]["status"]}
        drawn = to_3857(feature["geometry"], bounds)
        expected = plots[pid]["geometry"]
        # Tile coordinates are rounded to 1/4096 of the tile (about 1 cm at z16).
        overlap = drawn.intersection(expected).area / drawn.union(expected).area
        assert overlap > 0.98


def test_below_zoom_13_the_plot_tile_carries_the_zones_not_single_plots(client, engine, hrastje):
    _, union = hrastje
    centre = union.centroid
    for z in (8, 10, 12):
        x, y = tile_of(centre.x, centre.y, z)
        response = client.get(f"/tiles/plots/{z}/{x}/{y}.pbf")
        assert response.status_code == 200
        tile = mapbox_vector_tile.decode(response.content)
        assert list(tile) == ["zones"]
        names = {f["properties"]["name"] for f in tile["zones"]["features"]}
        assert "PC Hrastje" in names


def test_zone_tiles_name_every_zone_they_touch(client, engine):
    with engine.connect() as conn:
        zones = conn.execute(text(
            "SELECT id, name, ST_AsBinary(boundary) AS geom FROM zone")).mappings().all()
    z = 9
    geometries = {
        row["id"]: shapely.transform(wkb.loads(bytes(row["geom"])), lambda xy: np.column_stack(TO_3857.transform(xy[:, 0], xy[:, 1])))
        for row in zones
    }
    hrastje = next(row["id"] for row in zones if row["name"] == "PC Hrastje")
    centre = geometries[hrastje].centroid
    x, y = tile_of(centre.x, centre.y, z)
    tile = mapbox_vector_tile.decode(client.get(f"/tiles/zones/{z}/{x}/{y}.pbf").content)
    drawn = {f["id"] for f in tile["zones"]["features"]}
    tile_box = box(*tile_bounds(z, x, y))
    expected = {zid for zid, g in geometries.items() if tile_box.contains(g)}
    assert expected and expected <= drawn
    far_away = {zid for zid, g in geometries.items()
                if g.distance(tile_box) > (tile_box.bounds[2] - tile_box.bounds[0]) * 0.1}
    assert not drawn & far_away


def test_tiles_revalidate_with_etag_and_say_how_long_to_cache(client, hrastje):
    _, union = hrastje
    x, y = tile_of(union.centroid.x, union.centroid.y, 15)
    url = f"/tiles/plots/15/{x}/{y}.pbf"
    first = client.get(url)
    etag = first.headers["etag"]
    assert "max-age=" in first.headers["cache-control"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    other = client.get(url, headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.content == first.content


def test_a_tile_with_nothing_in_it_is_empty_not_an_error(client):
    # The middle of the Atlantic at z14: a tile with its layer and no features, not zero
    # bytes, which GDAL and other clients cannot open (tests/test_ogc.py opens it with GDAL).
    response = client.get("/tiles/plots/14/6000/6000.pbf")
    assert response.status_code == 200
    assert response.content
    tile = mapbox_vector_tile.decode(response.content)
    assert {name: layer["features"] for name, layer in tile.items()} == {"plots": []}
    zones = mapbox_vector_tile.decode(client.get("/tiles/zones/8/10/10.pbf").content)
    assert {name: layer["features"] for name, layer in zones.items()} == {
        "zones": [], "zone_points": []}


@pytest.mark.parametrize("path, field", [
    ("/tiles/plots/3/8/0.pbf", "x"),
    ("/tiles/plots/3/0/8.pbf", "y"),
    ("/tiles/zones/23/0/0.pbf", "z"),
    ("/tiles/plots/-1/0/0.pbf", "z"),
])
def test_tile_addresses_outside_the_pyramid_are_refused_naming_the_part(client, path, field):
    response = client.get(path)
    assert response.status_code == 400
    assert response.json()["field"] == field


def test_a_tile_address_that_is_no_number_is_a_422(client):
    response = client.get("/tiles/plots/a/0/0.pbf")
    assert response.status_code == 422
    assert "z" in response.json()["detail"]


def test_a_profile_without_any_scores_is_refused(client, engine):
    with engine.connect() as conn:
        has_scores = conn.execute(text("SELECT to_regclass('current_plot_score') IS NOT NULL")).scalar()
    response = client.get("/tiles/plots/14/8847/5813.pbf", params={"profile": "no-such-profile"})
    if has_scores:
        # Where scoring exists, an unknown profile simply scores nothing.
        tile = mapbox_vector_tile.decode(response.content)
        assert response.status_code == 200
        assert all(f["properties"].get("score") is None for f in tile.get("plots", {}).get("features", []))
    else:
        assert response.status_code == 400
        assert response.json()["field"] == "profile"


def test_tile_math_here_matches_the_slippy_map_scheme():
    # Guard the test's own helper: Kranj lies in z10 tile 552/363 of the XYZ scheme.
    lon, lat = 14.3556, 46.2389
    x = int((lon + 180) / 360 * 1024)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * 1024)
    px, py = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True).transform(lon, lat)
    assert tile_of(px, py, 10) == (x, y)
