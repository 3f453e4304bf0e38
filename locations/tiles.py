"""Vector tiles (Mapbox Vector Tile, EPSG:3857) of plots and zones, built by ST_AsMVT in PostGIS.

A tile drawing every plot it touches is cheap at street zoom (a few hundred
plots) but at region zoom one tile touches tens of thousands of plots and the
encoding alone takes hundreds of milliseconds at a million plots. So below
``PLOT_MIN_ZOOM`` the plots tile carries the zones instead (layer ``zones``):
the zone outlines are what a person can see at that scale anyway, and there
are a few hundred times fewer of them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import Connection, text

from locations.errors import InvalidInput

#: From this zoom on, the plots tile holds single plots; below it, the zones.
PLOT_MIN_ZOOM = 13
#: Deepest zoom served: a z22 tile is about 10 m wide, finer than any plot edge.
MAX_ZOOM = 22
#: MVT extent (coordinate units across a tile) and the buffer around it, in those units.
EXTENT = 4096
BUFFER = 64
#: Browsers and caches may keep a tile this long before asking again (ETag makes that cheap).
CACHE_SECONDS = 300


@dataclass(frozen=True)
class Tile:
    """An encoded tile with the validator a cache needs."""

    content: bytes
    etag: str
    layer: str


def check_tile(z: int, x: int, y: int) -> None:
    """Refuse a tile address outside the pyramid.

    Raises:
        InvalidInput: ``z`` outside 0..MAX_ZOOM or ``x``/``y`` outside 0..2^z-1.
    """
    if not 0 <= z <= MAX_ZOOM:
        raise InvalidInput("z", f"zoom must be between 0 and {MAX_ZOOM}, got {z}")
    size = 1 << z
    for name, value in (("x", x), ("y", y)):
        if not 0 <= value < size:
            raise InvalidInput(name, f"must be between 0 and {size - 1} at zoom {z}, got {value}")


# The tile's envelope in 3857 for ST_AsMVTGeom, and the same box (with the buffer)
# in the storage CRS so the GiST index on the 3035 boundary does the filtering.
_BOUNDS = f"""
    WITH bounds AS (
        SELECT ST_TileEnvelope(:z, :x, :y) AS tile,
               ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => {BUFFER / EXTENT}), 3035) AS box
    )
"""

_ZONES_SQL = _BOUNDS + f"""
    SELECT ST_AsMVT(t, 'zones', {EXTENT}, 'geom', 'id') FROM (
        SELECT z.id, z.name, z.kind, z.lifecycle,
               ST_AsMVTGeom(ST_Transform(z.boundary, 3857), b.tile, {EXTENT}, {BUFFER}, true)
                   AS geom
        FROM zone z, bounds b
        WHERE z.boundary && b.box
    ) t
"""

_PLOTS_SQL = _BOUNDS + f"""
    SELECT ST_AsMVT(t, 'plots', {EXTENT}, 'geom', 'id') FROM (
        SELECT p.id, p.status, p.zone_id, p.cadastral_ref,
               round(p.area_m2)::integer AS area_m2,
               ST_AsMVTGeom(ST_Transform(p.boundary, 3857), b.tile, {EXTENT}, {BUFFER}, true)
                   AS geom
        FROM plot p, bounds b
        WHERE p.boundary && b.box AND p.retired_at IS NULL
    ) t
"""

# The same with the plot's current score for one profile (view from the scoring feature).
_PLOTS_SCORED_SQL = _BOUNDS + f"""
    SELECT ST_AsMVT(t, 'plots', {EXTENT}, 'geom', 'id') FROM (
        SELECT p.id, p.status, p.zone_id, p.cadastral_ref,
               round(p.area_m2)::integer AS area_m2,
               round(s.total::numeric, 1)::float AS score,
               ST_AsMVTGeom(ST_Transform(p.boundary, 3857), b.tile, {EXTENT}, {BUFFER}, true)
                   AS geom
        FROM plot p
        CROSS JOIN bounds b
        LEFT JOIN current_plot_score s ON s.plot_id = p.id AND s.profile = :profile
        WHERE p.boundary && b.box AND p.retired_at IS NULL
    ) t
"""


def scores_available(conn: Connection) -> bool:
    """Whether the scoring feature's ``current_plot_score`` view exists in this database."""
    return conn.execute(text("SELECT to_regclass('current_plot_score') IS NOT NULL")).scalar_one()


def _tile(conn: Connection, sql: str, params: dict, layer: str) -> Tile:
    content = bytes(conn.execute(text(sql), params).scalar_one() or b"")
    # A strong validator from the bytes themselves: any change to a plot changes it,
    # and any worker computes the same one without shared state.
    etag = '"' + hashlib.blake2b(content, digest_size=12).hexdigest() + '"'
    return Tile(content=content, etag=etag, layer=layer)


def zone_tile(conn: Connection, z: int, x: int, y: int) -> Tile:
    """The zones touching tile z/x/y (layer ``zones``: id, name, kind, lifecycle).

    Raises:
        InvalidInput: the tile address is outside the pyramid.
    """
    check_tile(z, x, y)
    return _tile(conn, _ZONES_SQL, {"z": z, "x": x, "y": y}, "zones")


def plot_tile(conn: Connection, z: int, x: int, y: int, profile: str | None = None) -> Tile:
    """The plots touching tile z/x/y (layer ``plots``), or below PLOT_MIN_ZOOM the zones.

    Plot features carry ``id``, ``status``, ``zone_id``, ``cadastral_ref``,
    ``area_m2`` and, when ``profile`` is given and scores exist, ``score``.

    Raises:
        InvalidInput: the tile address is outside the pyramid, or a profile is asked
            for where no scores exist.
    """
    check_tile(z, x, y)
    params = {"z": z, "x": x, "y": y}
    if z < PLOT_MIN_ZOOM:
        return _tile(conn, _ZONES_SQL, params, "zones")
    if profile:
        if not scores_available(conn):
            raise InvalidInput("profile", "no scores have been computed in this database")
        return _tile(conn, _PLOTS_SCORED_SQL, {**params, "profile": profile}, "plots")
    return _tile(conn, _PLOTS_SQL, params, "plots")
