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

from locations import current_scores
from locations.db import NO_PARALLEL_WORKERS, fetch_rows
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

# ST_AsMVT moves the id column into the feature id, which VectorGrid does not hand to event
# handlers: the id is repeated as a property (zone_id, plot_id) for the popups' links.
# What a zone tile feature says about its zone: enough for a popup and for colouring the
# zone by a measure in the browser. Plot figures come from the kept ``zone_summary``
# (migration 0007), so a tile never aggregates plots.
_ZONE_PROPERTIES = """
    z.id, z.id AS zone_id, z.name, z.kind, z.lifecycle, m.name AS municipality, r.code AS region,
    round(z.area_m2)::integer AS area_m2, z.power_mw, z.last_verified::text AS last_verified,
    coalesce(s.plot_count, 0) AS plot_count,
    round(coalesce(s.available_area_m2, 0))::integer AS available_area_m2,
    round(s.occupancy_share::numeric, 4)::float AS occupancy
"""
_ZONE_JOINS = """
    JOIN municipality m ON m.id = z.municipality_id
    JOIN region r ON r.id = m.region_id
    LEFT JOIN zone_summary s ON s.zone_id = z.id
"""
# A zone's score for a profile: the mean from the latest finished run of that profile.
_ZONE_SCORE_JOIN = """
    LEFT JOIN LATERAL (
        SELECT round(zs.mean_total::numeric, 1)::float AS score
        FROM zone_score zs JOIN score_run sr ON sr.id = zs.run_id
        WHERE zs.zone_id = z.id AND sr.profile = :profile AND sr.status = 'finished'
        ORDER BY sr.finished_at DESC, sr.id DESC LIMIT 1
    ) sc ON true
"""


def _zones_sql(points: bool, scored: bool) -> str:
    """ST_AsMVT of the zones in the tile (layer ``zones``) and, with ``points``, a point inside
    each (layer ``zone_points``) so zones a few pixels wide stay visible and clickable."""
    score_column = ", sc.score" if scored else ""
    score_join = _ZONE_SCORE_JOIN if scored else ""
    layers = [f"""
        (SELECT ST_AsMVT(t, 'zones', {EXTENT}, 'geom', 'id') FROM (
            SELECT {_ZONE_PROPERTIES}{score_column},
                   ST_AsMVTGeom(ST_Transform(z.boundary, 3857), b.tile, {EXTENT}, {BUFFER}, true)
                       AS geom
            FROM zone z CROSS JOIN bounds b {_ZONE_JOINS} {score_join}
            WHERE z.boundary && b.box
        ) t)"""]
    if points:
        layers.append(f"""
        (SELECT ST_AsMVT(t, 'zone_points', {EXTENT}, 'geom', 'id') FROM (
            SELECT {_ZONE_PROPERTIES}{score_column},
                   ST_AsMVTGeom(ST_Transform(ST_PointOnSurface(z.boundary), 3857), b.tile,
                                {EXTENT}, 0, true) AS geom
            FROM zone z CROSS JOIN bounds b {_ZONE_JOINS} {score_join}
            WHERE z.boundary && b.box
        ) t)""")
    # Layers of one tile are concatenated encoded layers; an empty one encodes as no bytes.
    return _BOUNDS + "SELECT " + " || ".join(f"coalesce({layer}, '')" for layer in layers)


_ZONES_SQL = _zones_sql(points=False, scored=False)

# Plots are drawn from their kept web-mercator copy (migration 0009), so a dense tile does
# not transform thousands of boundaries; they are found by the GiST index on ``boundary``.
_PLOTS_SQL = _BOUNDS + f"""
    SELECT ST_AsMVT(t, 'plots', {EXTENT}, 'geom', 'id') FROM (
        SELECT p.id, p.id AS plot_id, p.status,
               ST_AsMVTGeom(p.boundary_3857, b.tile, {EXTENT}, {BUFFER}, true)
                   AS geom
        FROM plot p, bounds b
        WHERE p.boundary && b.box AND p.retired_at IS NULL
    ) t
"""

