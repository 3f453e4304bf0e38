"""A plot's outline as a write gives it, checked: its CRS, its coordinates, a valid
(Multi)Polygon inside its zone that overlaps no other live plot; stored in EPSG:3035."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from locations.db import server_message
from locations.errors import InvalidGeometry
from locations.limits import (
    EDGE_TOLERANCE_M,
    core_sql,
    outline_problem_sql,
    overlap_sql,
    zone_outline_lock_sql,
)
from locations.values import parse_id


def parse_srid(crs: str | int | None) -> int:
    """The EPSG code of a declared CRS: 'EPSG:3794', 3794, 'CRS84' ...; GeoJSON's default is CRS84."""
    if crs is None:
        return 4326
    value = str(crs).strip().upper()
    if value in ("CRS84", "OGC:CRS84", "URN:OGC:DEF:CRS:OGC:1.3:CRS84", "URN:OGC:DEF:CRS:OGC::CRS84"):
        return 4326
    for prefix in ("URN:OGC:DEF:CRS:EPSG::", "EPSG:"):
        value = value.removeprefix(prefix)
    # parse_id, not isdigit(): 'EPSG:²' was a 500, and a code beyond PostgreSQL's integer too.
    srid = parse_id(value)
    if srid is None:
        raise InvalidGeometry(f"{crs!r} is not a CRS; give an EPSG code such as 'EPSG:3794'", "crs")
    return srid


def check_coordinates(geometry: Any) -> None:
    """Refuse GeoJSON coordinates that are not finite JSON numbers.

    PostGIS reads ``["15.6", "46.2"]`` as numbers, so a client sending strings would get
    its outline stored as if it had sent numbers, and learn nothing of its mistake.

    Raises:
        InvalidGeometry: naming the first offending value.
    """
    if isinstance(geometry, str):
        try:
            geometry = json.loads(geometry)
        except ValueError:
            return  # not JSON at all: PostGIS says why
    if not isinstance(geometry, Mapping):
        return
    pending = [geometry.get("coordinates")]
    while pending:
        value = pending.pop()
        if value is None:
            continue
        if isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidGeometry(f"coordinates must be numbers, not {value!r}"[:200])
        elif not math.isfinite(value):
            raise InvalidGeometry(f"coordinates must be finite numbers, not {value}")


def validate_plot_geometry(
    conn: Connection,
    geometry: Any,
    crs: str | int | None,
    zone_id: int,
    *,
    plot_id: int | None = None,
    replacing: Sequence[int] = (),
) -> str:
    """Check a plot outline in PostGIS and return it as EPSG:3035 MultiPolygon (hex EWKB).

    The outline must parse, be a valid (Multi)Polygon in its declared CRS, lie inside
    its zone and overlap no other live plot, both within EDGE_TOLERANCE_M (``plot_id``
    itself and the plots it is ``replacing`` aside).

    Raises:
        InvalidGeometry: with the reason PostGIS gives.
    """
    if isinstance(geometry, Mapping) and "crs" in geometry:
        raise InvalidGeometry("declare the CRS in the request's 'crs' field, not inside the geometry")
    check_coordinates(geometry)
    srid = parse_srid(crs)
    known = conn.execute(
        text("SELECT 1 FROM spatial_ref_sys WHERE auth_name = 'EPSG' AND auth_srid = :srid"),
        {"srid": srid},
    ).first()
    if known is None:
        raise InvalidGeometry(f"EPSG:{srid} is not a CRS PostGIS knows", "crs")
    geojson = geometry if isinstance(geometry, str) else json.dumps(geometry)
    # Two writers drawing in one zone at once must not both pass the overlap check.
    conn.execute(text(f"SELECT {zone_outline_lock_sql(':zone')}"),
                 {"zone": zone_id})
    try:
        with conn.begin_nested():
            source = conn.execute(
                text(
                    f"""
                    SELECT GeometryType(g) AS type, ST_IsEmpty(g) AS empty,
                           ST_IsValid(g) AS valid, ST_IsValidReason(g) AS reason,
                           -- Before the checks below: their buffer of 350,000 points takes seconds.
                           CASE WHEN GeometryType(g) IN ('POLYGON', 'MULTIPOLYGON') AND ST_IsValid(g)
                                THEN {outline_problem_sql("ST_Transform(g, 3035)")} END
                               AS outline_problem
                    FROM (SELECT ST_SetSRID(ST_Force2D(ST_GeomFromGeoJSON(:geojson)), :srid) AS g) AS raw
                    """
                ),
                {"geojson": geojson, "srid": srid},
            ).mappings().one()
            if source["type"] not in ("POLYGON", "MULTIPOLYGON"):
                raise InvalidGeometry(f"a plot is a Polygon or MultiPolygon, not a {source['type']}")
            if source["empty"]:
                raise InvalidGeometry("the geometry is empty")
            if not source["valid"]:
                raise InvalidGeometry(f"not a valid polygon: {source['reason']}")
            if source["outline_problem"]:
                raise InvalidGeometry(source["outline_problem"])
            checked = conn.execute(
                text(
                    f"""
                    WITH candidate AS (
                        SELECT ST_Multi(ST_Transform(
                                   ST_SetSRID(ST_Force2D(ST_GeomFromGeoJSON(:geojson)), :srid), 3035)) AS g
                    ), inner_part AS (
                        -- Shrunk by the tolerance: what must lie in the zone and touch no plot.
                        SELECT g, {core_sql("g")} AS core FROM candidate
                    )
                    SELECT encode(ST_AsEWKB(c.g), 'hex') AS ewkb,
                           ST_IsValid(c.g) AS valid, ST_IsValidReason(c.g) AS reason,
                           ST_Area(c.g) AS area_m2,
                           z.name AS zone_name,
                           ST_CoveredBy(c.core, z.boundary) AS inside,
                           ST_Area(ST_Difference(c.g, z.boundary)) AS outside_m2,
                           (SELECT json_agg(json_build_object(
                                       'id', p.id, 'cadastral_ref', p.cadastral_ref,
                                       'overlap_m2', round(ST_Area(ST_Intersection(p.boundary, c.g))
                                                           ::numeric, 1))
                                       ORDER BY p.id)
                            FROM plot p
                            WHERE p.retired_at IS NULL
                              AND p.id <> ALL (CAST(:skip AS bigint[]))
                              AND {overlap_sql("p.boundary", "c.core")}) AS overlaps
                    FROM inner_part c, zone z
                    WHERE z.id = :zone
                    """
                ),
                {"geojson": geojson, "srid": srid, "zone": zone_id,
                 "skip": [i for i in (plot_id, *replacing) if i is not None]},
            ).mappings().one()
    except DBAPIError as exc:
        # PostGIS explains a bad GeoJSON or an impossible transform in its first message line.
        raise InvalidGeometry(server_message(exc) or "the geometry cannot be read") from None
    if not checked["valid"]:
        raise InvalidGeometry(f"not valid once transformed to EPSG:3035: {checked['reason']}")
    if not checked["inside"]:
        raise InvalidGeometry(
            f"the plot extends {checked['outside_m2']:.1f} m² outside zone {checked['zone_name']!r} "
            f"(edges may stray {EDGE_TOLERANCE_M} m)"
        )
    if checked["overlaps"]:
        overlaps = "; ".join(
            f"plot {o['id']} ({o['cadastral_ref']}) by {o['overlap_m2']} m²" for o in checked["overlaps"]
        )
        raise InvalidGeometry(f"the plot overlaps {overlaps} (edges may stray {EDGE_TOLERANCE_M} m)")
    return checked["ewkb"]
