"""Plot tiles as a map draws them: outlines snapped onto the tile grid equal ST_AsMVTGeom's,
and a kept dense tile is served only while it equals the tile made afresh, whatever
changed its plots and however."""

from __future__ import annotations

import itertools

import mapbox_vector_tile
import pytest
import shapely
from sqlalchemy import text

from locations import tiles
from tests.test_tiles import plots_3857, tile_of

HRASTJE = "PC Hrastje"

# The outlines as every plot tile drew them before: ST_AsMVTGeom for each plot.
_REFERENCE_SQL = f"""
    SELECT ST_AsMVT(t, 'plots', {tiles.EXTENT}, 'geom', 'id') FROM (
        SELECT p.id, p.id AS plot_id, p.status,
               ST_AsMVTGeom(p.boundary_3857, ST_TileEnvelope(:z, :x, :y), {tiles.EXTENT},
                            {tiles.BUFFER}, true) AS geom
        FROM plot p
        WHERE p.boundary && ST_Transform(ST_TileEnvelope(:z, :x, :y,
                                             margin => {tiles.BUFFER / tiles.EXTENT}), 3035)
          AND p.retired_at IS NULL
    ) t
"""


def features(content: bytes) -> dict[int, dict]:
    """The plots layer's features by id: status and decoded shape (tile units)."""
    layer = mapbox_vector_tile.decode(content).get("plots", {"features": []})
    return {f["id"]: {"properties": f["properties"],
                      "shape": shapely.geometry.shape(f["geometry"])}
            for f in layer["features"]}


def exterior_rings(content: bytes) -> list[list]:
    """Each polygon's first ring as encoded, in tile units with y pointing down."""
    layer = mapbox_vector_tile.decode(content, default_options={"y_coord_down": True})
    rings = []
    for feature in layer.get("plots", {"features": []})["features"]:
        geometry = feature["geometry"]
        polygons = ([geometry["coordinates"]] if geometry["type"] == "Polygon"
                    else geometry["coordinates"])
        rings += [polygon[0] for polygon in polygons]
    return rings


def surveyors_area(ring: list) -> float:
    return sum(a[0] * b[1] - b[0] * a[1] for a, b in itertools.pairwise(ring)) / 2


def same_drawing(ours: bytes, reference: bytes) -> None:
    # MVT 2.1, 4.3.4.4: an exterior ring has a positive area by the surveyor's formula in
    # tile coordinates; a client reads a ring wound the other way as a hole.
    assert all(surveyors_area(ring) > 0 for ring in exterior_rings(reference))
    assert all(surveyors_area(ring) > 0 for ring in exterior_rings(ours))
    mine, theirs = features(ours), features(reference)
    assert set(mine) == set(theirs)
    for plot_id, feature in theirs.items():
        assert mine[plot_id]["properties"] == feature["properties"]
        drawn, expected = mine[plot_id]["shape"], feature["shape"]
        # The same area on the same grid: a ring read as a hole (wrong winding) or a plot
        # moved by a unit would differ by far more than nothing.
        assert drawn.is_valid
        assert drawn.symmetric_difference(expected).area == pytest.approx(0, abs=1e-6)
        assert drawn.area == pytest.approx(expected.area)


@pytest.fixture(scope="module")
def hrastje_centre(engine):
    plots = plots_3857(engine, HRASTJE)
    return shapely.union_all([p["geometry"] for p in plots.values()]).centroid


@pytest.mark.parametrize("z", [13, 14, 15, 16, 17])
def test_outlines_snapped_onto_the_grid_draw_as_st_asmvtgeom_draws_them(engine, hrastje_centre, z):
    # Around the zone's centre and at the tile beside it: plots wholly inside and plots
    # across the tile's edge (cut by ST_AsMVTGeom) alike.
    x, y = tile_of(hrastje_centre.x, hrastje_centre.y, z)
    with engine.connect() as conn:
        for dx in (0, 1):
            params = {"z": z, "x": x + dx, "y": y}
            reference = conn.execute(text(_REFERENCE_SQL), params).scalar_one()
            ours = tiles.plot_tile(conn, z, x + dx, y, kept=False).content
            if dx == 0:
                assert features(ours), "the tile lies over the zone's plots"
            same_drawing(ours, bytes(reference or b""))


@pytest.fixture
def keep_every_tile(monkeypatch):
    """The demo's tiles hold a few dozen plots: keep every one."""
    monkeypatch.setattr(tiles, "KEEP_FROM_PLOTS", 1)


