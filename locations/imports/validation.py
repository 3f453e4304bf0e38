"""Checking staged import rows set-based in PostGIS: geometries (valid, in the right place,
of the right type), references (zones, municipalities, regions) looked up, overlaps between
plots, and every problem recorded with its row in ``import_problem``; the resolved rows go
to ``import_row`` for the load.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyproj import CRS
from sqlalchemy import Connection, text

from locations.imports.loading import CONFLICT_KEYS, REQUIRED_ON_CREATE
from locations.imports.targets import POLYGONS, Target
from locations.imports.workspace import work_table
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



@dataclass(frozen=True)
class Scope:
    """Whom an import is for: ``None`` ids mean no restriction (admin, CLI)."""

    municipality_ids: frozenset[int] | None = None
    region_ids: frozenset[int] | None = None



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
