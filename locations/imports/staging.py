"""Staging, validating and loading in PostGIS: COPY into a staging table, check set-based, upsert by natural key.

Everything here runs inside the caller's one transaction, so an import either
lands whole or, refused or killed, leaves the database as it was.

Tables (unlogged, in a schema of the import's own that it drops before commit, so that
PostgreSQL may check their rows with parallel workers; temporary for a role that may not
create schemas; see ``open_workspace``):

- ``import_stage``: the file's rows as canonical text plus the geometry as read;
- ``import_row``: the rows resolved (references looked up, geometry in EPSG:3035,
  each row's geometry and reference problem, if any);
- ``import_problem``: every problem, ``(row_no, field, reason)``.
"""

from __future__ import annotations

import binascii
import datetime as dt
import io
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from pyproj import CRS
from sqlalchemy import Connection, Double, Numeric, Table, text

from locations import tables
from locations.fields import PLOTS, ZONES, Collection
from locations.imports.targets import POLYGONS, Target, normalise
from locations.limits import (
    EDGE_TOLERANCE_M,
    MAX_PLOT_AREA_M2,
    core_sql,
    outline_problem_sql,
    overlap_sql,
    zone_outline_lock_sql,
    zone_problem_sql,
)
from locations.vocabulary import REGION_CODE_TAGS, REGION_LEVEL, STORAGE_SRID

#: Rows per COPY chunk: large enough for bulk speed, small enough for a live progress bar.
COPY_CHUNK = 100_000
#: A smaller file still goes in this many chunks at least, so that checking the next chunk
#: overlaps the COPY of this one (in one chunk, the two would take turns).
COPY_CHUNKS_AT_LEAST = 8
#: ... of this many rows at least: smaller chunks cost more in round trips than they save.
COPY_CHUNK_AT_LEAST = 5_000
#: A geometry may reach this far (m) past its region's bounding box before it is "outside".
EXTENT_MARGIN_M = 2_000
#: How problems that a wrong CRS gives begin, or end: crs_hint looks for them.
OUTSIDE_EXTENT = "outside the extent of"
BEYOND_LONLAT = "coordinates beyond longitude -180..180 and latitude -90..90"
LIES_IN_NONE = "lies in none"
#: The problem of a plot row that names no zone and lies in none.
NO_ZONE = f"no zone given and the plot {LIES_IN_NONE}"
#: A plot may lie this far (m) outside the zone it names: planning maps and the cadastre
#: draw the same line a few metres apart; farther, the zone or the position is wrong.
ZONE_REACH_M = 100
#: EPSG:3035's area of use in lon/lat: what "outside" means when no region applies.
EUROPE_LONLAT = (-35.58, 24.60, 44.83, 84.73)

GEOMETRY_NAMES = {"POLYGON": "Polygon", "MULTIPOLYGON": "MultiPolygon", "POINT": "Point",
                  "LINESTRING": "LineString", "MULTILINESTRING": "MultiLineString"}

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Scope:
    """Whom an import is for: ``None`` ids mean no restriction (admin, CLI)."""

    municipality_ids: frozenset[int] | None = None
    region_ids: frozenset[int] | None = None


def open_workspace(conn: Connection) -> str | None:
    """Give this transaction a schema of its own for the staging tables, first on its path.

    Plain (unlogged) tables, not temporary ones: PostgreSQL's parallel workers cannot read
    a session's temporary tables, so every check over a million staged rows ran on one
    core. The schema is created in the import's transaction, so no other session sees it,
    and an import that fails or is killed takes it away with its rollback; a committed
    import drops it first (``close_workspace``). Named by the backend, so that imports
    running side by side never meet. Returns the schema's name, for ``close_workspace``.

    A role that may not create schemas in the database (``CREATE`` on it, which a server's
    administrator may well withhold from an application's role) gets temporary tables
    instead, and None: the same import, its checks on one core.
    """
    if not conn.execute(text(
            "SELECT has_database_privilege(current_database(), 'CREATE')")).scalar_one():
        conn.info[WORK_TABLE] = "TEMPORARY TABLE"
        return None
    conn.info[WORK_TABLE] = "UNLOGGED TABLE"
    schema = conn.execute(text("SELECT 'import_' || pg_backend_pid()")).scalar_one()
    conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    conn.execute(text(
        "SELECT set_config('search_path', quote_ident(:schema) || ', ' || "
        "current_setting('search_path'), true)"), {"schema": schema})
    return schema


#: Key of ``Connection.info`` (kept with the database connection) under which
#: ``open_workspace`` leaves the kind of table the import's statements create.
WORK_TABLE = "locations.import_work_table"


def work_table(conn: Connection) -> str:
    """``UNLOGGED TABLE`` in an import's own schema, ``TEMPORARY TABLE`` without one."""
    return conn.info[WORK_TABLE]


def close_workspace(conn: Connection, schema: str | None) -> None:
    """Drop the workspace ``schema`` of ``open_workspace`` with its tables, before the import
    commits; without a schema, the import's temporary tables, which would otherwise stay
    with the (pooled) connection and be in the way of its next import."""
    if schema is not None:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        return
    tables = conn.execute(text(
        "SELECT 'pg_temp.' || quote_ident(relname) FROM pg_class "
        "WHERE relnamespace = pg_my_temp_schema() AND relkind = 'r' "
        r"AND relname LIKE 'import\_%'")).scalars().all()
    if tables:
        conn.execute(text(f"DROP TABLE {', '.join(tables)}"))


