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
import logging
from dataclasses import dataclass

from sqlalchemy import Connection, text

from locations import current_scores
from locations.db import NO_PARALLEL_WORKERS, fetch_rows
from locations.errors import InvalidInput

logger = logging.getLogger(__name__)

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

# A plot's outline in tile coordinates. ST_AsMVTGeom clips, snaps and makes each polygon
# valid (wagyu): about 10 us a plot, two thirds of a dense z14 tile's 3,000 plots. A plot
# wholly inside the tile and its buffer needs no clipping, so it is only moved and scaled
# onto the tile's grid and snapped to whole units, oriented as MVT wants its exterior rings
# (clockwise in the map, so counter-clockwise once y points down), a third of the cost;
# the few plots across the tile's edge are cut by ST_AsMVTGeom. A plot snapped to nothing
# is left out, as ST_AsMVTGeom leaves it out.
_PLOT_GEOMETRY = f"""
    CROSS JOIN LATERAL (SELECT CASE WHEN p.boundary_3857 @ b.buffered THEN
        ST_SnapToGrid(ST_TransScale(ST_ForcePolygonCW(p.boundary_3857),
                                    -b.left_x, -b.top_y, b.scale, -b.scale), 1)
        ELSE ST_AsMVTGeom(p.boundary_3857, b.tile, {EXTENT}, {BUFFER}, true) END AS shape
        OFFSET 0) g
"""
#: The outline drawn: none rather than an empty one, which ST_AsMVT would encode. (OFFSET 0
#: above keeps the planner from writing the outline out twice here, making it twice.)
_PLOT_SHAPE = "CASE WHEN NOT ST_IsEmpty(g.shape) THEN g.shape END"

# The tile in 3857 (as ST_AsMVTGeom wants it), the tile with its buffer (plots wholly inside
# it need no clipping), its top-left corner and tile units per metre, and the buffered box
# in the storage CRS so the GiST index on the 3035 boundary does the filtering.
_PLOT_BOUNDS = f"""
    WITH envelope AS (
        SELECT ST_TileEnvelope(:z, :x, :y) AS tile,
               ST_TileEnvelope(:z, :x, :y, margin => {BUFFER / EXTENT}) AS buffered
    ), bounds AS (
        SELECT tile, buffered, ST_Transform(buffered, 3035) AS box,
               ST_XMin(tile) AS left_x, ST_YMax(tile) AS top_y,
               {EXTENT} / (ST_XMax(tile) - ST_XMin(tile)) AS scale
        FROM envelope
    )
"""

# Plots are drawn from their kept web-mercator copy (migration 0009), so a dense tile does
# not transform thousands of boundaries; they are found by the GiST index on ``boundary``.
#
# A dense tile is kept (``plot_tile_cache``) with a print of what it was made from: the
# count of its plots and the XOR of a hash of each plot's id and row version (``xmin``,
# new on every insert and update of the row, whatever wrote it: API, import, plain SQL).
# Each request prints the plots in the tile afresh (an index scan, a few ms for the
# densest) and takes the kept tile only if the print is the same: a plot added, changed,
# moved, retired or deleted changes it, so a change shows in its tiles at once, on every
# worker and replica, with no trigger to keep in step. The print and the tile it is
# compared with are read in one statement, one snapshot.
_PLOTS_SQL = _PLOT_BOUNDS + f""",
    found AS MATERIALIZED (
        SELECT p.id, p.status, p.boundary_3857, p.xmin::text::bigint AS row_version
        FROM plot p, bounds b
        WHERE p.boundary && b.box AND p.retired_at IS NULL
    ), print AS (
        SELECT count(*)::integer AS plots,
               coalesce(bit_xor(hashint8extended(id, row_version)), 0) AS print
        FROM found
    ), kept AS (
        SELECT c.content FROM plot_tile_cache c, print
        WHERE c.z = :z AND c.x = :x AND c.y = :y AND c.code = :code
          AND c.plots = print.plots AND c.print = print.print
    )
    SELECT print.plots, print.print, (SELECT content FROM kept) AS kept,
           CASE WHEN NOT EXISTS (SELECT FROM kept) THEN (
               SELECT ST_AsMVT(t, 'plots', {EXTENT}, 'geom', 'id') FROM (
                   SELECT p.id, p.id AS plot_id, p.status, {_PLOT_SHAPE} AS geom
                   FROM found p CROSS JOIN bounds b {_PLOT_GEOMETRY}
               ) t) END AS fresh
    FROM print
"""

