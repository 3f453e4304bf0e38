"""Plot search: the filter model, the one SQL query builder behind it, cursor paging.

Every filter narrows the result (they combine with AND). Zone-level facts
(region, municipality, zone, broadband, gas, rail siding) are resolved first to
a set of zone ids in one small query, so the plot query filters ``plot`` by
plain columns and indexes and the planner sees the real selectivity; a plot
that states no power or uses of its own takes its zone's. Pages are keyset pages on
(sort key, id): a page costs the same on page 1 and page 1000, and nothing is
counted unless ``count`` is asked for.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import numpy as np
import pyproj
import shapely
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, text

from locations import current_scores, regions, vocabulary
from locations.accounts import InternalReach
from locations.db import NO_PARALLEL_WORKERS, fetch_rows
from locations.errors import InvalidInput
from locations.geojson import (
    GEOJSON_CRS,
    OutputCrs,
    bbox_sql,
    geometry_sql,
)
from locations.proximity import PROXIMITY_COLUMNS
from locations.values import MAX_BUILDING_HEIGHT_M, IntegerId, PlainText, parse_id

# The filters' closed lists, from the vocabulary (a tuple subscript is a Literal of each code).
Status = Literal[vocabulary.PLOT_STATUS.codes]
Use = Literal[vocabulary.USE.codes]
Readiness = Literal[vocabulary.READINESS.codes]
Ownership = Literal[vocabulary.OWNERSHIP.codes]
Broadband = Literal[vocabulary.BROADBAND.codes]
ZoneKind = Literal[vocabulary.ZONE_KIND.codes]
Sort = Literal[
    "id", "area", "-area", "price", "-price", "distance", "-distance",
    "last_verified", "-last_verified", "score", "-score",
]

#: Ordered tiers: a minimum ``readiness`` or ``broadband`` admits that tier and better ones.
READINESS_TIERS: tuple[str, ...] = vocabulary.READINESS.codes
BROADBAND_TIERS: tuple[str, ...] = vocabulary.BROADBAND.codes

#: Where EPSG:3035 (the storage CRS) is defined, lon/lat: every stored plot lies inside.
STORAGE_AREA_OF_USE = shapely.box(-35.58, 24.60, 44.83, 84.73)

MAX_LIMIT = 1000
DEFAULT_LIMIT = 50
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"

#: Distance filters and the ``plot_proximity`` column each reads.
DISTANCE_FILTERS: dict[str, str] = {
    "max_motorway_km": "motorway_km",
    "max_airport_km": "airport_km",
    "max_rail_km": "rail_station_km",
    "max_rail_freight_km": "rail_freight_km",
    "max_public_transport_km": "public_transport_km",
}


@dataclass(frozen=True)
class SortKey:
    """How a ``sort`` value orders plots: an SQL key (never NULL), its SQL type, direction."""

    expression: str
    sql_type: str
    descending: bool


def sort_key(sort: str) -> SortKey:
    descending = sort.startswith("-")
    name = sort.lstrip("-")
    # Unknown values sort last in either direction: the sentinel is the far end of the order.
    far = "-Infinity" if descending else "Infinity"
    if name == "id":
        return SortKey("p.id", "bigint", False)
    if name == "area":
        return SortKey("p.area_m2", "double precision", descending)
    if name == "price":
        return SortKey(f"coalesce(p.price_eur_m2, '{far}'::numeric)", "numeric", descending)
    if name == "last_verified":
        return SortKey(f"coalesce(p.last_verified, '{far.lower()}'::date)", "date", descending)
    if name == "score":
        # The plot's current score for the search's profile (locations.current_scores).
        return SortKey(f"coalesce(cs.total, '{far}'::real)", "real", descending)
    return SortKey(f"coalesce(pp.motorway_km, '{far}'::float8)", "double precision", descending)


class PlotFilter(BaseModel):
    """What an investor asks of plots; every given filter must hold (AND)."""

    model_config = ConfigDict(extra="forbid")

    region: list[PlainText] = Field(default_factory=list,
                                    description="Region codes of any level, any case: SI042, AT22 (Styria), AT-D-601 (district)")
    municipality: list[PlainText] = Field(default_factory=list,
                                          description="Municipality names or ids")
    zone: list[IntegerId] = Field(default_factory=list, description="Zone ids")
    zone_kind: list[ZoneKind] = Field(default_factory=list, description="Any of these zone kinds")
    status: list[Status] = Field(default_factory=list, description="Any of these statuses")
    min_area_m2: float | None = Field(None, ge=0)
    max_area_m2: float | None = Field(None, ge=0)
    max_price_eur_m2: float | None = Field(None, ge=0)
    use: list[Use] = Field(default_factory=list, description="Uses the plot must all allow")
    readiness: Readiness | None = Field(None, description="Minimum readiness tier")
    ownership: list[Ownership] = Field(default_factory=list)
    brownfield: bool | None = None
    min_power_mw: float | None = Field(None, ge=0)
    min_building_height_m: float | None = Field(
        None, ge=0, le=MAX_BUILDING_HEIGHT_M,
        description="Permitted building height at least (m; plots with none given are left out)")
    broadband: Broadband | None = Field(None, description="Minimum broadband of the zone")
    gas: bool | None = None
    rail_siding: bool | None = None
    max_motorway_km: float | None = Field(None, ge=0)
    max_airport_km: float | None = Field(None, ge=0)
    max_rail_km: float | None = Field(None, ge=0, description="To the nearest rail station")
    max_rail_freight_km: float | None = Field(None, ge=0)
    max_public_transport_km: float | None = Field(None, ge=0)
    verified_since: dt.date | None = Field(None, description="Last verified on or after this day")
    verified_until: dt.date | None = Field(None, description="Last verified on or before this day")
    bbox: list[float] | None = Field(None, description="minx, miny, maxx, maxy in bbox_crs")
    bbox_crs: PlainText | None = Field(None, description="Default CRS84 (lon/lat)")
    geometry: dict[str, Any] | None = Field(None, description="GeoJSON geometry in CRS84")
    within_m: float | None = Field(
        None, ge=0, le=100_000, description="With geometry: plots within this many metres of it"
    )
    sort: Sort = "id"
    profile: str | None = Field(None, description="With sort=score: the scoring profile",
                                pattern=r"^[a-z][a-z_]*$", max_length=40)
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    cursor: PlainText | None = None
    count: bool = False
    distances: bool = Field(False, description="Return the distances to infrastructure")

    def wants_distances(self) -> bool:
        return (self.distances or self.sort.lstrip("-") == "distance"
                or any(getattr(self, name) is not None for name in DISTANCE_FILTERS))


# -- parsing helpers shared by the API's query string and the JSON body --------------------

def parse_bbox(value: str) -> list[float]:
    """``minx,miny,maxx,maxy`` as four finite numbers.

    Raises:
        InvalidInput: not four numbers, or min above max.
    """
    parts = [p.strip() for p in value.split(",")]
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        raise InvalidInput("bbox", "must be four numbers: minx,miny,maxx,maxy") from None
    if len(numbers) != 4 or not all(math.isfinite(n) for n in numbers):
        raise InvalidInput("bbox", "must be four numbers: minx,miny,maxx,maxy")
    return numbers


@lru_cache(maxsize=64)
def _bbox_crs(bbox_crs: str | None) -> pyproj.CRS | None:
    """The CRS of a bbox (None: CRS84 lon/lat).

    Raises:
        InvalidInput: not CRS84 nor a known EPSG code.
    """
    if bbox_crs is None or bbox_crs.strip() in (CRS84, "CRS84", "OGC:CRS84"):
        return None
    match = re.fullmatch(
        r"(?:EPSG:|http://www\.opengis\.net/def/crs/EPSG/0/)(\d{4,6})", bbox_crs.strip()
    )
    if match is None:
        raise InvalidInput("bbox-crs", f"unknown CRS {bbox_crs!r}; use {CRS84} or EPSG:<code>")
    try:
        return pyproj.CRS.from_epsg(int(match.group(1)))
    except pyproj.exceptions.CRSError:
        raise InvalidInput("bbox-crs", f"EPSG:{match.group(1)} is not a known CRS") from None


@lru_cache(maxsize=64)
def _to_lonlat(crs: pyproj.CRS) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(crs, 4326, always_xy=True)


def bbox_lonlat(bbox: list[float], bbox_crs: str | None) -> str | None:
    """The bbox as a lon/lat polygon (WKT) cut to where the storage CRS is defined.

    Its edges are cut into 32 pieces before leaving their CRS, so they bend as they
    should; None when nothing of the box lies where plots can be.

    Raises:
        InvalidInput: a malformed box, an unknown CRS, or a box outside its CRS's domain.
    """
    crs = _bbox_crs(bbox_crs)
    if len(bbox) != 4 or not all(math.isfinite(n) for n in bbox):
        raise InvalidInput("bbox", "must be four numbers: minx,miny,maxx,maxy")
    minx, miny, maxx, maxy = bbox
    geographic = crs is None or crs.is_geographic
    # OGC API Features: a geographic CRS such as EPSG:4326 takes its own axis order, lat/lon.
    if crs is not None and crs.is_geographic and crs.axis_info[0].direction == "north":
        minx, miny, maxx, maxy = miny, minx, maxy, maxx
    if minx > maxx or miny > maxy:
        raise InvalidInput("bbox", "minimum above maximum; order is minx,miny,maxx,maxy")
    if geographic and not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise InvalidInput("bbox", "longitude must be within -180..180 and latitude -90..90")
    steps = np.linspace(0, 1, 33)[:-1]
    xs = np.concatenate([minx + (maxx - minx) * steps, np.full(32, maxx),
                         maxx - (maxx - minx) * steps, np.full(32, minx)])
    ys = np.concatenate([np.full(32, miny), miny + (maxy - miny) * steps,
                         np.full(32, maxy), maxy - (maxy - miny) * steps])
    if crs is not None:
        with np.errstate(all="ignore"):
            xs, ys = _to_lonlat(crs).transform(xs, ys, errcheck=False)
        if not (np.isfinite(xs).all() and np.isfinite(ys).all()):
            raise InvalidInput("bbox", f"lies outside where {bbox_crs} is defined")
    box = shapely.make_valid(shapely.Polygon(np.column_stack([xs, ys])))
    inside = box.intersection(STORAGE_AREA_OF_USE)
    return None if inside.is_empty else inside.wkt


def _search_geometry(geometry: dict[str, Any]) -> str:
    """The WKT of a GeoJSON geometry from the request, checked here so PostGIS never chokes."""
    try:
        shape = shapely.from_geojson(json.dumps(geometry))
    except Exception:  # noqa: BLE001 - any parse failure is the caller's bad input
        raise InvalidInput("geometry", "not a GeoJSON geometry") from None
    if shape is None or shape.is_empty:
        raise InvalidInput("geometry", "the geometry is empty")
    if not shape.is_valid:
        raise InvalidInput("geometry", f"the geometry is not valid: {shapely.is_valid_reason(shape)}")
    minx, miny, maxx, maxy = shape.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise InvalidInput("geometry", "coordinates must be lon/lat (CRS84)")
    return shape.wkt


def encode_cursor(sort: str, key: Any, plot_id: int) -> str:
    """A page's start: its sort (several keys comma-separated), the last plot's key (a list
    of texts for several keys) and id."""
    keys = [str(k) for k in key] if isinstance(key, list) else str(key)
    raw = json.dumps({"s": sort, "k": keys, "id": plot_id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple[Any, int]:
    """The (sort key, id) a page starts after.

    Raises:
        InvalidInput: the cursor is not one this search handed out, or belongs to another sort.
    """
    problem = InvalidInput("cursor", "not a cursor from a 'next' link of this search")
    names = sort.split(",")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        keys, plot_id = data["k"], int(data["id"])
        cursor_sort = data["s"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise problem from None
    if cursor_sort != sort:
        raise InvalidInput("cursor", f"the cursor belongs to sort={cursor_sort}, not sort={sort}")
    if len(names) == 1:
        keys = [keys]
    if not isinstance(keys, list) or len(keys) != len(names):
        raise problem
    try:
        values = [_key_value(str(key), sort_key(name).sql_type)
                  for key, name in zip(keys, names, strict=True)]
    except ValueError:
        raise problem from None
    return (values[0] if len(names) == 1 else values), plot_id


def _key_value(key: str, sql_type: str) -> Any:
    """A sort key as a cursor carries it (text), as its SQL type's Python value.

    Raises:
        ValueError: not a value of that type.
    """
    if sql_type == "bigint":
        return int(key)
    if sql_type == "date":
        return key if key in ("infinity", "-infinity") else dt.date.fromisoformat(key)
    return float(key)  # accepts 'inf'/'Infinity' as PostgreSQL does


# -- the query ----------------------------------------------------------------------------

PLOT_SEARCH_COLUMNS = """
    p.id, p.cadastral_ref, p.country, p.zone_id, z.name AS zone_name,
    m.id AS municipality_id, m.name AS municipality_name, r.code AS region_code,
    round(p.area_m2::numeric, 1)::float AS area_m2, p.status, p.ownership, p.offer,
    p.price_eur_m2,
    CASE WHEN cardinality(p.allowed_uses) > 0 THEN p.allowed_uses ELSE z.allowed_uses END
        AS allowed_uses,
    p.readiness, p.brownfield, coalesce(p.power_mw, z.power_mw) AS power_mw,
    z.broadband, z.gas, z.rail_siding, p.available_from, p.last_verified, p.version,
    p.max_building_height_m
