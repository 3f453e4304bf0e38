"""Reads of the core model as GeoJSON features: regions, municipalities, zones, plots, infrastructure.

Public reads never include a plot's internal fields (owner contact, internal
note); callers that may see some ask with their ``InternalReach``. Geometries are
CRS84 unless a read is given another ``crs``; lists read the part a ``Window`` says
(a bbox, a page), by default all of it.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, text

from locations import regions
from locations.accounts import InternalReach
from locations.availability import STATUSES
from locations.errors import InvalidInput, NotFound
from locations.geojson import (
    EVERYTHING,
    GEOJSON_CRS,
    OutputCrs,
    Window,
    feature,
    feature_collection,
    geometry_sql,
)
from locations.vocabulary import CONSTRAINT_KIND, INFRASTRUCTURE_KIND, REGION_LEVEL

INFRASTRUCTURE_KINDS = INFRASTRUCTURE_KIND.codes
CONSTRAINT_KINDS = CONSTRAINT_KIND.codes

#: Plot columns anybody may read, as SQL over ``p`` (plot), ``z`` (zone), ``m``, ``r``.
PLOT_PUBLIC_COLUMNS = """
    p.id, p.cadastral_ref, p.country, p.zone_id, z.name AS zone_name,
    m.id AS municipality_id, m.name AS municipality_name, r.code AS region_code,
    round(p.area_m2::numeric, 1)::float AS area_m2, p.status, p.ownership, p.offer,
    p.price_eur_m2, p.allowed_uses, p.readiness, p.brownfield,
    coalesce(p.power_mw, z.power_mw) AS power_mw, p.max_building_height_m,
    p.available_from, p.last_verified, p.version
"""
PLOT_JOINS = """
    FROM plot p
    JOIN zone z ON z.id = p.zone_id
    JOIN municipality m ON m.id = p.municipality_id
    JOIN region r ON r.id = m.region_id
"""

ZONE_COLUMNS = """
    z.id, z.name, z.kind, z.lifecycle, z.allowed_uses, z.brownfield,
    z.municipality_id, m.name AS municipality_name, r.code AS region_code, m.country,
    (SELECT array_agg(zm_m.name ORDER BY zm.municipality_id <> z.municipality_id, zm_m.name)
     FROM zone_municipality zm JOIN municipality zm_m ON zm_m.id = zm.municipality_id
     WHERE zm.zone_id = z.id) AS municipalities,
    round(z.area_m2::numeric, 1)::float AS area_m2,
    z.power_mw, z.gas, z.water, z.sewage, z.broadband, z.rail_siding, z.district_heating,
    z.manager_name, z.manager_email, z.manager_phone,
    z.description_en, z.description_sl, z.description_de, z.property_sheet_url,
    z.last_verified, z.version