# The same, made afresh every time (the deeper zooms' few plots). ``plot_tile_fresh`` runs
# this statement with a plan the database keeps (locations/kept_plans.py): planning it took
# about as long as making a z16 tile. Kept here as what the function does, which
# tests/test_kept_plans.py holds it to.
_PLOTS_FRESH_SQL = _PLOT_BOUNDS + f"""
    SELECT ST_AsMVT(t, 'plots', {EXTENT}, 'geom', 'id') FROM (
        SELECT p.id, p.id AS plot_id, p.status, {_PLOT_SHAPE} AS geom
        FROM plot p CROSS JOIN bounds b {_PLOT_GEOMETRY}
        WHERE p.boundary && b.box AND p.retired_at IS NULL
    ) t
"""

# The same with the plot's current score for one profile (its current runs' scores by key,
# locations.current_scores: the view current_plot_score would join every score first).
# Scores change with every run: these tiles are not kept.
_PLOTS_SCORED_SQL = _PLOT_BOUNDS + f"""
    SELECT ST_AsMVT(t, 'plots', {EXTENT}, 'geom', 'id') FROM (
        SELECT p.id, p.id AS plot_id, p.status,
               round(s.total::numeric, 1)::float AS score,
               {_PLOT_SHAPE} AS geom
        FROM plot p
        CROSS JOIN bounds b
        {_PLOT_GEOMETRY}
        {{score_join}}
        WHERE p.boundary && b.box AND p.retired_at IS NULL
    ) t
"""

#: A plots tile of at least this many plots is kept: about 8 ms and more to make at 1M
#: plots, and few (some 900 tiles of z13-z15 at 1M plots, about 40 MB), so the kept
#: tiles need no eviction.
KEEP_FROM_PLOTS = 500
#: Tiles are kept up to this zoom. A z16 tile is 600 m wide: at a million plots it holds
#: at most some 270, made in a few ms, where printing and looking up would cost a
#: fifth of that on every tile.
KEEP_MAX_ZOOM = 15
#: Names the code that made a kept tile: a tile made by other SQL is made anew.
_TILE_CODE = hashlib.blake2b(_PLOTS_SQL.encode(), digest_size=8).hexdigest()

_KEEP_SQL = """
    INSERT INTO plot_tile_cache AS c (z, x, y, code, plots, print, content, made_at)
    VALUES (:z, :x, :y, :code, :plots, :print, :content, now())
    ON CONFLICT (z, x, y) DO UPDATE
    SET code = excluded.code, plots = excluded.plots, print = excluded.print,
        content = excluded.content, made_at = excluded.made_at
    RETURNING 1
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
    return _encoded(bytes(mvt or b""), layer, layers)


def _encoded(content: bytes, layer: str, layers: tuple[str, ...] | None = None) -> Tile:
    content = content or empty_tile(layers or (layer,))
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


def plot_tile(conn: Connection, z: int, x: int, y: int, profile: str | None = None,
              kept: bool = True) -> Tile:
    """The plots touching tile z/x/y (layer ``plots``), or below PLOT_MIN_ZOOM the zones.

    Plot features carry ``id`` (and ``plot_id``), ``status`` and, when ``profile`` is given
    and scores exist, ``score``: what drawing needs, and no more, since a dense z14 tile
    holds some 3,000 plots and every property is encoded for each. A click asks the API
    for the rest of the plot. A dense tile without scores, up to KEEP_MAX_ZOOM, is taken
    from the kept tiles when its plots are as they were (``kept=False`` makes it afresh
    and keeps nothing).

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
    if z > KEEP_MAX_ZOOM:
        return _tile(conn, "SELECT plot_tile_fresh(:z, :x, :y)", params, "plots")
    code = _TILE_CODE if kept else ""
    ((plots, print_, stored, fresh),) = fetch_rows(
        conn, NO_PARALLEL_WORKERS + _PLOTS_SQL, {**params, "code": code})
    if stored is not None:
        return _encoded(bytes(stored), "plots")
    tile = _encoded(bytes(fresh or b""), "plots")
    if kept and plots >= KEEP_FROM_PLOTS:
        _keep(conn, {**params, "code": code, "plots": plots, "print": print_,
                     "content": tile.content})
    return tile


def _keep(conn: Connection, params: dict) -> None:
    """Keep a dense tile made afresh. A hot standby cannot write, and a tile that could not
    be kept is only made again next time: neither is the reader's error."""
    try:
        fetch_rows(conn, _KEEP_SQL, params)
    except conn.dialect.loaded_dbapi.Error:
        if not conn.connection.dbapi_connection.autocommit:
            raise  # the caller's transaction is lost with it: the caller must know
        logger.info("tile %(z)s/%(x)s/%(y)s not kept", params, exc_info=True)