def stage(conn: Connection, spec: Target, frame: pd.DataFrame, wkb: np.ndarray,
          progress: Progress | None = None) -> tuple[list[str], list[tuple[int, str, str]]]:
    """Check the fields of ``frame`` and COPY the rows into ``import_stage``, chunk by chunk.

    Returns the staged field names and the field problems (``targets.normalise``). While
    the server takes in one chunk, a worker thread checks and formats the next: the
    client's and the server's work overlap on two cores instead of taking turns.
    """
    columns = [f for f in spec.field_names if f in frame.columns]
    definitions = ", ".join(f"{c} text" for c in columns)
    conn.execute(text(
        f"CREATE {work_table(conn)} import_stage (row_no integer, {definitions}{',' if columns else ''} "
        "geom geometry)"
    ))
    conn.execute(text(
        f"CREATE {work_table(conn)} import_problem (row_no integer, field text, reason text)"
    ))
    cursor = conn.connection.dbapi_connection.cursor()
    total = len(frame)
    copy_sql = (
        f"COPY import_stage (row_no, {', '.join(columns)}{',' if columns else ''} geom) "
        "FROM STDIN WITH (FORMAT csv)"
    )
    problems: list[tuple[int, str, str]] = []
    chunk = min(COPY_CHUNK, max(COPY_CHUNK_AT_LEAST, -(-total // COPY_CHUNKS_AT_LEAST)))
    starts = range(0, max(total, 1), chunk)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-chunk") as worker:
        pending = worker.submit(_chunk_csv, spec, columns, frame, wkb, starts[0], chunk)
        for number, start in enumerate(starts):
            csv, chunk_problems = pending.result()
            if number + 1 < len(starts):
                pending = worker.submit(_chunk_csv, spec, columns, frame, wkb, starts[number + 1],
                                        chunk)
            problems.extend(chunk_problems)
            # One read of the whole chunk: psycopg2 sends it without the GIL, so the worker
            # runs meanwhile (in 8 kB reads the two threads would take turns at the GIL).
            cursor.copy_expert(copy_sql, io.BytesIO(csv), size=max(len(csv), 1))
            if progress:
                progress("staging", min(start + chunk, total), total)
    return columns, problems


def _chunk_csv(spec: Target, columns: list[str], frame: pd.DataFrame, wkb: np.ndarray,
               start: int, size: int) -> tuple[bytes, list[tuple[int, str, str]]]:
    """Rows ``start`` to ``start + size`` checked (``normalise``) and written as CSV."""
    stop = min(start + size, len(frame))
    fields, problems = normalise(frame.iloc[start:stop], spec)
    chunk = pa.Table.from_pandas(fields[columns], preserve_index=False)
    chunk = chunk.add_column(0, "row_no", pa.array(fields.index.to_numpy() + 1))
    chunk = chunk.append_column("geom", _hex_wkb(pa.array(wkb[start:stop], type=pa.binary())))
    # Arrow writes the CSV in C++ (a tenth of pandas' time). Text is quoted, a NULL is an
    # unquoted empty field: COPY reads the one as the text and the other as NULL.
    buffer = io.BytesIO()
    pa_csv.write_csv(chunk, buffer, pa_csv.WriteOptions(include_header=False))
    return buffer.getvalue(), problems


def _hex_wkb(wkb: pa.BinaryArray) -> pa.LargeStringArray:
    """WKB as hex text, which PostGIS parses fastest from COPY; NULL stays NULL.

    All values are hexed in one call over Arrow's data buffer: each value's hex is
    twice as long, so the offsets just double.
    """
    offsets = np.frombuffer(wkb.buffers()[1], dtype=np.int32)[wkb.offset:wkb.offset + len(wkb) + 1]
    data = wkb.buffers()[2]
    hexed = binascii.hexlify(memoryview(data)[offsets[0]:offsets[-1]] if data else b"")
    # 64-bit offsets: the hex of a chunk of large boundaries may pass 2 GB.
    text = pa.LargeStringArray.from_buffers(
        len(wkb), pa.py_buffer(((offsets - offsets[0]) * 2).astype(np.int64)), pa.py_buffer(hexed))
    # Zero bytes are no geometry either: NULL, reported as a missing geometry.
    missing = pc.or_kleene(wkb.is_null(), pc.equal(pc.binary_length(wkb), 0))
    return pc.if_else(missing, pa.scalar(None, pa.large_string()), text)


def add_problems(conn: Connection, problems: Iterable[tuple[int, str, str]]) -> None:
    """Record problems found outside SQL (field checks, unreadable geometry)."""
    rows = list(problems)
    if not rows:
        return
    buffer = io.StringIO()
    pd.DataFrame(rows).to_csv(buffer, header=False, index=False)
    buffer.seek(0)
    conn.connection.dbapi_connection.cursor().copy_expert(
        "COPY import_problem FROM STDIN WITH (FORMAT csv)", buffer
    )


def _stored_geometry_sql(spec: Target, srid: int, make_valid: bool) -> str:
    """SQL turning the staged ``s.geom`` into the geometry to store (EPSG:3035, 2D, multi for
    polygons). Heights and measures (Z, M), which CAD and some cadastral exports carry, are
    dropped: the tables hold plans in 2D, and would refuse the row."""
    source = f"ST_Force2D(ST_SetSRID(s.geom, {int(srid)}))"
    stored = source if srid == STORAGE_SRID else f"ST_Transform({source}, {STORAGE_SRID})"
    if spec.geometry_types == POLYGONS:
        stored = f"ST_Multi({stored})"
        if make_valid:
            # Repair, then keep only the polygonal part of what MakeValid returns.
            stored = (
                f"CASE WHEN ST_IsValid({stored}) THEN {stored} "
                f"ELSE ST_Multi(ST_CollectionExtract(ST_MakeValid({stored}), 3)) END"
            )
    if CRS.from_epsg(srid).is_geographic:
        # Metres read as degrees (a wrong --crs) make ST_Transform fail the whole statement:
        # such a row gets no stored geometry, and _geometry_problem_sql says why.
        stored = (f"CASE WHEN ST_XMin(s.geom) >= -180 AND ST_XMax(s.geom) <= 180 "
                  f"AND ST_YMin(s.geom) >= -90 AND ST_YMax(s.geom) <= 90 THEN {stored} END")
    return stored


def _geometry_problem_sql(spec: Target, source: str, stored: str) -> str:
    """SQL naming what is wrong with a row's geometry (NULL when nothing is), GEOS's reason included."""
    wanted = " or ".join(GEOMETRY_NAMES[t] for t in spec.geometry_types)
    types = ", ".join(f"'{t}'" for t in spec.geometry_types)
    return f"""
        CASE
            WHEN {source} IS NULL THEN 'missing geometry'
            WHEN ST_IsEmpty({source}) THEN 'empty geometry'
            -- In 2D: GeometryType names a polygon with measures POLYGONM.
            WHEN GeometryType(ST_Force2D({source})) NOT IN ({types})
                THEN 'wrong geometry type ' || GeometryType(ST_Force2D({source}))
                     || ', expected {wanted}'
            WHEN {stored} IS NULL
                THEN '{BEYOND_LONLAT} ('
                     || round(ST_XMin({source})::numeric, 1) || ' '
                     || round(ST_YMin({source})::numeric, 1) || '): is the CRS right?'
            WHEN ST_IsEmpty({stored}) THEN 'empty geometry after repair'
            -- Where, in lon/lat as a person finds it on a map (GEOS gives EPSG:3035), and
            -- the remedy: published boundaries carry rings touching themselves (GURS's
            -- Pomurska at the Austrian border), and the importer repairs on request.
            WHEN NOT ST_IsValid({stored}) THEN 'invalid geometry: ' || ST_IsValidReason({stored})
                || coalesce(' (at ' || (SELECT round(ST_X(w)::numeric, 5) || ' E, '
                                               || round(ST_Y(w)::numeric, 5) || ' N'
                                        FROM ST_Transform(ST_SetSRID((ST_IsValidDetail({stored})).location,
                                                                     {STORAGE_SRID}), 4326) w)
                            || ')', '')
                || '; --make-valid (make_valid) repairs it'
        END"""


# Municipalities and regions with the box a geometry must lie in, each computed once: taken
# per row, it would read the region's whole (TOASTed) boundary a million times (4 s).
MUNICIPALITY_EXTENTS = (
    f"(SELECT id, country, region_id, ST_Expand(box2d(boundary), {EXTENT_MARGIN_M}) AS extent "
    "FROM municipality)"
)
REGION_EXTENTS = (
    f"(SELECT id, code, country, ST_Expand(box2d(boundary), {EXTENT_MARGIN_M}) AS extent "
    "FROM region)"
)


def _col(columns: list[str], name: str, cast: str = "") -> str:
    """A staged column (``s.name``) cast for its table, or NULL when the file lacks it."""
    if name not in columns:
        return f"NULL{cast}"
    return f"s.{name}{cast}"


def resolve(conn: Connection, spec: Target, columns: list[str], srid: int, *,
            make_valid: bool, scope: Scope) -> int:
    """Build ``import_row``: references resolved, geometry transformed and judged, problems
    recorded. Returns the rows left out as no business of the platform's (plots in no zone
    of a cadastral file: ``_leave_out_plots_in_no_zone``)."""
    stored = _stored_geometry_sql(spec, srid, make_valid)
    resolver = {
        "plots": _resolve_plots,
        "zones": _resolve_zones,
        "municipalities": _resolve_municipalities,
        "regions": _resolve_regions,
        "seats": _resolve_seats,
        "infrastructure": _resolve_free,
        "constraints": _resolve_free,
    }[spec.name]
    left_out = resolver(conn, spec, columns, stored, scope) or 0
    # Statistics for the joins to come; geometry statistics would cost more than they help.
    conn.execute(text(f"ANALYZE import_row (row_no, {', '.join(spec.key)})"))
    conn.execute(text(
        f"""
        INSERT INTO import_problem
        SELECT row_no, 'geometry', geometry_problem FROM import_row WHERE geometry_problem IS NOT NULL
        UNION ALL
        SELECT row_no, reference_field, reference_problem FROM import_row
        WHERE reference_problem IS NOT NULL
        UNION ALL
        SELECT row_no, 'geometry', '{OUTSIDE_EXTENT} ' || extent_name
        FROM import_row
        WHERE geometry_problem IS NULL AND extent IS NOT NULL AND NOT (geom && extent)
        """
    ))
    if spec.name == "plots":
        conn.execute(text(
            "INSERT INTO import_problem SELECT row_no, 'geometry', outline_problem FROM import_row "
            "WHERE geometry_problem IS NULL AND outline_problem IS NOT NULL "
            "AND (extent IS NULL OR geom && extent)"))
    key = ", ".join(spec.key)
    # Rows sharing a natural key: each is told which other rows hold the same key.
    conn.execute(text(
        f"""
        INSERT INTO import_problem
        SELECT r.row_no, '{spec.key[-1]}',
               'duplicate key ' || concat_ws(' ', {key}) || ' also in row(s) ' ||
               array_to_string(array_remove(d.rows, r.row_no), ', ')
        FROM import_row r
        JOIN (SELECT {key}, array_agg(row_no ORDER BY row_no) AS rows FROM import_row
              -- The repeated keys first, by hashing: the ordered array_agg over every row
              -- sorted a million keys (3.7 s); now it sorts only the repeated ones.
              WHERE ({key}) IN (SELECT {key} FROM import_row
                                WHERE {" AND ".join(f"{k} IS NOT NULL" for k in spec.key)}
                                GROUP BY {key} HAVING count(*) > 1)
              GROUP BY {key}) d USING ({key})
        """
    ))
    _required_on_create(conn, spec, columns)
    if spec.name == "plots":
        _overlapping_plots(conn)
    return left_out


def _scope_problem(scope: Scope, municipality_sql: str, region_sql: str) -> str:
    if scope.municipality_ids is None and scope.region_ids is None:
        return "NULL"
    checks = []
    if scope.municipality_ids is not None:
        ids = ",".join(str(int(i)) for i in sorted(scope.municipality_ids)) or "NULL"
        checks.append(f"{municipality_sql} IN ({ids})")
    if scope.region_ids is not None:
        ids = ",".join(str(int(i)) for i in sorted(scope.region_ids)) or "NULL"
        checks.append(f"{region_sql} IN ({ids})")
    return f"CASE WHEN NOT coalesce(({' OR '.join(checks)}), false) THEN 'outside your scope' END"


def _resolve_plots(conn: Connection, spec: Target, columns: list[str], stored: str,
                   scope: Scope) -> int:
    # A file names few zones: resolve each distinct (zone, municipality) once, then hash-join.
    zone_text = _col(columns, "zone")
    municipality_text = _col(columns, "municipality")
    conn.execute(text(
        f"""
        CREATE {work_table(conn)} import_zone AS
        SELECT k.zone_text, k.municipality_text,
               array_agg(z.id ORDER BY z.id) FILTER (
                   WHERE k.municipality_text IS NULL OR lower(m.name) = lower(k.municipality_text)
                      OR m.code = k.municipality_text OR m.id::text = k.municipality_text
                      -- A zone shared by neighbours is in each of them: a plot's row names
                      -- the municipality holding the plot (as exports write it).
                      OR EXISTS (SELECT 1 FROM zone_municipality zm
                                 JOIN municipality other ON other.id = zm.municipality_id
                                 WHERE zm.zone_id = z.id
                                   AND (lower(other.name) = lower(k.municipality_text)
                                        OR other.code = k.municipality_text
                                        OR other.id::text = k.municipality_text))
               ) AS zone_ids,
               -- Where zones of that name are, for a row whose municipality holds none: a
               -- misspelt municipality, or one a lossy encoding mangled ("Ho?e-Slivnica").
               string_agg(DISTINCT m.name, ', ') AS zone_municipalities
        FROM (SELECT DISTINCT {zone_text} AS zone_text, {municipality_text} AS municipality_text
              FROM import_stage s) k
        -- A zone is named by its id or its name: one key column, so the join can hash
        -- (an OR of the two compared every zone with every name: 5 s for 2,500 zones).
        LEFT JOIN (SELECT id, id::text AS zone_key FROM zone
                   UNION SELECT id, lower(name) FROM zone) named ON named.zone_key = lower(k.zone_text)
        LEFT JOIN zone z ON z.id = named.id
        LEFT JOIN municipality m ON m.id = z.municipality_id
        GROUP BY k.zone_text, k.municipality_text
        """
    ))
    # A plot with no zone named lies in the zone holding its inner point, the lowest id where
    # zones overlap. Found by a join of its own, which runs on both cores: a correlated
    # subquery (or a lateral one with LIMIT) runs in the leader only, and inlined in each use
    # of zone_id it ran five times a row: 130 s for a million rows of a cadastral file.
    by_point = conn.execute(text(
        "SELECT EXISTS (SELECT 1 FROM import_zone WHERE zone_text IS NULL)")).scalar_one()
    if by_point:
        conn.execute(text(
            f"""
            CREATE {work_table(conn)} import_point_zone AS
            SELECT s.row_no, min(z.id) AS zone_id
            FROM import_stage s
            CROSS JOIN LATERAL (SELECT ST_PointOnSurface({stored}) AS point) g
            JOIN zone z ON ST_Intersects(z.boundary, g.point)
            WHERE {zone_text} IS NULL
            GROUP BY s.row_no
            """
        ))
        conn.execute(text("ANALYZE import_point_zone"))
    point_zone_join = ("LEFT JOIN import_point_zone by_point ON by_point.row_no = s.row_no"
                       if by_point else "")
    point_zone = "by_point.zone_id" if by_point else "NULL::integer"
    zone_by_point = (f"""WHEN {zone_text.replace("s.", "st.")} IS NULL THEN st.point_zone_id"""
                     if by_point else "")
    # The planner prices the hash join to the few zone names above sorting every staged row
    # on disk for a merge join (3.4 s of 8.6 s at a million rows): it may not merge here.
    conn.execute(text("SET LOCAL enable_mergejoin = off"))
    conn.execute(text(
        f"""
        CREATE {work_table(conn)} import_row AS
        WITH staged AS (
            SELECT s.*, g.geom AS stored_geom, k.zone_ids, k.zone_municipalities,
                   {point_zone} AS point_zone_id
            FROM import_stage s
            CROSS JOIN LATERAL (SELECT {stored} AS geom) g
            {point_zone_join}
            -- coalesce, not IS NOT DISTINCT FROM: only an equality can be hash-joined.
            LEFT JOIN import_zone k
                   ON coalesce(k.zone_text, '') = coalesce({zone_text}, '')
                  AND coalesce(k.municipality_text, '') = coalesce({municipality_text}, '')
        ), located AS (
            SELECT st.*,
                   CASE {zone_by_point}
                   WHEN cardinality(st.zone_ids) = 1 THEN st.zone_ids[1] END AS zone_id
            FROM staged st
        )
        SELECT l.row_no, l.cadastral_ref, l.zone_id, m.country, m.id AS municipality_id,
               m.region_id, l.stored_geom AS geom,
               {_geometry_problem_sql(spec, "l.geom", "l.stored_geom")}
                   AS geometry_problem,
               -- Recorded only for a row inside its region: outside, a wrong CRS is likelier.
               {outline_problem_sql("l.stored_geom")} AS outline_problem,
               CASE WHEN l.cadastral_ref IS NULL THEN NULL
                    -- No geometry, no position to find a zone by: the geometry's problem
                    -- says what is wrong.
                    WHEN {zone_text.replace("s.", "l.")} IS NULL AND l.stored_geom IS NULL
                        THEN NULL
                    WHEN {zone_text.replace("s.", "l.")} IS NULL AND l.zone_id IS NULL
                        THEN '{NO_ZONE}'
                    WHEN cardinality(l.zone_ids) > 1
                        THEN 'zone ' || {zone_text.replace("s.", "l.")} || ' is ambiguous: '
                             || 'add a municipality column'
                    WHEN l.zone_id IS NULL AND l.zone_municipalities IS NOT NULL
                        THEN 'zone ' || {zone_text.replace("s.", "l.")} || ' is not in '
                             || 'municipality ' || {municipality_text.replace("s.", "l.")}
                             || ' but in ' || l.zone_municipalities
                    WHEN l.zone_id IS NULL
                        THEN 'unknown zone ' || {zone_text.replace("s.", "l.")}
                    -- A plot named into a zone it is nowhere near: a zone name mixed up, or
                    -- coordinates shifted. Its zone's occupancy and land supply would count
                    -- it. Only within the region: outside, the extent check says why.
                    WHEN l.stored_geom IS NOT NULL
                         AND (coalesce(r.extent, m.extent) IS NULL
                              OR l.stored_geom && coalesce(r.extent, m.extent))
                         AND NOT ST_DWithin(z.boundary, l.stored_geom, {ZONE_REACH_M})
                        THEN 'the plot lies ' || {_distance_sql('z.boundary', 'l.stored_geom')}
                             || ' outside zone ' || z.name
                    -- Larger than its zone, or reaching far past it: an outline the size of
                    -- a country would make the zone report it as its own land supply. Not
                    -- for an outline too large for any plot: its geometry problem says so.
                    WHEN l.stored_geom IS NULL OR ST_Area(l.stored_geom) > {MAX_PLOT_AREA_M2}
                        THEN NULL
                    WHEN coalesce(r.extent, m.extent) IS NULL
                         OR l.stored_geom && coalesce(r.extent, m.extent)
                        THEN {zone_problem_sql("l.stored_geom", "z.area_m2", "zb.box", "z.name",
                                               ZONE_REACH_M)}
               END AS zone_problem,
               {_scope_problem(scope, "m.id", "m.region_id")} AS scope_problem,
               coalesce(r.extent, m.extent) AS extent, 'region ' || r.code AS extent_name,
               -- What plot's trigger would derive one row at a time in the INSERT (0018),
               -- derived here by the parallel workers: 8 s of a million plots' insert on
               -- one core, 2-4.5 s here.
               ST_Area(l.stored_geom) AS derived_area_m2,
               ST_Transform(l.stored_geom, 3857) AS derived_boundary_3857
               {"".join(f", l.{c}" for c in columns if c not in ("cadastral_ref", "zone"))}
        FROM located l
        LEFT JOIN zone z ON z.id = l.zone_id
        -- Each zone's box computed once, not a (TOASTed) boundary read per row.
        LEFT JOIN (SELECT id, box2d(boundary) AS box FROM zone) zb ON zb.id = l.zone_id
        LEFT JOIN {MUNICIPALITY_EXTENTS} m ON m.id = z.municipality_id
        LEFT JOIN {REGION_EXTENTS} r ON r.id = m.region_id
        """
    ))
    conn.execute(text("RESET enable_mergejoin"))
    # Only a file without a zone column is a cadastre: an empty zone cell in a file that
    # names zones is more likely a slip, and stays a problem.
    left_out = _leave_out_plots_in_no_zone(conn) if by_point and "zone" not in columns else 0
    _combine_reference_problems(conn, "zone")
    if scope.municipality_ids is not None or scope.region_ids is not None:
        # Re-keying a plot that belongs to another municipality is out of scope too.
        conn.execute(text(
            f"""
            INSERT INTO import_problem
            SELECT r.row_no, 'scope', 'the plot ' || p.cadastral_ref
                   || ' belongs to a municipality outside your scope'
            FROM import_row r
            JOIN plot p ON p.country = r.country AND p.cadastral_ref = r.cadastral_ref
            JOIN zone z ON z.id = p.zone_id
            JOIN municipality m ON m.id = z.municipality_id
            WHERE {_scope_problem(scope, "m.id", "m.region_id")} IS NOT NULL
            """
        ))
    return left_out


#: Up to this many new or moved plots in a file, every pair is checked for overlap; beyond,
#: only identical outlines (see ``_overlapping_plots``).
OVERLAP_FULL_CHECK_ROWS = 100_000


def _overlapping_plots(conn: Connection) -> None:
    """Record, for each plot of the file that overlaps another, which ones and by how much:
    the API's rule (``limits.overlap_sql``, edges may stray EDGE_TOLERANCE_M), against the
    plots as they will be once the file is in.

    Only the rows that will be written and bring a new outline are checked (a new plot, or
    one whose boundary changes): an unchanged outline lay beside the others already, so a
    nightly re-import of a million unchanged plots checks nothing. Each is checked against
    the other such rows of the file and against the live plots the file leaves as they are
    (its unchanged rows among them), found through the GiST indexes, one built here on the
    changed rows. Whether two interiors meet at all is asked first, of whole outlines: the
    tolerance's buffer is computed only for the few pairs that do.

    That costs a GiST probe and GEOS's predicates per plot and neighbour: 25-45 µs a plot
    here (parcels that share edges cost the most), half a minute or more for a million new
    plots, as much as the rest of their import. Beyond OVERLAP_FULL_CHECK_ROWS new or moved
    plots (a region's first load; a municipality's file or a cadastre's parcels in zones is
    far smaller) only identical outlines are sought, by hashing: the same parcel twice,
    in the file or beside a live plot.
    """
    conn.execute(text(
        f"""
        CREATE {work_table(conn)} import_moved AS
        SELECT r.row_no, r.country, r.cadastral_ref, r.zone_id, r.geom FROM import_row r
        WHERE r.geom IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM import_problem x WHERE x.row_no = r.row_no)
          AND NOT EXISTS (SELECT 1 FROM plot p WHERE p.country = r.country
                          AND p.cadastral_ref = r.cadastral_ref AND p.boundary = r.geom)
        """
    ))
    # The API's writers of outlines in these zones wait until this import ends, and this
    # import for those already drawing: neither may draw over the other unseen.
    conn.execute(text(
        f"SELECT count({zone_outline_lock_sql('zone_id')}) "
        "FROM (SELECT DISTINCT zone_id FROM import_moved ORDER BY zone_id) z"))
    full = conn.execute(text("SELECT count(*) FROM import_moved")).scalar_one() \
        <= OVERLAP_FULL_CHECK_ROWS
    if full:
        conn.execute(text("CREATE INDEX ON import_moved USING gist (geom)"))
    conn.execute(text("ANALYZE import_moved"))
    others = conn.execute(text(
        "SELECT EXISTS (SELECT 1 FROM plot WHERE retired_at IS NULL)")).scalar_one()
    # Pairs whose interiors meet (or, beyond the full check, whose outlines are the same):
    # those of the file once (a < b, both ways below), then the live plots left as they are.
    meet = "b.geom && a.geom AND ST_Intersects(a.geom, b.geom) AND NOT ST_Touches(a.geom, b.geom)"
    # PostGIS's = (same points in the same order) hashes: a million in about a second.
    same = "b.geom = a.geom"
    conn.execute(text(
        f"""
        CREATE {work_table(conn)} import_overlap AS
        SELECT a.row_no, a.geom, b.row_no AS other_row, NULL::bigint AS other_plot,
               b.cadastral_ref AS other_ref, b.geom AS other_geom
        FROM import_moved a JOIN import_moved b ON b.row_no > a.row_no AND {meet if full else same}
        """
    ))
    if others:
        conn.execute(text(
            f"""
            INSERT INTO import_overlap
            SELECT a.row_no, a.geom, NULL, b.id, b.cadastral_ref, b.geom
            FROM import_moved a
            JOIN (SELECT id, country, cadastral_ref, boundary AS geom FROM plot
                  WHERE retired_at IS NULL) b ON {meet if full else same}
            WHERE NOT EXISTS (SELECT 1 FROM import_moved k
                              WHERE k.country = b.country AND k.cadastral_ref = b.cadastral_ref)
            """
        ))
    # Each plot judged by its own outline shrunk by the tolerance, as the API judges one
    # drawn beside the others: a pair of the file in both directions.
    conn.execute(text(
        f"""
        INSERT INTO import_problem
        SELECT row_no, 'geometry',
               'the plot overlaps ' || string_agg(other, '; ' ORDER BY other_row, other_plot)
               || ' (edges may stray {EDGE_TOLERANCE_M} m)'
        FROM (SELECT d.row_no, d.other_row, d.other_plot,
                     CASE WHEN d.other_row IS NOT NULL
                          THEN 'row ' || d.other_row || ' (' || d.other_ref || ') of the file'
                          ELSE 'plot ' || d.other_plot || ' (' || d.other_ref || ')' END
                     || ' by ' || round(ST_Area(ST_Intersection(d.geom, d.other_geom))::numeric, 1)
                     || ' m²' AS other
              FROM (SELECT *, {core_sql("geom")} AS core
                    FROM (SELECT row_no, geom, other_row, other_plot, other_ref, other_geom
                          FROM import_overlap
                          UNION ALL
                          SELECT o.other_row, o.other_geom, o.row_no, NULL, r.cadastral_ref, o.geom
                          FROM import_overlap o JOIN import_row r ON r.row_no = o.row_no
                          WHERE o.other_row IS NOT NULL) pairs
                    OFFSET 0  -- each core buffered once, not once per use below
                   ) d
              WHERE {overlap_sql("d.other_geom", "d.core")}) found
        GROUP BY row_no
        """
    ))


def _leave_out_plots_in_no_zone(conn: Connection) -> int:
    """Drop the rows of a file without zone column that lie in no zone, when some rows do
    lie in a zone; return how many were dropped.

    A cadastral file (GURS, BEV) covers a whole municipality, of which the business zones
    are a small part: its other parcels are not plots of the platform, and no problem of
    the file. Their field problems go with them: a bad value in a farm's parcel must not
    refuse the file. When no row lies in a zone, they stay problems: the file, or its CRS,
    is wrong, and the report says so (and crs_hint which CRS would fit).
    """
    if not conn.execute(text(
            "SELECT EXISTS (SELECT 1 FROM import_row WHERE zone_id IS NOT NULL)")).scalar_one():
        return 0
    return conn.execute(text(
        """
        WITH dropped AS (DELETE FROM import_row WHERE zone_problem = :none RETURNING row_no),
             cleared AS (DELETE FROM import_problem x USING dropped d WHERE x.row_no = d.row_no)
        SELECT count(*) FROM dropped
        """), {"none": NO_ZONE}).scalar_one()


def _combine_reference_problems(conn: Connection, field: str) -> None:
    """Fold the reference and scope problems into ``reference_field``/``reference_problem``."""
    conn.execute(text(
        f"""
        ALTER TABLE import_row ADD COLUMN reference_field text, ADD COLUMN reference_problem text;
        UPDATE import_row SET reference_field = CASE WHEN {field}_problem IS NOT NULL
                                                     THEN '{field}' ELSE 'scope' END,
                              reference_problem = coalesce({field}_problem, scope_problem)
        WHERE {field}_problem IS NOT NULL OR scope_problem IS NOT NULL;
        """
    ))


def _staged_with_parent(stored: str, given: str, column: str, *, located: str, named: str) -> str:
    """The ``staged`` CTE of zones and municipalities: each staged row with its stored geometry
    and its parent (``column``), ``named`` by the file's ``given`` text or, when the file
    names none, ``located`` by the geometry's inner point (``g.geom``)."""
    return f"""staged AS (
            SELECT s.*, g.geom AS stored_geom,
                   CASE WHEN {given} IS NULL THEN {located} ELSE {named} END AS {column}
            FROM import_stage s CROSS JOIN LATERAL (SELECT {stored} AS geom) g
        )"""


def _resolve_zones(conn: Connection, spec: Target, columns: list[str], stored: str,
                   scope: Scope) -> None:
    municipality_text = _col(columns, "municipality")
    staged = _staged_with_parent(
        stored, municipality_text, "municipality_ids",
        located="""ARRAY(
                            SELECT m.id FROM municipality m
                            WHERE ST_Intersects(m.boundary, ST_PointOnSurface(g.geom)) LIMIT 1)""",
        named=f"""ARRAY(
                            SELECT m.id FROM municipality m
                            WHERE lower(m.name) = lower({municipality_text})
                               OR m.code = {municipality_text} OR m.id::text = {municipality_text})""")
    conn.execute(text(
        f"""
        CREATE {work_table(conn)} import_row AS
        WITH {staged}
        SELECT st.row_no, st.name, m.id AS municipality_id, m.region_id, st.stored_geom AS geom,
               {_geometry_problem_sql(spec, "st.geom", "st.stored_geom")}
                   AS geometry_problem,
               CASE WHEN cardinality(st.municipality_ids) > 1
                        THEN 'municipality ' || {municipality_text.replace("s.", "st.")}
                             || ' is ambiguous: use its code'
                    WHEN m.id IS NULL AND {municipality_text.replace("s.", "st.")} IS NULL
                        THEN 'no municipality given and the zone {LIES_IN_NONE}'
                    WHEN m.id IS NULL
                        THEN 'unknown municipality ' || {municipality_text.replace("s.", "st.")}
               END AS municipality_problem,
               {_scope_problem(scope, "m.id", "m.region_id")} AS scope_problem,
               coalesce(r.extent, m.extent) AS extent, 'region ' || r.code AS extent_name
               {"".join(f", st.{c}" for c in columns if c not in ("name", "municipality"))}
        FROM staged st
        LEFT JOIN {MUNICIPALITY_EXTENTS} m
               ON cardinality(st.municipality_ids) = 1 AND m.id = st.municipality_ids[1]
        LEFT JOIN {REGION_EXTENTS} r ON r.id = m.region_id
        """
    ))
    _combine_reference_problems(conn, "municipality")


def _resolve_municipalities(conn: Connection, spec: Target, columns: list[str], stored: str,
                            scope: Scope) -> None:
    region_text = _col(columns, "region")
    staged = _staged_with_parent(
        stored, region_text, "region_id",
        located="""(
                            SELECT r.id FROM region r
                            WHERE ST_Intersects(r.boundary, ST_PointOnSurface(g.geom))
                            -- Its region is the yardstick level's (NUTS-3); the other
                            -- levels follow from the hierarchy and the boundaries.
                            ORDER BY r.level = 'nuts3' DESC, ST_Area(r.boundary) LIMIT 1)""",
        named=f"(SELECT r.id FROM region r WHERE r.code = upper(btrim({region_text})))")
    conn.execute(text(
        f"""
        CREATE {work_table(conn)} import_row AS
        WITH {staged}
        SELECT st.row_no, st.code, st.name, st.region_id,
               coalesce(upper({_col(columns, "country").replace("s.", "st.")}), r.country)
                   AS country,
               st.stored_geom AS geom,
               {_geometry_problem_sql(spec, "st.geom", "st.stored_geom")}
                   AS geometry_problem,
               CASE WHEN r.id IS NULL AND {region_text.replace("s.", "st.")} IS NULL
                        THEN 'no region given and the municipality {LIES_IN_NONE}'
                    WHEN r.id IS NULL THEN 'unknown region ' || {region_text.replace("s.", "st.")}
               END AS region_problem,
               NULL::text AS scope_problem,
               r.extent, 'region ' || r.code AS extent_name
               {"".join(f", st.{c}" for c in columns
                        if c not in ("code", "name", "region", "country"))}
        FROM staged st LEFT JOIN {REGION_EXTENTS} r ON r.id = st.region_id
        """
    ))
    _combine_reference_problems(conn, "region")


def _distance_sql(a: str, b: str) -> str:
    """SQL giving the distance between two geometries as a person reads it: 350 m, 5.2 km."""
    distance = f"ST_Distance({a}, {b})"
    return (f"CASE WHEN {distance} < 1000 THEN round({distance})::text || ' m' "
            f"ELSE round(({distance} / 1000)::numeric, 1)::text || ' km' END")


def _europe_extent() -> str:
    west, south, east, north = EUROPE_LONLAT
    return (f"box2d(ST_Transform(ST_Segmentize(ST_MakeEnvelope({west}, {south}, {east}, {north}, "
            f"4326), 1), {STORAGE_SRID}))")


def _resolve_regions(conn: Connection, spec: Target, columns: list[str], stored: str,
                     scope: Scope) -> None:
    given_level = _col(columns, "level")
    conn.execute(text(
        f"""
        CREATE {work_table(conn)} import_row AS
        SELECT s.row_no, upper(s.code) AS code, s.name,
               coalesce(upper({_col(columns, "country")}), left(upper(s.code), 2)) AS country,
               g.geom, {_geometry_problem_sql(spec, "s.geom", "g.geom")} AS geometry_problem,
               CASE WHEN s.code IS NOT NULL
                     AND upper(s.code) !~ '^[A-Z]{{2}}([0-9A-Z]{{1,3}}|-[A-Z]-[0-9A-Z]{{1,12}})?$'
                    THEN 'not a region code (a NUTS code such as AT22 or SI042, or a '
                         'national one such as AT-D-601): ' || s.code
                    WHEN {given_level} IS DISTINCT FROM coded.level AND {given_level} IS NOT NULL
                    THEN 'level ' || {given_level} || ' does not fit code ' || upper(s.code)
                         || coalesce(', a code of level ' || coded.level, '')
               END AS reference_problem,
               CASE WHEN s.code IS NOT NULL
                     AND upper(s.code) !~ '^[A-Z]{{2}}([0-9A-Z]{{1,3}}|-[A-Z]-[0-9A-Z]{{1,12}})?$'
                    THEN 'code' ELSE 'level' END AS reference_field,
               -- The level the file (or its mapping, or --level) names, else the code's own.
               coalesce({given_level}, coded.level) AS level,
               {_europe_extent()} AS extent, 'EPSG:3035 (Europe)' AS extent_name
               {"".join(f", s.{c}" for c in columns
                        if c not in ("code", "name", "country", "level"))}
        FROM import_stage s CROSS JOIN LATERAL (SELECT {stored} AS geom) g
        CROSS JOIN LATERAL (SELECT {_level_of_code_sql("upper(s.code)")} AS level) coded
        """
    ))


def _level_of_code_sql(code: str) -> str:
    """SQL: the region level a code's form stands for (NUTS codes by their length, national
    ones by their tag), as the region table's CHECK has it; NULL for no known form."""
    nuts = [level for level in REGION_LEVEL.codes if level not in REGION_CODE_TAGS]
    tagged = " ".join(f"WHEN {code} ~ '^[A-Z]{{2}}-{tag}-' THEN '{level}'"
                      for level, tag in REGION_CODE_TAGS.items())
    return (f"CASE {tagged} WHEN {code} ~ '^[A-Z]{{2}}[0-9A-Z]{{0,{len(nuts) - 1}}}$' "
            f"THEN (ARRAY[{', '.join(repr(n) for n in nuts)}])[length({code}) - 1] END")


#: A seat or centroid may lie this far (m) outside its municipality: a centroid of a
#: crescent-shaped municipality lies outside it, and borders are simplified. Farther, the
#: code or the CRS is wrong.
SEAT_REACH_M = 2_000


def _resolve_seats(conn: Connection, spec: Target, columns: list[str], stored: str,
                   scope: Scope) -> None:
    """Seats (or centroids) onto the municipalities of their codes: a code names one
    municipality, in the country given or the only one that has it."""
    country_text = _col(columns, "country")
    conn.execute(text(
        f"""
        CREATE {work_table(conn)} import_row AS
        WITH staged AS (
            SELECT s.*, g.geom AS stored_geom,
                   ARRAY(SELECT m.id FROM municipality m
                         WHERE m.code = s.code
                           AND ({country_text} IS NULL OR m.country = upper({country_text}))
                         ORDER BY m.id) AS municipality_ids
            FROM import_stage s CROSS JOIN LATERAL (SELECT {stored} AS geom) g
        )
        SELECT st.row_no, st.code, coalesce(m.country, upper({country_text.replace("s.", "st.")}))
                   AS country,
               m.id AS municipality_id, st.stored_geom AS geom,
               coalesce({_col(columns, "kind").replace("s.", "st.")}, 'seat') AS kind,
               {_geometry_problem_sql(spec, "st.geom", "st.stored_geom")} AS geometry_problem,
               CASE WHEN st.code IS NULL THEN NULL
                    WHEN cardinality(st.municipality_ids) > 1
                        THEN 'municipality code ' || st.code || ' is in several countries: '
                             || 'add a country column'
                    WHEN m.id IS NULL
                        THEN 'no municipality with code ' || st.code
                             || coalesce(' in ' || upper({country_text.replace("s.", "st.")}), '')
                    WHEN st.stored_geom IS NOT NULL AND ST_IsValid(st.stored_geom)
                         AND NOT ST_DWithin(mb.boundary, st.stored_geom, {SEAT_REACH_M})
                        THEN 'the point lies ' || {_distance_sql("mb.boundary", "st.stored_geom")}
                             || ' outside municipality ' || mb.name
                             || ': is the code or the CRS right?'
               END AS reference_problem,
               'code' AS reference_field,
               m.extent, 'municipality ' || mb.name AS extent_name
        FROM staged st
        LEFT JOIN {MUNICIPALITY_EXTENTS} m
               ON cardinality(st.municipality_ids) = 1 AND m.id = st.municipality_ids[1]
        LEFT JOIN municipality mb ON mb.id = m.id
        """
    ))


def _resolve_free(conn: Connection, spec: Target, columns: list[str], stored: str,
                  scope: Scope) -> None:
    # Infrastructure and constraint areas belong to no municipality: they must lie near the regions.
    conn.execute(text(
        f"""
        CREATE {work_table(conn)} import_row AS
        SELECT s.row_no, g.geom, {_geometry_problem_sql(spec, "s.geom", "g.geom")} AS geometry_problem,
               NULL::text AS reference_problem, NULL::text AS reference_field,
               coalesce(ST_Expand((SELECT ST_Extent(boundary) FROM region), 20000),
                        {_europe_extent()}) AS extent,
               'the regions' AS extent_name
               {"".join(f", s.{c}" for c in columns)}
        FROM import_stage s CROSS JOIN LATERAL (SELECT {stored} AS geom) g
        """
    ))


def _required_on_create(conn: Connection, spec: Target, columns: list[str]) -> None:
    """A row that would create a record needs the fields the table has no default for."""
    keys = [k.strip() for k in CONFLICT_KEYS[spec.name].split(",")]
    match = " AND ".join(f"t.{k} = r.{k}" for k in keys)
    for column in REQUIRED_ON_CREATE.get(spec.name, ()):
        value = f"r.{column}" if column in columns else "NULL"
        conn.execute(text(
            f"""
            INSERT INTO import_problem
            SELECT r.row_no, '{column}', 'required for a new {spec.table}'
            FROM import_row r
            WHERE {value} IS NULL AND NOT EXISTS (SELECT 1 FROM {spec.table} t WHERE {match})
            """
        ))


def problems(conn: Connection) -> list[tuple[int, str, str]]:
    """Every recorded problem, by row."""
    return [
        (row.row_no, row.field, row.reason)
        for row in conn.execute(text(
            "SELECT DISTINCT row_no, field, reason FROM import_problem p "
            # A row whose coordinates the reader could not take has no geometry: the reader's
            # reason ("E/N missing or not a number", "not readable as WKT") says it better.
            "WHERE NOT (reason = 'missing geometry' AND EXISTS ("
            "    SELECT 1 FROM import_problem o WHERE o.row_no = p.row_no"
            "    AND o.field = 'geometry' AND o.reason <> 'missing geometry')) "
            "ORDER BY row_no, field, reason"
        ))
    ]


# ---------------------------------------------------------------------------------------------
# Loading: one INSERT ... SELECT ... ON CONFLICT per target, rows with problems left out.

#: The SQL cast from staged text of each kind of catalogued field; a number as its column's.
_KIND_CASTS = {"bool": "::boolean", "date": "::date", "integer": "::integer"}


def _catalogued_casts(collection: Collection, table: Table) -> dict[str, str]:
    """The columns of ``table`` that ``collection``'s import layout fills (its key aside)."""
    casts = {}
    for field in collection.importable:
        if field.name not in table.c or field.name in ("cadastral_ref", "name"):
            continue
        cast = _KIND_CASTS.get(field.kind, "")
        if field.kind == "number":
            numeric = isinstance(table.c[field.name].type, Numeric) and not isinstance(
                table.c[field.name].type, Double)
            cast = "::numeric" if numeric else "::double precision"
        casts[field.name] = cast
    return casts


#: Per target: the table's columns filled from a staged field, with the SQL cast from text.
COLUMN_CASTS: dict[str, dict[str, str]] = {
    "plots": _catalogued_casts(PLOTS, tables.plot),
    "zones": _catalogued_casts(ZONES, tables.zone),
    "municipalities": {"population": "::integer", "official_area_km2": "::double precision"},
    "regions": {"official_area_km2": "::double precision"},
    "seats": {},
    "infrastructure": {"code": ""},
    "constraints": {"severity": ""},
}

#: Per target: the key and always-written columns (name in table, SQL over ``r``).
BASE_COLUMNS: dict[str, dict[str, str]] = {
    "plots": {"cadastral_ref": "r.cadastral_ref", "zone_id": "r.zone_id", "boundary": "r.geom"},
    "zones": {"municipality_id": "r.municipality_id", "name": "r.name", "boundary": "r.geom"},
    "municipalities": {"country": "r.country", "code": "r.code", "name": "r.name",
                       "region_id": "r.region_id", "boundary": "r.geom"},
    "regions": {"code": "r.code", "name": "r.name", "country": "r.country", "level": "r.level",
                "boundary": "r.geom"},
    "infrastructure": {"kind": "r.kind", "name": "r.name", "geom": "r.geom"},
    "constraints": {"kind": "r.kind", "name": "r.name", "boundary": "r.geom"},
    "seats": {"seat": "r.geom", "seat_kind": "r.kind"},
}

CONFLICT_KEYS = {
    "plots": "country, cadastral_ref", "zones": "municipality_id, name",
    "municipalities": "country, code", "regions": "code", "seats": "country, code",
    "infrastructure": "kind, name", "constraints": "kind, name",
}

#: Fields that a new row must have because the table has no default for them.
REQUIRED_ON_CREATE = {"zones": ("kind",)}


@dataclass
class LoadCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    #: New plots the file gave no status, created as available (KEEP_WHEN_EMPTY).
    available_by_default: int = 0
    #: New plots the file gave no brownfield value, created as not brownfield.
    not_brownfield_by_default: int = 0


#: NOT NULL columns with a default: an empty cell keeps an existing row's value, a new row
#: gets the default (never a NULL that the table would refuse).
KEEP_WHEN_EMPTY: dict[str, dict[str, str]] = {
    "plots": {"status": "'available'", "brownfield": "'false'", "allowed_uses": "NULL"},
    "zones": {"lifecycle": "'operational'", "brownfield": "'false'", "allowed_uses": "NULL"},
}


def _fill_empty_cells(conn: Connection, spec: Target, columns: list[str]) -> None:
    keys = [k.strip() for k in CONFLICT_KEYS[spec.name].split(",")]
    match = " AND ".join(f"t.{k} = r.{k}" for k in keys)
    for column, default in KEEP_WHEN_EMPTY.get(spec.name, {}).items():
        if column not in columns:
            continue
        existing = f"array_to_string(t.{column}, ',')" if column == "allowed_uses" else f"t.{column}::text"
        conn.execute(text(
            f"UPDATE import_row r SET {column} = {existing} FROM {spec.table} t "
            f"WHERE r.{column} IS NULL AND {match}"
        ))
        if default != "NULL":  # setting NULL to NULL would rewrite every row for nothing
            conn.execute(text(f"UPDATE import_row SET {column} = {default} WHERE {column} IS NULL"))


def _written_values(spec: Target, columns: list[str], empty: dict[str, str] | None = None
                    ) -> dict[str, str]:
    """Per table column, the SQL over the resolved row ``r`` that fills it.

    ``empty`` maps a column to the SQL text that stands in for an empty cell (a default,
    or the column's value as stored); other empty cells write NULL.
    """
    values = dict(BASE_COLUMNS[spec.name])
    for column, cast in COLUMN_CASTS[spec.name].items():
        if column in columns:
            source = f"r.{column}"
            if empty and empty.get(column, "NULL") != "NULL":
                source = f"coalesce({source}, {empty[column]})"
            if column == "allowed_uses":
                source = f"coalesce(string_to_array({source}, ','), '{{}}')"
            values[column] = f"{source}{cast}"
    return values


#: A geometry the file gives within this distance (m) of the stored one, vertex by vertex,
#: is the stored one: a plot exported as GeoJSON or CSV (7 decimals of a degree, under 1 cm)
#: and imported back with a new price must not get a new boundary, a new version and an
#: audit event for the rounding of its coordinates.
SAME_SHAPE_M = 0.01


def _keep_same_shape(spec: Target, values: dict[str, str], alias: str) -> dict[str, str]:
    """``values`` with the target's geometry column (the one written from ``r.geom``) giving
    the stored geometry (``alias``) when the new one is the same shape within SAME_SHAPE_M.
    Equal ones are told by the cheap exact comparison first, in order."""
    column = next(n for n, v in BASE_COLUMNS[spec.name].items() if v == "r.geom")
    stored, given = f"{alias}.{column}", values[column]
    return {**values, column: (
        f"CASE WHEN {stored} = {given} THEN {stored} "
        f"WHEN ST_HausdorffDistance({stored}, {given}) <= {SAME_SHAPE_M} THEN {stored} "
        f"ELSE {given} END")}


def _kept_plot_values(spec: Target, columns: list[str], alias: str) -> dict[str, str]:
    """The values an existing plot (``alias``) gets: an empty cell of a KEEP_WHEN_EMPTY column
    leaves the plot's value as it is (a new plot gets the column's default instead). In the
    statements themselves, not by updating the staged rows first (``_fill_empty_cells``):
    that rewrote a million staged rows in a re-import (2.9 s)."""
    stored = {column: f"array_to_string({alias}.{column}, ',')" if column == "allowed_uses"
              else f"{alias}.{column}::text" for column in KEEP_WHEN_EMPTY["plots"]}
    return _keep_same_shape(spec, _written_values(spec, columns, stored), alias)


def load(conn: Connection, spec: Target, columns: list[str], *, actor: str,
         account_id: int | None, note: str | None, progress: Progress | None = None,
         effective_date: dt.date | None = None) -> LoadCounts:
    """Upsert the rows without problems; for plots, write one audit event per changed plot,
    effective on ``effective_date`` (default today).
    ``progress`` hears of each step of a plot load (``LOAD_STEPS``) as it starts."""
    table = spec.table
    if spec.name == "plots":
        return _load_plots(conn, spec, columns, actor=actor, account_id=account_id, note=note,
                           progress=progress, effective_date=effective_date)
    if spec.name == "seats":
        return _load_seats(conn)
    _fill_empty_cells(conn, spec, columns)
    values = _written_values(spec, columns)
    names = list(values)
    key_names = [k.strip() for k in CONFLICT_KEYS[spec.name].split(",")]
    updatable = [n for n in names if n not in key_names]
    versioned = spec.name in ("plots", "zones")
    given = _keep_same_shape(spec, {n: f"EXCLUDED.{n}" for n in names}, "t")
    set_clause = ", ".join(f"{n} = {given[n]}" for n in updatable)
    if versioned:
        set_clause += ", version = t.version + 1, updated_at = now()"
    changed = (
        f"({', '.join('t.' + n for n in updatable)}) IS DISTINCT FROM "
        f"({', '.join(given[n] for n in updatable)})"
    )
    conn.execute(text(
        f"""
        CREATE {work_table(conn)} import_written AS
        WITH written AS (
            INSERT INTO {table} AS t ({", ".join(names)})
            SELECT {", ".join(values[n] for n in names)}
            FROM import_row r
            WHERE NOT EXISTS (SELECT 1 FROM import_problem x WHERE x.row_no = r.row_no)
            ON CONFLICT ({CONFLICT_KEYS[spec.name]}) DO UPDATE SET {set_clause}
            WHERE {changed}
            RETURNING t.id, (t.xmax = 0) AS created
        )
        SELECT * FROM written
        """
    ))
    conn.execute(text("ANALYZE import_written"))
    written = conn.execute(text(
        "SELECT count(*) FILTER (WHERE created), count(*) FILTER (WHERE NOT created) "
        "FROM import_written"
    )).one()
    good = _good_row_count(conn)
    return LoadCounts(created=written[0], updated=written[1],
                      unchanged=good - written[0] - written[1])


def _load_seats(conn: Connection) -> LoadCounts:
    """Each municipality's seat: a seat replaces what was there, a centroid only stands in
    where no seat is known (a seat the demo or a person set has no kind: it is a seat)."""
    updated = conn.execute(text(
        """
        WITH written AS (
            UPDATE municipality t SET seat = r.geom, seat_kind = r.kind
            FROM import_row r
            WHERE t.id = r.municipality_id
              AND NOT EXISTS (SELECT 1 FROM import_problem x WHERE x.row_no = r.row_no)
              AND (r.kind = 'seat' OR t.seat IS NULL OR t.seat_kind = 'centroid')
              AND (t.seat IS NULL OR NOT ST_DWithin(t.seat, r.geom, :same)
                   OR t.seat_kind IS DISTINCT FROM r.kind)
            RETURNING t.id
        )
        SELECT count(*) FROM written
        """), {"same": SAME_SHAPE_M}).scalar_one()
    good = _good_row_count(conn)
    return LoadCounts(created=0, updated=updated, unchanged=good - updated)


#: The steps of a plot load, told to ``progress`` as each starts: a million plots take
#: about a minute here, and a bar standing still that long looks like a hang.
LOAD_STEPS = ("writing plots", "measuring distances", "recording the audit trail",
              "building indexes and keys")


def _load_plots(conn: Connection, spec: Target, columns: list[str], *, actor: str,
                account_id: int | None, note: str | None,
                progress: Progress | None = None,
                effective_date: dt.date | None = None) -> LoadCounts:
    """Plots: new rows by one INSERT, changed rows by one UPDATE, audit events by one INSERT.

    Separate statements instead of ``ON CONFLICT``: a plain INSERT skips the
    speculative insertion per row, and each trigger sees only its own rows.
    The proximity triggers are deferred for this transaction and the distances
    of new and moved plots computed once at the end; the loader supplies each
    plot's country from its zone (resolved in ``import_row``), which a
    statement-level trigger checks at once instead of a query per row.
    """
    created_values = _written_values(spec, columns, KEEP_WHEN_EMPTY["plots"])
    names = list(created_values)
    updatable = [n for n in names if n != "cadastral_ref"]
    def step(number: int) -> None:
        if progress:
            progress(LOAD_STEPS[number], number, len(LOAD_STEPS))

    step(0)
    good = _good_row_count(conn)
    conn.execute(text("SET LOCAL locations.plot_country_given = 'on'"))
    conn.execute(text("SET LOCAL locations.defer_proximity = 'on'"))

    def changed(alias: str) -> str:
        kept = _kept_plot_values(spec, columns, alias)
        return (f"({', '.join(f'{alias}.{n}' for n in updatable)}) IS DISTINCT FROM "
                f"({', '.join(kept[n] for n in updatable)})")

    # The plots the file names that exist already. What the audit needs of them (the values
    # before, the boundary) is kept only for those the file changes: a re-import of a
    # million unchanged plots built a million jsonb values for nothing (9.2 s in all).
    conn.execute(text(
        f"""
        CREATE {work_table(conn)} import_before AS
        SELECT c.row_no, c.id, c.changed,
               CASE WHEN c.changed THEN c.boundary END AS old_boundary,
               CASE WHEN c.changed THEN {_plot_values_sql("c", names)} END AS old_values
        FROM (SELECT r.row_no, {", ".join(f"p.{n}" for n in ["id", "area_m2", *names])},
                     {changed("p")} AS changed
              FROM import_row r
              JOIN plot p ON p.country = r.country AND p.cadastral_ref = r.cadastral_ref
              WHERE NOT EXISTS (SELECT 1 FROM import_problem x WHERE x.row_no = r.row_no)
              OFFSET 0  -- kept a subquery, so that each row is compared once, not per use
             ) c
        """
    ))
    conn.execute(text("ANALYZE import_before (row_no, id, changed)"))
    # Only new plots count towards a rebuild: a file of unchanged plots rebuilt every index.
    existing = conn.execute(text("SELECT count(*) FROM import_before")).scalar_one()
    restore = _drop_for_bulk_load(conn, good - existing)
    # A first load: every plot will be this import's and none has distances yet, which the
    # exclusive lock of the bulk load keeps so until the import commits.
    first_load = bool(restore) and conn.execute(text(
        "SELECT NOT EXISTS (SELECT 1 FROM plot) AND NOT EXISTS (SELECT 1 FROM plot_proximity)"
    )).scalar_one()
    # New plots bring their area and web-mercator copy from import_row, both computed there
    # from r.geom by plot's own functions: plot's trigger need not compute them again (0018).
    conn.execute(text("SET LOCAL locations.plot_geometry_given = 'on'"))
    # The writes return ids only; the audit insert builds the audited values in one pass
    # (about 10 s a million plots). Built here, as jsonb in RETURNING kept in two tuple
    # stores, they cost 17 s and the audit insert still had to write them.
    conn.execute(text(
        f"""
        CREATE {work_table(conn)} import_written AS
        WITH written AS (
            INSERT INTO plot AS t (country, {", ".join(names)}, area_m2, boundary_3857)
            SELECT r.country, {", ".join(created_values[n] for n in names)},
                   r.derived_area_m2, r.derived_boundary_3857
            FROM import_row r
            WHERE NOT EXISTS (SELECT 1 FROM import_problem x WHERE x.row_no = r.row_no)
              -- NOT IN, hashed: NOT EXISTS would nest-loop over an empty import_before
              -- once per row (6 s for a million).
              AND r.row_no NOT IN (SELECT b.row_no FROM import_before b)
            RETURNING t.id, true AS created, true AS moved
        )
        SELECT * FROM written
        """
    ))
    conn.execute(text("SET LOCAL locations.plot_geometry_given = 'off'"))
    kept = _kept_plot_values(spec, columns, "t")
    conn.execute(text(
        f"""
        WITH written AS (
            UPDATE plot t SET country = r.country,
                {", ".join(f"{n} = {kept[n]}" for n in updatable)},
                version = t.version + 1, updated_at = now()
            FROM import_before b JOIN import_row r ON r.row_no = b.row_no
            WHERE t.id = b.id AND b.changed
            RETURNING t.id, false, NOT ST_Equals(b.old_boundary, t.boundary)
        )
        INSERT INTO import_written SELECT * FROM written
        """
    ))
    conn.execute(text("ANALYZE import_written"))
    # New plots the file gives no status go on the map as available, and those it gives
    # no brownfield value count as greenfield. The report says how many, so that a
    # cadastral file (parcels, neither column) is not published as a list of greenfield
    # offers unawares.
    given = [c for c in ("status", "brownfield") if c in columns]
    counted = dict.fromkeys(("status", "brownfield"), good - existing)
    if given:
        counted |= conn.execute(text(
            f"SELECT {', '.join(f'count(*) FILTER (WHERE r.{c} IS NULL) AS {c}' for c in given)} "
            "FROM import_row r "
            "WHERE NOT EXISTS (SELECT 1 FROM import_problem x WHERE x.row_no = r.row_no) "
            "AND r.row_no NOT IN (SELECT b.row_no FROM import_before b)")).mappings().one()
    # Distances of the new and moved plots, in one set-based statement, then their events.
    # A first load does both for the whole table with parallel workers (0015 and
    # _audit_new_plots): distances 19 s -> 15 s a million measured alone.
    step(1)
    if first_load:
        conn.execute(text("SELECT plot_proximity_fill()"))
        step(2)
        _audit_new_plots(conn, names, actor=actor, account_id=account_id, note=note,
                         effective_date=effective_date)
    else:
        conn.execute(text(
            "SELECT plot_proximity_refresh(ARRAY(SELECT id FROM import_written WHERE moved))"))
        step(2)
        _audit_plots(conn, names, actor=actor, account_id=account_id, note=note,
                     effective_date=effective_date)
    if restore:
        step(3)
    _restore_after_bulk_load(conn, restore)
    conn.execute(text("SET LOCAL locations.defer_proximity = 'off'"))
    conn.execute(text("SET LOCAL locations.plot_country_given = 'off'"))
    created, updated = conn.execute(text(
        "SELECT count(*) FILTER (WHERE created), count(*) FILTER (WHERE NOT created) "
        "FROM import_written"
    )).one()
    return LoadCounts(created=created, updated=updated, unchanged=good - created - updated,
                      available_by_default=counted["status"],
                      not_brownfield_by_default=counted["brownfield"])


#: Tables whose secondary indexes and foreign keys a large import rebuilds instead of
#: maintaining row by row.
BULK_REBUILT_TABLES = ("plot", "plot_proximity", "plot_event")
#: Below this many plots the rebuild saves too little to be worth the exclusive lock.
BULK_REBUILD_MIN_ROWS = 10_000


def _good_row_count(conn: Connection) -> int:
    """How many staged rows have no problem, i.e. will be written."""
    return conn.execute(text(
        "SELECT count(*) FROM import_row r "
        "WHERE NOT EXISTS (SELECT 1 FROM import_problem x WHERE x.row_no = r.row_no)"
    )).scalar_one()


def _drop_for_bulk_load(conn: Connection, incoming: int) -> list[str]:
    """Drop the secondary indexes and foreign keys of plot, plot_proximity and plot_event
    when the file brings (``incoming`` new plots) at least as many plots as the table holds
    (a first load, or one that doubles it); return the statements that put them back, for
    ``_restore_after_bulk_load``.

    Building an index once from sorted rows costs a fraction of inserting a million random
    keys into each of some fifteen btrees and a GiST; checking a foreign key once, by one
    join, costs a fraction of PostgreSQL's check per inserted row (a query and a row lock
    each: 13 s per million plots, as much again for their audit events). This is the order
    pg_restore uses: data first, then indexes and constraints. The price: the import holds
    an exclusive lock on the tables until it commits, so searches wait for a first load
    instead of reading an empty table. Primary keys stay (the distances upsert on theirs).
    The natural key (country, cadastral reference) goes too, once the plots the file names
    that exist already have been matched: keeping a million text keys sorted row by row
    cost 3.6 s, building it 1.2 s. The drop is part of the import's transaction: an import
    that fails or is killed leaves every index and key as it was, and a key that the loaded
    rows broke would fail the import when it is added back.
    """
    # The planner's estimate is enough to tell a first load from a top-up; -1: never counted.
    present = conn.execute(text(
        "SELECT CASE WHEN reltuples < 0 THEN (SELECT count(*) FROM plot) ELSE reltuples END"
        " FROM pg_class WHERE oid = 'plot'::regclass")).scalar_one()
    if incoming < max(present, BULK_REBUILD_MIN_ROWS):
        return []
    tables = {"tables": list(BULK_REBUILT_TABLES)}
    # Only a table's owner may drop its indexes: a role granted the tables but not owning
    # them loads row by row into the indexes as they stand, slower but the same result.
    if not conn.execute(text(
            "SELECT bool_and(pg_has_role(relowner, 'USAGE')) FROM pg_class "
            "WHERE oid = ANY (CAST(:tables AS regclass[]))"), tables).scalar_one():
        return []
    keys = conn.execute(text(
        """
        SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
        FROM pg_constraint c
        WHERE c.conrelid = ANY (CAST(:tables AS regclass[])) AND c.contype IN ('u', 'f')
          -- Dropping a foreign key locks the table it references until the commit. Every
          -- authenticated request reads account, so the key to it stays: dropped, it made
          -- them all wait for the load, the status of its own import job too. Its check
          -- costs nothing for the command line's events (no account), a lookup per event
          -- over HTTP.
          AND c.confrelid IS DISTINCT FROM CAST('account' AS regclass)
        -- Unique keys back before foreign keys, which might reference them.
        ORDER BY c.contype DESC, c.conrelid::regclass::text, c.conname
        """), tables).all()
    indexes = conn.execute(text(
        """
        SELECT i.relname, pg_get_indexdef(x.indexrelid)
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        WHERE x.indrelid = ANY (CAST(:tables AS regclass[])) AND NOT x.indisprimary
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
        ORDER BY i.relname
        """), tables).all()
    for table, name, _ in reversed(keys):
        conn.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
    for name, _ in indexes:
        conn.execute(text(f'DROP INDEX "{name}"'))
    _renew_empty_tables(conn)
    return ([definition for _, definition in indexes]
            + [f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
               for table, name, definition in keys])


def _renew_empty_tables(conn: Connection) -> None:
    """Give a first load's empty tables new files, so that it writes them without WAL.

    With ``wal_level = minimal`` (the embedded cluster's, which has no replicas to feed),
    PostgreSQL writes a table whose file was created in the running transaction straight
    to disk and syncs it at commit, instead of logging every row and page twice. TRUNCATE
    of an empty table is how a transaction gets new files for it. Under ``replica`` this
    changes nothing but costs nothing either. Only tables that are really empty are
    truncated, checked under the exclusive lock the bulk load holds already.
    """
    if conn.execute(text("SELECT EXISTS (SELECT 1 FROM plot)")).scalar_one():
        return
    # plot's truncate trigger renews plot_proximity. The tables that keep a key to plot
    # (plot_site_metrics, inquiry) go with it, as TRUNCATE demands: only when empty, which
    # a key to no plot at all should make them, checked as for the events below.
    # And so do the tables keeping a key to those (inquiry_event to inquiry), all the way.
    referencing = conn.execute(text(
        """
        WITH RECURSIVE keyed(tab) AS (
            SELECT 'plot'::regclass
            UNION
            SELECT c.conrelid::regclass FROM pg_constraint c JOIN keyed k ON c.confrelid = k.tab
            WHERE c.contype = 'f' AND c.conrelid <> 'plot_event'::regclass
        )
        SELECT tab::text FROM keyed WHERE tab <> 'plot'::regclass ORDER BY 1
        """)).scalars().all()
    for table in referencing:
        if conn.execute(text(f"SELECT EXISTS (SELECT 1 FROM {table})")).scalar_one():
            return
    tables = ["plot", *referencing]
    # Events outlive nothing here: a plot with events cannot be deleted, so no plots means
    # no events; checked all the same, as history must never be lost to a speed-up.
    if not conn.execute(text("SELECT EXISTS (SELECT 1 FROM plot_event)")).scalar_one():
        tables.append("plot_event")
    conn.execute(text(f"TRUNCATE {', '.join(tables)}"))


def _restore_after_bulk_load(conn: Connection, statements: list[str]) -> None:
    """Build the dropped indexes, add the foreign keys back (each checked by one join)."""
    if not statements:
        return
    conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
    for statement in statements:
        conn.execute(text(statement))
    # Fresh statistics, so the first searches after a large load are planned for its size.
    for table in BULK_REBUILT_TABLES:
        conn.execute(text(f"ANALYZE {table}"))


def _plot_values_sql(alias: str, names: list[str]) -> str:
    """The audited values of a plot as jsonb: the imported columns, the boundary by its area."""
    values = {}
    for name in names:
        if name == "boundary":
            values["area_m2"] = f"round({alias}.area_m2::numeric, 1)"
        elif name != "cadastral_ref":
            values[name] = f"{alias}.{name}"
    # Keys in the order jsonb keeps them (shorter first, then bytewise): its sort then finds
    # them sorted at once, which builds a million values 25 % faster (3.7 s -> 2.8 s).
    keys = sorted(values, key=lambda key: (len(key.encode()), key.encode()))
    pairs = ", ".join(f"'{key}', {values[key]}" for key in keys)
    return f"jsonb_build_object({pairs})"


def _audit_new_plots(conn: Connection, names: list[str], *, actor: str, account_id: int | None,
                     note: str | None, effective_date: dt.date | None = None) -> None:
    """A first load's events: every plot in the table is new, so its values are built from
    the table alone, in a statement PostgreSQL may run with parallel workers (an INSERT it
    runs on one core). A million values: 6.5 s on one core, 3.8 s on two."""
    # The planner prices handing a million rows up from the workers above building their
    # values; building them is what costs here.
    conn.execute(text("SET LOCAL parallel_tuple_cost = 0"))
    conn.execute(text(
        f"CREATE {work_table(conn)} import_new_values AS "
        f"SELECT t.id, {_plot_values_sql('t', names)} AS new_values FROM plot t"))
    conn.execute(text("RESET parallel_tuple_cost"))
    conn.execute(text(
        """
        INSERT INTO plot_event (plot_id, actor, account_id, action, old_values, new_values, note,
                                effective_date)
        SELECT id, :actor, :account_id, 'import', NULL, new_values, :note,
               coalesce(CAST(:effective AS date), current_date)
        FROM import_new_values
        """
    ), {"actor": actor, "account_id": account_id, "note": note, "effective": effective_date})


def _audit_plots(conn: Connection, names: list[str], *, actor: str, account_id: int | None,
                 note: str | None, effective_date: dt.date | None = None) -> None:
    """One event per written plot: a new plot's values, or a changed plot's changed values
    before and after. The values after are the plot's as written, read back by id."""
    conn.execute(text(
        f"""
        INSERT INTO plot_event (plot_id, actor, account_id, action, old_values, new_values, note,
                                effective_date)
        SELECT w.id, :actor, :account_id, 'import',
               CASE WHEN w.created THEN NULL ELSE (
                   SELECT jsonb_object_agg(o.key, o.value) FROM jsonb_each(b.old_values) o
                   WHERE v.new_values -> o.key IS DISTINCT FROM o.value) END,
               CASE WHEN w.created THEN v.new_values ELSE (
                   SELECT jsonb_object_agg(n.key, n.value) FROM jsonb_each(v.new_values) n
                   WHERE b.old_values -> n.key IS DISTINCT FROM n.value) END,
               :note, coalesce(CAST(:effective AS date), current_date)
        FROM import_written w
        JOIN plot t ON t.id = w.id
        CROSS JOIN LATERAL (SELECT {_plot_values_sql("t", names)} AS new_values) v
        LEFT JOIN import_before b ON b.id = w.id AND NOT w.created
        """
    ), {"actor": actor, "account_id": account_id, "note": note, "effective": effective_date})