"""

#: Sent in the same string as a page query, so they cost no round trip of their own. A page
#: is about 50 rows found by an index walk: starting parallel workers or compiling with JIT
#: would cost more than the whole query. SET LOCAL: they end with the statement's transaction.
PAGE_SETTINGS = NO_PARALLEL_WORKERS + " SET LOCAL jit = off;"


def _zone_ids(conn: Connection, filters: PlotFilter) -> dict[str, Any]:
    """Zone ids that zone-level filters leave (None: no such filter was given), or for
    places (regions, municipalities) alone, their ``municipalities``.

    ``zones`` limits plots outright, before the plot query is planned, so the planner
    knows how many plots it keeps. A region of any level covers the municipalities below
    it; a zone lies in every municipality it reaches (``zone_municipality``), so a shared
    zone is found from each. When only some of a zone's municipalities are asked for, the
    zone is ``partial``: its plots count only in their part (``plot.municipality_id``), given
    as ``(zone ids, municipality ids)``. The same single round trip checks that every
    municipality named exists. Zone ids alone need no round trip: a zone that does not
    exist simply has no plots.

    Raises:
        InvalidInput: an unknown region or municipality.
    """
    clauses, params = [], {"municipality_names": None}
    places = []
    if filters.region:
        params["region_ids"] = regions.resolve(conn, filters.region).id_list
        places.append(regions.municipalities_in("zm.municipality_id"))
    if filters.municipality:
        ids = [number for m in filters.municipality if (number := parse_id(m)) is not None]
        params |= {"municipality_ids": ids,
                   "municipality_names": [m.strip().lower() for m in filters.municipality]}
        places.append("(mm.id = ANY (CAST(:municipality_ids AS int[]))"
                      " OR lower(mm.name) = ANY (CAST(:municipality_names AS text[])))")
    if filters.zone_kind:
        params["zone_kinds"] = list(filters.zone_kind)
        clauses.append("z.kind = ANY (CAST(:zone_kinds AS text[]))")
    if filters.zone:
        if not places and not clauses and filters.broadband is None and filters.gas is None \
                and filters.rail_siding is None:
            return {"zones": sorted(set(filters.zone)), "partial": None}
        params["zone_ids"] = filters.zone
        clauses.append("z.id = ANY (CAST(:zone_ids AS int[]))")
    if filters.broadband is not None:
        params["broadband"] = list(BROADBAND_TIERS[BROADBAND_TIERS.index(filters.broadband):])
        clauses.append("z.broadband = ANY (CAST(:broadband AS text[]))")
    if filters.gas is not None:
        params["gas"] = filters.gas
        clauses.append("z.gas = :gas")
    if filters.rail_siding is not None:
        params["rail_siding"] = filters.rail_siding
        clauses.append("z.rail_siding = :rail_siding")
    if not clauses and not places:
        return {"zones": None, "partial": None}
    place = " AND ".join(places) or "true"
    unknown = """(SELECT count(*) FROM unnest(CAST(:municipality_names AS text[])) AS q(name)
                WHERE NOT EXISTS (SELECT 1 FROM municipality m
                                  WHERE lower(m.name) = q.name OR m.id::text = q.name))"""
    if not clauses:
        # Places alone: a plot lies in them by its own municipality (plot.municipality_id,
        # always one of its zone's), so the places' municipalities are all the query needs:
        # a few ids instead of a list of a thousand zones, half of them partial.
        row = conn.execute(text(f"""
            SELECT {unknown} AS unknown_municipalities,
                   (SELECT coalesce(array_agg(mm.id ORDER BY mm.id), '{{}}')
                    FROM municipality mm
                    WHERE {place.replace("zm.municipality_id", "mm.id")}) AS municipalities
            """), params).mappings().one()
        if row["unknown_municipalities"]:
            raise InvalidInput("municipality", "no municipality has that name or id")
        return {"zones": None, "partial": None, "municipalities": row["municipalities"]}
    zones_sql = f"""
        SELECT z.id, bool_and({place}) AS whole,
               array_agg(zm.municipality_id) FILTER (WHERE {place}) AS parts
        FROM zone z
        JOIN zone_municipality zm ON zm.zone_id = z.id
        JOIN municipality mm ON mm.id = zm.municipality_id
        WHERE {' AND '.join(clauses) or 'true'}
        GROUP BY z.id HAVING bool_or({place})"""
    # The zones are worked out once and read three times (each read planned them anew).
    row = conn.execute(text(f"""
        WITH found AS MATERIALIZED ({zones_sql})
        SELECT {unknown} AS unknown_municipalities,
               (SELECT coalesce(array_agg(f.id ORDER BY f.id) FILTER (WHERE f.whole), '{{}}')
                FROM found f) AS zones,
               (SELECT coalesce(array_agg(f.id ORDER BY f.id) FILTER (WHERE NOT f.whole), '{{}}')
                FROM found f) AS partial_zones,
               (SELECT coalesce(array_agg(DISTINCT u.part), '{{}}')
                FROM found f CROSS JOIN unnest(f.parts) AS u(part)
                WHERE NOT f.whole) AS partial_municipalities
        """), params).mappings().one()
    if row["unknown_municipalities"]:
        raise InvalidInput("municipality", "no municipality has that name or id")
    partial = ((row["partial_zones"], row["partial_municipalities"])
               if row["partial_zones"] else None)
    return {"zones": row["zones"], "partial": partial}


def conditions(conn: Connection, filters: PlotFilter) -> tuple[list[str], dict[str, Any]]:
    """SQL conditions over ``p`` (plot), ``z`` (its zone) and ``pp`` (plot_proximity)."""
    where = ["p.retired_at IS NULL"]
    params: dict[str, Any] = {}
    zones = _zone_ids(conn, filters)
    places = zones.get("municipalities")
    if places is not None and len(places) == 1:
        # Equality, not ANY: the page of one municipality by id walks its index.
        where.append("p.municipality_id = :municipality_one")
        params["municipality_one"] = places[0]
    elif places is not None:
        where.append("p.municipality_id = ANY (CAST(:place_municipalities AS int[]))")
        params["place_municipalities"] = places
    elif zones["partial"] is not None:
        # Zones only partly in the places asked for: their plots in those places only.
        where.append("(p.zone_id = ANY (CAST(:zones AS int[])) OR (p.zone_id = ANY "
                     "(CAST(:partial_zones AS int[])) AND p.municipality_id"
                     " = ANY (CAST(:partial_municipalities AS int[]))))")
        params["zones"] = zones["zones"]
        params["partial_zones"], params["partial_municipalities"] = zones["partial"]
    elif zones["zones"] is not None and len(zones["zones"]) == 1:
        # Equality, not ANY: the page of one zone is then a walk of the (zone_id, id) index.
        where.append("p.zone_id = :zone_one")
        params["zone_one"] = zones["zones"][0]
    elif zones["zones"] is not None:
        where.append("p.zone_id = ANY (CAST(:zones AS int[]))")
        params["zones"] = zones["zones"]
    if filters.status:
        where.append("p.status = ANY (CAST(:status AS text[]))")
        params["status"] = list(filters.status)
    if filters.min_area_m2 is not None:
        where.append("p.area_m2 >= :min_area")
        params["min_area"] = filters.min_area_m2
    if filters.max_area_m2 is not None:
        where.append("p.area_m2 <= :max_area")
        params["max_area"] = filters.max_area_m2
    if filters.max_price_eur_m2 is not None:
        where.append("p.price_eur_m2 <= :max_price")
        params["max_price"] = filters.max_price_eur_m2
    if filters.use:
        # A plot that states no uses of its own takes its zone's.
        where.append("(p.allowed_uses @> CAST(:uses AS text[]) OR (cardinality(p.allowed_uses) = 0"
                     " AND z.allowed_uses @> CAST(:uses AS text[])))")
        params["uses"] = list(filters.use)
    if filters.readiness is not None:
        where.append("p.readiness = ANY (CAST(:readiness AS text[]))")
        params["readiness"] = list(READINESS_TIERS[READINESS_TIERS.index(filters.readiness):])
    if filters.ownership:
        where.append("p.ownership = ANY (CAST(:ownership AS text[]))")
        params["ownership"] = list(filters.ownership)
    if filters.brownfield is not None:
        where.append("p.brownfield = :brownfield")
        params["brownfield"] = filters.brownfield
    if filters.min_power_mw is not None:
        # A plot without its own figure has the zone's connection capacity.
        where.append("coalesce(p.power_mw, z.power_mw) >= :min_power")
        params["min_power"] = filters.min_power_mw
    if filters.min_building_height_m is not None:
        # Unknown heights are left out: the filter promises the height holds.
        where.append("p.max_building_height_m >= :min_height")
        params["min_height"] = filters.min_building_height_m
    for name, column in DISTANCE_FILTERS.items():
        value = getattr(filters, name)
        if value is not None:
            where.append(f"pp.{column} <= :{name}")
            params[name] = value
    if filters.verified_since is not None:
        where.append("p.last_verified >= :verified_since")
        params["verified_since"] = filters.verified_since
    if filters.verified_until is not None:
        where.append("p.last_verified <= :verified_until")
        params["verified_until"] = filters.verified_until
    if filters.bbox is not None:
        params["bbox_wkt"] = bbox_lonlat(filters.bbox, filters.bbox_crs)
        where.append("false" if params["bbox_wkt"] is None else bbox_sql("p.boundary"))
    elif filters.bbox_crs is not None:
        _bbox_crs(filters.bbox_crs)
    if filters.geometry is not None:
        params["search_wkt"] = _search_geometry(filters.geometry)
        shape = "ST_Transform(ST_GeomFromText(:search_wkt, 4326), 3035)"
        if filters.within_m is not None:
            where.append(f"ST_DWithin(p.boundary, {shape}, :within_m)")
            params["within_m"] = filters.within_m
        else:
            where.append(f"ST_Within(p.boundary, {shape})")
    elif filters.within_m is not None:
        raise InvalidInput("within_m", "needs a geometry to measure from")
    if (filters.min_area_m2 is not None and filters.max_area_m2 is not None
            and filters.min_area_m2 > filters.max_area_m2):
        raise InvalidInput("min_area_m2", "is above max_area_m2")
    if (filters.verified_since is not None and filters.verified_until is not None
            and filters.verified_since > filters.verified_until):
        raise InvalidInput("verified_since", "is after verified_until")
    return where, params


@dataclass(frozen=True)
class PlotQuery:
    """The SQL of one search page, its parameters, and the SQL counting every match."""

    sql: str
    count_sql: str
    params: dict[str, Any]
    #: A query to try first: when it returns a whole page (``limit`` + 1 rows), that is the
    #: page, and ``sql`` need not run (a page by score, _walked_page).
    quick_sql: str | None = None
    #: ``count_sql`` sums kept counts (``_kept_count_sql``) instead of counting plots.
    count_kept: bool = False


@dataclass(frozen=True)
class ExtraCondition:
    """One more condition over ``p``, ``z`` and ``pp`` (a CQL2 filter of OGC API -
    Features, locations/cql.py), with its bound parameters and the joins it needs."""

    sql: str
    params: dict[str, Any]
    zone: bool = False
    proximity: bool = False


def plot_query(conn: Connection, filters: PlotFilter, *,
               internal: InternalReach | None = None, crs: OutputCrs = GEOJSON_CRS,
               extra: ExtraCondition | None = None, then: tuple[str, ...] = ()) -> PlotQuery:
    """Build the one query behind a search page (zone-level filters are resolved here).
    ``then`` orders ties of ``filters.sort`` by further sorts (OGC API's ``sortby``), before
    the id.

    Raises:
        InvalidInput: a filter value that cannot hold (unknown region, malformed bbox ...).
    """
    if then:
        return _plot_query_by_keys(conn, filters, internal=internal, crs=crs, extra=extra,
                                   then=then)
    where, params = conditions(conn, filters)
    if extra is not None:
        where.append(extra.sql)
        params |= extra.params
    key = sort_key(filters.sort)
    distances = filters.wants_distances()
    proximity_join = "LEFT JOIN plot_proximity pp ON pp.plot_id = p.id" if (
        distances or "pp." in key.expression or (extra is not None and extra.proximity)) else ""
    by_score = "cs." in key.expression
    if by_score and not filters.profile:
        raise InvalidInput("profile", "sort=score needs a profile, e.g. profile=logistics")
    # Only a plot without its own power or uses needs its zone's while the page is chosen.
    zone_join = "JOIN zone z ON z.id = p.zone_id" if (
        filters.use or filters.min_power_mw is not None
        or (extra is not None and extra.zone)) else ""
    page_where = list(where)
    if filters.cursor:
        after_key, after_id = decode_cursor(filters.cursor, filters.sort)
        comparison = "<" if key.descending else ">"
        if filters.sort == "id":
            page_where.append(f"p.id {comparison} :after_id")
        else:
            page_where.append(
                f"({key.expression}, p.id) {comparison} (CAST(:after_key AS {key.sql_type}), :after_id)"
            )
            params["after_key"] = after_key
        params["after_id"] = after_id
    direction = "DESC" if key.descending else "ASC"
    order = "p.id" if filters.sort == "id" else f"{key.expression} {direction}, p.id {direction}"
    quick_page = None
    if by_score:
        page = _score_page(conn, filters, key, page_where, params,
                           f"plot p {zone_join} {proximity_join}")
        quick_page = _walked_page(f"plot p {zone_join} {proximity_join}", page_where, key,
                                  params, bool(filters.cursor))
    else:
        page = f"""
            SELECT p.id, {key.expression} AS sort_key
            FROM plot p {zone_join} {proximity_join}
            WHERE {' AND '.join(page_where)}
            ORDER BY {order}
            LIMIT :limit"""
    params["limit"] = filters.limit + 1

    def features(chosen: str) -> str:
        if USE_KEPT_PLANS and not internal and not distances and crs == GEOJSON_CRS:
            return _kept_page_features(
                chosen, order.replace(key.expression, "page.sort_key").replace("p.id", "page.id"))
        return _page_features(chosen, "page.sort_key::text",
                              order.replace(key.expression, "page.sort_key"),
                              internal=internal, distances=distances, crs=crs,
                              proximity_join=proximity_join)

    kept = _kept_count_sql(filters, params) if extra is None else None
    return PlotQuery(features(page), kept or _count_sql(zone_join, proximity_join, where), params,
                     features(quick_page) if quick_page else None, count_kept=kept is not None)


def plot_geometry_json(crs: OutputCrs = GEOJSON_CRS) -> str:
    """SQL of a plot's (``p``) outline as GeoJSON (json) in ``crs``: in CRS84 the text the
    plot keeps (``plot.boundary_geojson``, computed by PostgreSQL whenever the boundary is
    written, migration 0138) instead of transforming and writing every outline of every page
    anew (a fifth of the database CPU of a page of 500 plots at a million); in another CRS
    written here."""
    if crs == GEOJSON_CRS:
        return "p.boundary_geojson"
    return f"{geometry_sql('p.boundary', crs)}::json"


def _page_features(page: str, sort_key: str, order: str, *, internal: InternalReach | None,
                   distances: bool, crs: OutputCrs, proximity_join: str) -> str:
    """A search page's query: the page's plots (``page``, a query of ``id`` and its sort
    keys) as GeoJSON features, in ``order`` over ``page``, each with ``sort_key`` for the
    next cursor. The page is chosen over plot (and its distances) alone; names are joined
    to its rows only."""
    columns = PLOT_SEARCH_COLUMNS
    if internal:
        columns += ", " + internal.columns_sql()
    if distances:
        columns += ", " + ", ".join(f"pp.{c}" for c in PROXIMITY_COLUMNS)
    return PAGE_SETTINGS + f"""
        WITH page AS ({page}
        )
        SELECT p.id, {sort_key} AS sort_key,
               json_build_object('type', 'Feature', 'id', p.id,
                                 'geometry', {plot_geometry_json(crs)},
                                 'properties', to_json(properties))::text AS feature
        FROM page
        JOIN plot p ON p.id = page.id
        JOIN zone z ON z.id = p.zone_id
        JOIN municipality m ON m.id = p.municipality_id
        JOIN region r ON r.id = m.region_id
        {proximity_join}
        CROSS JOIN LATERAL (SELECT {columns}) AS properties
        ORDER BY {order}
    """


#: Pages for readers without internal fields or distances, in CRS84 (most of them), have
#: their features made by ``plot_search_features``, whose plan the database keeps
#: (locations/kept_plans.py). Tests turn it off to make the same page with the statement
#: below, which the function holds (tests/test_kept_plans.py).
USE_KEPT_PLANS = True


def _kept_page_features(page: str, order: str) -> str:
    """A search page's query as ``_page_features`` writes it for a reader without internal
    fields or distances in CRS84, the features made by ``plot_search_features``: the page
    (``page``, a query of ``id`` and ``sort_key``) is chosen here, planned for its values,
    and handed over as ids and sort keys in ``order`` (over ``page``)."""
    return PAGE_SETTINGS + f"""
        WITH page AS MATERIALIZED ({page}
        )
        SELECT f.id, f.sort_key, f.feature
        FROM plot_search_features(
            ARRAY(SELECT page.id FROM page ORDER BY {order}),
            ARRAY(SELECT page.sort_key::text FROM page ORDER BY {order})) AS f
        ORDER BY f.n
    """


#: The filters the kept counts (``plot_count_kept``: live plots per municipality and status,
#: migration 0131) are split by; and the fields that narrow nothing (order, paging, output).
KEPT_COUNT_FILTERS = frozenset({"region", "municipality", "status"})
NOT_NARROWING = frozenset({"sort", "profile", "limit", "cursor", "count", "distances", "bbox_crs"})


@lru_cache(maxsize=1)
def _narrowing_defaults() -> dict[str, Any]:
    """Each filter the kept counts are not split by, with its default (the filter unset).
    Worked out once: pydantic inspects a default factory's signature on every call, which
    cost every search page about 1 ms of Python (the 24 fields asked anew per page)."""
    return {name: field.get_default(call_default_factory=True)
            for name, field in PlotFilter.model_fields.items()
            if name not in KEPT_COUNT_FILTERS and name not in NOT_NARROWING}


def _kept_count_sql(filters: PlotFilter, params: dict[str, Any]) -> str | None:
    """The count of a search by places and statuses alone (or by nothing) from the kept
    counts, in ``conditions``' parameters: a sum of a few rows where counting read every
    match (a million plots for the investor's first page, 0.2-0.4 s). None when another
    filter narrows the search."""
    for name, default in _narrowing_defaults().items():
        if getattr(filters, name) != default:
            return None
    where = ["true"]
    if "municipality_one" in params:
        where.append("k.municipality_id = :municipality_one")
    elif "place_municipalities" in params:
        where.append("k.municipality_id = ANY (CAST(:place_municipalities AS int[]))")
    elif filters.region or filters.municipality:
        return None  # places resolved otherwise (not by municipality): count the plots
    if filters.status:
        where.append("k.status = ANY (CAST(:status AS text[]))")
    return f"SELECT coalesce(sum(k.plots), 0) FROM plot_count_kept k WHERE {' AND '.join(where)}"


def _count_sql(zone_join: str, proximity_join: str, where: list[str]) -> str:
    """The count of a search's matches. The distances (at most one row per plot) are joined
    only when a filter reads them: joined for nothing, a whole region's count (218,000 plots
    of SI032 at a million) read every match's distances instead of the plots' index alone
    (0.3-0.5 s against 0.06 s, 10 s on the search page under load)."""
    condition = " AND ".join(where)
    joined = proximity_join if "pp." in condition else ""
    return f"SELECT count(*) FROM plot p {zone_join} {joined} WHERE {condition}"


def _plot_query_by_keys(conn: Connection, filters: PlotFilter, *,
                        internal: InternalReach | None, crs: OutputCrs,
                        extra: ExtraCondition | None, then: tuple[str, ...]) -> PlotQuery:
    """The search page's query ordered by several keys, each in its own direction, then
    by id: the same conditions, joins and columns as ``plot_query``'s; the page starts
    after the cursor's keys compared key after key (the directions may differ, so no row
    comparison), and the keys go back as texts for the next cursor. An index serves one
    key only: such a page sorts every match."""
    keys = [sort_key(filters.sort), *(sort_key(name) for name in then)]
    expressions = " ".join(key.expression for key in keys)
    if "p.id" in [key.expression for key in keys]:
        raise InvalidInput("sort", "id orders ties already: sort by it alone")
    if "cs." in expressions:
        raise InvalidInput("sort", "a score sorts alone")
    where, params = conditions(conn, filters)
    if extra is not None:
        where.append(extra.sql)
        params |= extra.params
    distances = filters.wants_distances()
    proximity_join = "LEFT JOIN plot_proximity pp ON pp.plot_id = p.id" if (
        distances or "pp." in expressions or (extra is not None and extra.proximity)) else ""
    zone_join = "JOIN zone z ON z.id = p.zone_id" if (
        filters.use or filters.min_power_mw is not None
        or (extra is not None and extra.zone)) else ""
    page_where = list(where)
    if filters.cursor:
        after_keys, after_id = decode_cursor(filters.cursor, ",".join((filters.sort, *then)))
        after = [f"CAST(:after_key_{i} AS {key.sql_type})" for i, key in enumerate(keys)]
        alternatives = []
        for i, key in enumerate(keys):
            equal = [f"{keys[j].expression} = {after[j]}" for j in range(i)]
            beyond = f"{key.expression} {'<' if key.descending else '>'} {after[i]}"
            alternatives.append(" AND ".join([*equal, beyond]))
        alternatives.append(" AND ".join(
            [*(f"{key.expression} = {after[i]}" for i, key in enumerate(keys)),
             "p.id > :after_id"]))
        page_where.append("(" + " OR ".join(f"({a})" for a in alternatives) + ")")
        params |= {f"after_key_{i}": value for i, value in enumerate(after_keys)}
        params["after_id"] = after_id
    directions = ["DESC" if key.descending else "ASC" for key in keys]
    order = ", ".join(f"{key.expression} {d}" for key, d in zip(keys, directions, strict=True))
    outer_order = ", ".join(f"page.sort_key_{i} {d}" for i, d in enumerate(directions))
    selected = ", ".join(f"{key.expression} AS sort_key_{i}" for i, key in enumerate(keys))
    as_texts = ", ".join(f"page.sort_key_{i}::text" for i in range(len(keys)))
    params["limit"] = filters.limit + 1
    page = f"""
            SELECT p.id, {selected}
            FROM plot p {zone_join} {proximity_join}
            WHERE {' AND '.join(page_where)}
            ORDER BY {order}, p.id
            LIMIT :limit"""
    sql = _page_features(page, f"ARRAY[{as_texts}]", f"{outer_order}, p.id",
                         internal=internal, distances=distances, crs=crs,
                         proximity_join=proximity_join)
    count_sql = _count_sql(zone_join, proximity_join, where)
    return PlotQuery(sql, count_sql, params)


def _score_page(conn: Connection, filters: PlotFilter, key: SortKey, page_where: list[str],
                params: dict[str, Any], plots: str) -> str:
    """The page of a search by score: the plots (``plots``, aliased ``p``) meeting
    ``page_where`` (over ``coalesce(cs.total, ...)`` for a cursor), best first.

    Scored plots come first in either direction (a plot without a score sorts as -/+
    infinity, last): each current run's scores are walked best first down
    ``plot_score_rank_idx`` and merged; plots without a score follow only when the
    scored ones do not fill the page. Adds its parameters to ``params``.
    """
    runs = current_scores.current_runs(conn, filters.profile or "")
    direction = "DESC" if key.descending else "ASC"
    far = "-Infinity" if key.descending else "Infinity"
    scored = []
    for index, run_id in enumerate(runs):
        newest, newer = current_scores.not_superseded("cs", runs, index, f"newer_runs_{index}")
        params |= newer | {f"score_run_{index}": run_id}
        conditions = [c.replace(key.expression, "cs.total") for c in page_where]
        if filters.cursor:
            # The cursor's key bounds the walk down the index (the row comparison filters).
            conditions.append(f"cs.total {'<=' if key.descending else '>='} "
                              "CAST(:after_key AS real)")
        scored.append(f"""
            (SELECT p.id, cs.total AS sort_key
             FROM plot_score cs JOIN {plots.replace("plot p", "plot p ON p.id = cs.plot_id", 1)}
             WHERE cs.run_id = :score_run_{index}{newest} AND {' AND '.join(conditions)}
             ORDER BY cs.total {direction}, cs.plot_id {direction}
             LIMIT :limit)""")
    params["score_runs"] = runs
    unscored = [c.replace(key.expression, f"CAST('{far}' AS real)") for c in page_where]
    unscored.append("NOT EXISTS (SELECT 1 FROM plot_score s WHERE s.plot_id = p.id "
                    "AND s.run_id = ANY (CAST(:score_runs AS bigint[])))")
    tail = f"""
            (SELECT p.id, CAST('{far}' AS real) AS sort_key
             FROM {plots}
             WHERE {' AND '.join(unscored)}
             ORDER BY p.id {direction}
             LIMIT :limit)"""
    if not scored:
        return tail
    # Each branch is ordered; the planner merges them (Merge Append) and stops at the page.
    # The plain Append after them runs the unscored branch only when the page is not full.
    return f"""
            (SELECT id, sort_key FROM ({" UNION ALL ".join(scored)}) scored
             ORDER BY sort_key {direction}, id {direction} LIMIT :limit)
            UNION ALL {tail}
            LIMIT :limit"""


#: How many of a run's best scores a page by score reads before it leaves the choice of
#: plan to the planner (see _walked_page).
SCORE_WALK = 20_000


def _walked_page(plots: str, page_where: list[str], key: SortKey, params: dict[str, Any],
                 cursor: bool) -> str | None:
    """A page by score read by walking the one current run's best ``SCORE_WALK`` scores and
    keeping the plots that meet ``page_where``; None when several runs are current.

    Filters that keep a few plots in a thousand (an investor's, with a region) make the
    planner expect a long walk down the scores and filter the plots first instead, which
    at a million plots reads tens of thousands of them (1.5 s). When this bounded walk
    fills the page, its plots are the page (every plot it did not reach scores lower);
    when it does not, filters keep so few plots that filtering first is right, and the
    full query (_score_page) runs after it. Call after _score_page (its parameters).
    """
    if len(params["score_runs"]) != 1:
        return None
    params["score_walk"] = SCORE_WALK
    direction = "DESC" if key.descending else "ASC"
    bound = (f" AND s.total {'<=' if key.descending else '>='} CAST(:after_key AS real)"
             if cursor else "")
    conditions = [c.replace(key.expression, "cs.total") for c in page_where]
    # Each score walked is checked on its own (OFFSET 0 keeps the check a subplan), so the
    # walk stops at the page: joined, the planner may hash all of them against the plots.
    return f"""
            SELECT cs.plot_id AS id, cs.total AS sort_key
            FROM (SELECT s.plot_id, s.total FROM plot_score s
                  WHERE s.run_id = :score_run_0{bound}
                  ORDER BY s.total {direction}, s.plot_id {direction}
                  LIMIT :score_walk) cs
            WHERE EXISTS (SELECT 1 FROM {plots}
                          WHERE p.id = cs.plot_id AND {' AND '.join(conditions)} OFFSET 0)
            ORDER BY cs.total {direction}, cs.plot_id {direction}
            LIMIT :limit"""


@dataclass(frozen=True)
class PlotPage:
    """One page of a search: each plot as GeoJSON Feature text (built by PostgreSQL)."""

    features: list[str]
    next_cursor: str | None
    number_matched: int | None

    def collection(self) -> dict[str, Any]:
        """The page as a FeatureCollection dict (``next_cursor`` and counts as members)."""
        members: dict[str, Any] = {"next_cursor": self.next_cursor}
        if self.number_matched is not None:
            members["numberMatched"] = self.number_matched
        features = [json.loads(f) for f in self.features]
        return {"type": "FeatureCollection", "features": features,
                "numberReturned": len(features), **members}

    def geojson(self, links: list[dict[str, Any]]) -> bytes:
        """The page as FeatureCollection bytes, the features spliced in as PostgreSQL wrote them."""
        head = {"type": "FeatureCollection", "numberReturned": len(self.features)}
        if self.number_matched is not None:
            head["numberMatched"] = self.number_matched
        head["links"] = links
        opening = json.dumps(head, ensure_ascii=False)[:-1]
        return f'{opening}, "features": [{",".join(self.features)}]}}'.encode()


def search_plot_page(conn: Connection, filters: PlotFilter, *,
                     internal: InternalReach | None = None, crs: OutputCrs = GEOJSON_CRS,
                     extra: ExtraCondition | None = None, then: tuple[str, ...] = ()
                     ) -> PlotPage:
    """One page of plots meeting every filter, geometries in ``crs`` (default CRS84).

    ``next_cursor`` is None on the last page; ``number_matched`` is counted only when
    ``filters.count`` is set. Internal fields (owner contact, internal note) appear
    only with ``internal``, filled on the plots within its reach.

    Raises:
        InvalidInput: a filter value that cannot hold (unknown region, malformed bbox ...).
    """
    query = plot_query(conn, filters, internal=internal, crs=crs, extra=extra, then=then)
    rows = []
    if query.quick_sql:
        rows = fetch_rows(conn, query.quick_sql, query.params)
    if len(rows) <= filters.limit:
        rows = fetch_rows(conn, query.sql, query.params)  # (id, sort_key, feature)
    next_cursor = None
    if len(rows) > filters.limit:
        rows = rows[: filters.limit]
        last_id, last_key, _ = rows[-1]
        next_cursor = encode_cursor(",".join((filters.sort, *then)), last_key, last_id)
    number_matched = None
    if filters.count:
        if not query.count_kept:
            # Counting reads every match: here parallel workers pay off again.
            conn.execute(text("RESET max_parallel_workers_per_gather"))
        number_matched = conn.execute(text(query.count_sql), query.params).scalar_one()
    return PlotPage([feature for _, _, feature in rows], next_cursor, number_matched)


def search_plots(conn: Connection, filters: PlotFilter, *,
                 internal: InternalReach | None = None) -> dict[str, Any]:
    """One page of plots meeting every filter, as a FeatureCollection dict.

    The collection carries ``numberReturned``, ``next_cursor`` (None on the last
    page) and, only when ``filters.count`` is set, ``numberMatched``.

    Raises:
        InvalidInput: a filter value that cannot hold (unknown region, malformed bbox ...).
    """
    return search_plot_page(conn, filters, internal=internal).collection()