"""


def list_regions(conn: Connection, *, level: str | None = None, crs: OutputCrs = GEOJSON_CRS,
                 window: Window = EVERYTHING) -> dict[str, Any]:
    """Regions of every level (or of ``level``), each with its level, parent and the number
    of municipalities it covers, coarsest first."""
    rows = conn.execute(
        text(
            f"""
            SELECT r.id, r.code, r.name, r.country, r.level, p.code AS parent_code, r.area_km2,
                   r.official_area_km2,
                   (SELECT count(*) FROM municipality_region mr WHERE mr.region_id = r.id)
                       AS municipality_count,
                   {geometry_sql("r.boundary", crs)} AS geometry
            FROM region r LEFT JOIN region p ON p.id = r.parent_id
            WHERE (CAST(:level AS text) IS NULL OR r.level = :level)
              AND {window.where("r.boundary", "r.id")}
            ORDER BY {window.order_sql("array_position(CAST(:levels AS text[]), r.level), r.code")} {window.limit_sql()}
            """
        ),
        {"level": level, "levels": list(REGION_LEVEL.codes), **window.params()},
    ).mappings()
    return feature_collection(rows)


#: A municipality's region at every level, as {level: code}.
MUNICIPALITY_REGIONS = """(SELECT jsonb_object_agg(mr.level, rr.code)
                FROM municipality_region mr JOIN region rr ON rr.id = mr.region_id
                WHERE mr.municipality_id = m.id) AS regions"""


def list_municipalities(conn: Connection, region: str | None = None, *,
                        crs: OutputCrs = GEOJSON_CRS, window: Window = EVERYTHING) -> dict[str, Any]:
    """Municipalities (those of ``region``, a code of any level, when given), each with its
    region at every level.

    Raises:
        InvalidInput: an unknown region.
    """
    selection = regions.resolve_one(conn, region)
    rows = conn.execute(
        text(
            f"""
            SELECT m.id, m.code, m.name, m.country, r.code AS region_code, {MUNICIPALITY_REGIONS},
                   m.population, m.area_km2, m.official_area_km2, m.boundary_approximate,
                   -- The town's position (labels, distances): its seat, or where none is
                   -- known an official centroid, marked as such.
                   round(ST_X(ST_Transform(m.seat, 4326))::numeric, 6) AS seat_lon,
                   round(ST_Y(ST_Transform(m.seat, 4326))::numeric, 6) AS seat_lat,
                   CASE WHEN m.seat IS NOT NULL THEN coalesce(m.seat_kind, 'seat') END
                       AS seat_kind,
                   {geometry_sql("m.boundary", crs)} AS geometry
            FROM municipality m JOIN region r ON r.id = m.region_id
            WHERE (CAST(:region_ids AS int[]) IS NULL OR {regions.municipalities_in("m.id")})
              AND {window.where("m.boundary", "m.id")}
            ORDER BY {window.order_sql("r.code, m.name, m.id")} {window.limit_sql()}
            """
        ),
        {"region_ids": selection.id_list if selection else None, **window.params()},
    ).mappings()
    return feature_collection(rows)


#: The zone properties that are double precision in the database. PostgreSQL's JSON writes
#: a whole one without its ".0" (40, not 40.0), which Python reads as an int: ``get_zone``
#: makes them floats again, so that its answer is the one a row of ZONE_COLUMNS and
#: ZONE_AGGREGATES gives (tests/test_zone_item.py holds both, and this list to their types).
ZONE_FLOAT_PROPERTIES = frozenset({"area_m2", "power_mw", "plot_area_m2", "available_area_m2",
                                   "occupancy_share"})


def _zone_properties(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    return {key: float(value) if key in ZONE_FLOAT_PROPERTIES and isinstance(value, int)
            else value for key, value in pairs}


def get_zone(conn: Connection, zone_id: int, *, crs: OutputCrs = GEOJSON_CRS) -> dict[str, Any]:
    """One zone with its facts and plot aggregates.

    Read from the zone's kept properties and, in CRS84, its kept outline (``zone_feature``,
    kept by the writers' own transactions, so a write reads its own change): one row by
    its key, where computing them took the zone's municipalities, region, figures and its
    outline transformed and written (about 7 ms at a million plots, 0.5 ms kept). In
    another CRS the outline is written for the request.

    Raises:
        NotFound: no zone has this id.
    """
    if crs == GEOJSON_CRS:
        statement = ("SELECT zf.properties::text, zf.geometry::text FROM zone_feature zf "
                     "WHERE zf.zone_id = :id")
    else:
        statement = (f"SELECT zf.properties::text, {geometry_sql('z.boundary', crs)} "
                     "FROM zone_feature zf JOIN zone z ON z.id = zf.zone_id "
                     "WHERE zf.zone_id = :id")
    row = conn.execute(text(statement), {"id": zone_id}).first()
    if row is None:
        raise NotFound(f"zone {zone_id} does not exist")
    properties, geometry = row
    return {"type": "Feature", "id": zone_id, "geometry": json.loads(geometry),
            "properties": json.loads(properties, object_pairs_hook=_zone_properties)}


def get_plot(conn: Connection, plot_id: int, *, internal: InternalReach | None = None,
             crs: OutputCrs = GEOJSON_CRS) -> dict[str, Any]:
    """One plot (retired ones included, marked by ``retired_at``).

    Raises:
        NotFound: no plot has this id.
    """
    columns = PLOT_PUBLIC_COLUMNS + ", p.retired_at"
    if internal:
        columns += ", " + internal.columns_sql()
    row = conn.execute(
        text(f"SELECT {columns}, {geometry_sql('p.boundary', crs)} AS geometry {PLOT_JOINS} WHERE p.id = :id"),
        {"id": plot_id},
    ).mappings().first()
    if row is None:
        raise NotFound(f"plot {plot_id} does not exist")
    return feature(row)


def list_infrastructure(conn: Connection, kind: list[str] | None = None, *,
                        crs: OutputCrs = GEOJSON_CRS, window: Window = EVERYTHING) -> dict[str, Any]:
    """Infrastructure, optionally only of the given kinds.

    Raises:
        InvalidInput: an unknown kind.
    """
    for value in kind or []:
        if value not in INFRASTRUCTURE_KINDS:
            raise InvalidInput("kind", f"unknown kind {value!r}; allowed: {', '.join(INFRASTRUCTURE_KINDS)}")
    rows = conn.execute(
        text(
            f"""
            SELECT i.id, i.kind, i.name, i.code, i.properties,
                   {geometry_sql("i.geom", crs)} AS geometry
            FROM infrastructure i
            WHERE (CAST(:kinds AS text[]) IS NULL OR i.kind = ANY(CAST(:kinds AS text[])))
              AND {window.where("i.geom", "i.id")}
            ORDER BY {window.order_sql("i.kind, i.name, i.id")} {window.limit_sql()}
            """
        ),
        {"kinds": kind or None, **window.params()},
    ).mappings()
    return feature_collection(rows)


def list_constraint_areas(conn: Connection, kind: list[str] | None = None, *,
                          crs: OutputCrs = GEOJSON_CRS, window: Window = EVERYTHING) -> dict[str, Any]:
    """Flood risk, Natura 2000 and water protection areas, optionally only of the given kinds.

    Raises:
        InvalidInput: an unknown kind.
    """
    for value in kind or []:
        if value not in CONSTRAINT_KINDS:
            raise InvalidInput("kind", f"unknown kind {value!r}; allowed: {', '.join(CONSTRAINT_KINDS)}")
    rows = conn.execute(
        text(
            f"""
            SELECT c.id, c.kind, c.severity, c.name, {geometry_sql("c.boundary", crs)} AS geometry
            FROM constraint_area c
            WHERE (CAST(:kinds AS text[]) IS NULL OR c.kind = ANY(CAST(:kinds AS text[])))
              AND {window.where("c.boundary", "c.id")}
            ORDER BY {window.order_sql("c.kind, c.name, c.id")} {window.limit_sql()}
            """
        ),
        {"kinds": kind or None, **window.params()},
    ).mappings()
    return feature_collection(rows)


# Per zone: plot counts by status, areas and the share of plot area sold or occupied, read
# from ``zone_summary``, which statement triggers keep current (migration 0007): a zone's
# figures cost one row whether it holds 40 plots or 40,000.
ZONE_AGGREGATES = f"""
    coalesce(zs.plot_count, 0) AS plot_count,
    round(coalesce(zs.plot_area_m2, 0), 1)::float AS plot_area_m2,
    round(coalesce(zs.available_area_m2, 0), 1)::float AS available_area_m2,
    coalesce(jsonb_strip_nulls(jsonb_build_object(
        {", ".join(f"'{status}', NULLIF(zs.{status}_count, 0)" for status in STATUSES)}
    )), '{{}}'::jsonb) AS plots_by_status,
    round(zs.occupancy_share::numeric, 4)::float AS occupancy_share
"""
ZONE_AGGREGATE_JOIN = "LEFT JOIN zone_summary zs ON zs.zone_id = z.id"