# The same with the plot's current score for one profile (its current runs' scores by key,
# locations.current_scores: the view current_plot_score would join every score first).
_PLOTS_SCORED_SQL = _BOUNDS + f"""
    SELECT ST_AsMVT(t, 'plots', {EXTENT}, 'geom', 'id') FROM (
        SELECT p.id, p.id AS plot_id, p.status,
               round(s.total::numeric, 1)::float AS score,
               ST_AsMVTGeom(p.boundary_3857, b.tile, {EXTENT}, {BUFFER}, true)
                   AS geom
        FROM plot p
        CROSS JOIN bounds b
        {{score_join}}
        WHERE p.boundary && b.box AND p.retired_at IS NULL
    ) t
"""


def scores_available(conn: Connection) -> bool:
    """Whether the scoring feature's ``current_plot_score`` view exists in this database."""
    return conn.execute(text("SELECT to_regclass('current_plot_score') IS NOT NULL")).scalar_one()


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def empty_tile(layers: tuple[str, ...]) -> bytes:
    """An MVT holding each of ``layers`` with no features.

    ST_AsMVT of no rows is zero bytes: a valid protobuf, but GDAL and other clients
    cannot open a zero-byte tile, and a tile that names its layers tells a client what
    it would hold here. Encoded by hand: version 2, name, extent (MVT 2.1, fields 15, 1, 5).
    """
    tile = b""
    for name in layers:
        encoded = name.encode()
        layer = (b"\x78\x02" + b"\x0a" + _varint(len(encoded)) + encoded
                 + b"\x28" + _varint(EXTENT))
        tile += b"\x1a" + _varint(len(layer)) + layer
    return tile


def _tile(conn: Connection, sql: str, params: dict, layer: str,
          layers: tuple[str, ...] | None = None) -> Tile:
    # A tile reads a few thousand rows by index: starting parallel workers for the dense
    # ones cost more than it saved (z13 p95 about halved without them). Transaction-local,
    # and sent with the tile query so that it costs no round trip of its own.
    sql = NO_PARALLEL_WORKERS + sql
    ((mvt,),) = fetch_rows(conn, sql, params)
    content = bytes(mvt or b"") or empty_tile(layers or (layer,))
    # A strong validator from the bytes themselves: any change to a plot changes it,
    # and any worker computes the same one without shared state.
    etag = '"' + hashlib.blake2b(content, digest_size=12).hexdigest() + '"'
    return Tile(content=content, etag=etag, layer=layer)


def zone_tile(conn: Connection, z: int, x: int, y: int, profile: str | None = None) -> Tile:
    """The zones touching tile z/x/y: layer ``zones`` (outlines) and, below PLOT_MIN_ZOOM,
    ``zone_points`` (a point inside each zone), both carrying id, name, kind, lifecycle,
    municipality, region, area_m2, power_mw, last_verified, plot_count,
    available_area_m2, occupancy and, with ``profile``, the zone's score.

    Raises:
        InvalidInput: the tile address is outside the pyramid, or a profile is asked
            for where no scores exist.
    """
    check_tile(z, x, y)
    params = {"z": z, "x": x, "y": y}
    scored = bool(profile)
    if scored:
        if not scores_available(conn):
            raise InvalidInput("profile", "no scores have been computed in this database")
        params["profile"] = profile
    points = z < PLOT_MIN_ZOOM
    return _tile(conn, _zones_sql(points=points, scored=scored), params, "zones",
                 ("zones", "zone_points") if points else ("zones",))


def plot_tile(conn: Connection, z: int, x: int, y: int, profile: str | None = None) -> Tile:
    """The plots touching tile z/x/y (layer ``plots``), or below PLOT_MIN_ZOOM the zones.

    Plot features carry ``id`` (and ``plot_id``), ``status`` and, when ``profile`` is given
    and scores exist, ``score``: what drawing needs, and no more, since a dense z14 tile
    holds some 3,000 plots and every property is encoded for each. A click asks the API
    for the rest of the plot.

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
        join, runs = current_scores.score_join(
            "p.id", current_scores.current_runs(conn, profile), alias="s")
        return _tile(conn, _PLOTS_SCORED_SQL.format(score_join=join),
                     {**params, **runs, "profile": profile}, "plots")
    return _tile(conn, _PLOTS_SQL, params, "plots")