def kept_rows(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM plot_tile_cache")).scalar_one()


def test_a_kept_tile_is_served_while_its_plots_are_as_they_were(
        fresh_client, fresh_engine, hrastje_centre, keep_every_tile):
    x, y = tile_of(hrastje_centre.x, hrastje_centre.y, 14)
    url = f"/tiles/plots/14/{x}/{y}.pbf"
    first = fresh_client.get(url)
    assert first.status_code == 200
    assert kept_rows(fresh_engine) == 1
    # Served from what was kept: a mark put into the kept tile comes back.
    with fresh_engine.begin() as conn:
        conn.execute(text("UPDATE plot_tile_cache SET content = content || '\\x0000'::bytea"))
    assert fresh_client.get(url).content == first.content + b"\x00\x00"
    # Made by other code (a new release), it is made anew.
    with fresh_engine.begin() as conn:
        conn.execute(text("UPDATE plot_tile_cache SET code = 'before'"))
    assert fresh_client.get(url).content == first.content


def test_tiles_past_the_kept_zooms_are_made_afresh(
        fresh_client, fresh_engine, hrastje_centre, keep_every_tile):
    z = tiles.KEEP_MAX_ZOOM + 1
    x, y = tile_of(hrastje_centre.x, hrastje_centre.y, z)
    assert features(fresh_client.get(f"/tiles/plots/{z}/{x}/{y}.pbf").content)
    assert kept_rows(fresh_engine) == 0


def test_a_changed_plot_shows_in_its_kept_tile_at_once(
        fresh_client, fresh_engine, hrastje_centre, keep_every_tile):
    """Every kind of change, written as plain SQL (no trigger, no API to tell the tiles):
    the tile served is the one made afresh, and shows the change."""
    z = 14
    x, y = tile_of(hrastje_centre.x, hrastje_centre.y, z)
    url = f"/tiles/plots/{z}/{x}/{y}.pbf"

    def served() -> dict[int, dict]:
        answer = fresh_client.get(url)
        assert answer.status_code == 200
        with fresh_engine.connect() as conn:
            assert answer.content == tiles.plot_tile(conn, z, x, y, kept=False).content
        return features(answer.content)

    before = served()
    assert kept_rows(fresh_engine) == 1
    with fresh_engine.connect() as conn:
        inside = conn.execute(text("""
            SELECT p.id FROM plot p
            WHERE p.boundary_3857 @ ST_TileEnvelope(:z, :x, :y) AND p.retired_at IS NULL
            ORDER BY p.id LIMIT 3"""), {"z": z, "x": x, "y": y}).scalars().all()
    changed, moved, retired = inside
    assert set(inside) <= set(before)

    def change(sql: str, **params) -> dict[int, dict]:
        with fresh_engine.begin() as conn:
            conn.execute(text(sql), params)
        return served()

    new_status = "sold" if before[changed]["properties"]["status"] != "sold" else "reserved"
    after = change("UPDATE plot SET status = :s WHERE id = :id", s=new_status, id=changed)
    assert after[changed]["properties"]["status"] == new_status

    # A new outline (half the plot): drawn as it is now.
    old_area = after[moved]["shape"].area
    after = change("""UPDATE plot SET boundary = ST_Multi(ST_Intersection(boundary,
                          ST_Expand(ST_PointOnSurface(boundary), 15))) WHERE id = :id""", id=moved)
    assert after[moved]["shape"].area < old_area * 0.9

    after = change("UPDATE plot SET retired_at = now() WHERE id = :id", id=retired)
    assert retired not in after

    # A plot added inside the tile, then moved far away, then deleted.
    with fresh_engine.begin() as conn:
        added = conn.execute(text("""
            INSERT INTO plot (zone_id, cadastral_ref, boundary, area_m2, boundary_3857)
            SELECT zone_id, 'TILE-KEPT-1', ST_Multi(ST_Buffer(ST_PointOnSurface(boundary), 5, 1)),
                   1, ST_GeomFromText('MULTIPOLYGON EMPTY', 3857)
            FROM plot WHERE id = :id RETURNING id"""), {"id": retired}).scalar_one()
    assert added in served()
    after = change("UPDATE plot SET boundary = ST_Translate(boundary, 20000, 0) WHERE id = :id",
                   id=added)
    assert added not in after
    change("UPDATE plot SET boundary = ST_Translate(boundary, -20000, 0) WHERE id = :id",
           id=added)
    with fresh_engine.begin() as conn:
        conn.execute(text("DELETE FROM plot_event WHERE plot_id = :id"), {"id": added})
    after = change("DELETE FROM plot WHERE id = :id", id=added)
    assert added not in after
    assert set(after) == set(before) - {retired}


def test_a_reader_that_may_not_write_is_served_without_keeping(
        fresh_engine, hrastje_centre, keep_every_tile):
    # As on a hot standby: the tile is made and served, and nothing is kept.
    x, y = tile_of(hrastje_centre.x, hrastje_centre.y, 14)
    with fresh_engine.connect() as conn:
        driver = conn.connection.dbapi_connection
        driver.autocommit = True
        conn.exec_driver_sql("SET default_transaction_read_only = on")
        tile = tiles.plot_tile(conn, 14, x, y)
        assert features(tile.content)
        conn.exec_driver_sql("SET default_transaction_read_only = off")
        driver.autocommit = False
    assert kept_rows(fresh_engine) == 0
