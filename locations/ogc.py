"""OGC API - Features over the platform's own reads: collections, CRS, query parameters, pages.

No HTTP here (api/ogc turns requests into these calls) and no query of its own for
what the platform already reads: plots come from ``locations.search`` (the filter
model, keyset pages, the same SQL as GET /plots), zones from ``zone_search.search_zones``,
regions, municipalities, infrastructure and constraint areas from
``locations.features``. This module maps OGC parameters (limit, bbox, bbox-crs,
crs, datetime and each collection's queryables) onto those reads, and says what
each collection is.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import pyproj
from pydantic import ValidationError
from sqlalchemy import Connection, text

from locations import cql, features, search, zone_search
from locations.accounts import InternalReach
from locations.db import fetch_rows
from locations.errors import InvalidInput, NotFound
from locations.geojson import GEOJSON_CRS, OutputCrs, Window
from locations.vocabulary import REGION_LEVEL, STORAGE_SRID

CRS84_URI = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{}"
#: What ``crs`` and ``bbox-crs`` take besides CRS84: WGS 84 (lat/lon), the storage CRS
#: (ETRS89-LAEA), Slovenia's D96/TM, Austria's MGI Gauß-Krüger zones (Central, East, M34)
#: and web mercator.
EPSG_CODES = (4326, 3035, 3794, 31255, 31256, 31259, 3857)
SUPPORTED_CRS = (CRS84_URI, *(EPSG_URI.format(code) for code in EPSG_CODES))
STORAGE_CRS = EPSG_URI.format(STORAGE_SRID)

#: Page sizes, as GET /plots has them: a larger limit is refused (400), never cut silently.
DEFAULT_LIMIT = search.DEFAULT_LIMIT
MAX_LIMIT = search.MAX_LIMIT

#: The small collections page by offset; no list holds anywhere near this many features.
MAX_OFFSET = 10_000_000
#: Parameters every items request takes; each collection adds its queryables.
COMMON_PARAMETERS = ("limit", "bbox", "bbox-crs", "crs", "datetime", "f")
#: Part 3's parameters, which every collection takes over its own properties.
FILTER_PARAMETERS = ("filter", "filter-lang", "filter-crs", "sortby")


# -- CRS ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Crs:
    """A CRS the API speaks: its URI, how geometries are written in it, how a bbox in it
    is handed to the search (``bbox_crs``, None for CRS84) and whether its first axis is
    north (EPSG:4326 lat/lon, EPSG:3035 and the Gauß-Krüger zones northing/easting)."""

    uri: str
    output: OutputCrs
    bbox_crs: str | None
    north_first: bool


_CRS_PATTERN = re.compile(
    r"^\[?(?:EPSG:|urn:ogc:def:crs:EPSG::|https?://www\.opengis\.net/def/crs/EPSG/0/)(\d{4,6})\]?$")
_CRS84_NAMES = {CRS84_URI, "https://www.opengis.net/def/crs/OGC/1.3/CRS84", "CRS84", "OGC:CRS84",
                "[OGC:CRS84]", "urn:ogc:def:crs:OGC:1.3:CRS84"}


@lru_cache(maxsize=32)
def crs_named(value: str | None, parameter: str = "crs") -> Crs:
    """The CRS a ``crs`` or ``bbox-crs`` value names (None: CRS84).

    Raises:
        InvalidInput: a CRS this API does not offer.
    """
    if value is None or value.strip() in _CRS84_NAMES:
        return Crs(CRS84_URI, GEOJSON_CRS, None, False)
    match = _CRS_PATTERN.match(value.strip())
    if match is None or int(match.group(1)) not in EPSG_CODES:
        raise InvalidInput(parameter, f"{value!r} is not offered; use one of: "
                                      f"{', '.join(SUPPORTED_CRS)}")
    code = int(match.group(1))
    crs = pyproj.CRS.from_epsg(code)
    north_first = crs.axis_info[0].direction == "north"
    # Degrees to 7 decimals and metres to 3: both about 1 cm or finer.
    output = OutputCrs(srid=code, north_first=north_first, decimals=7 if crs.is_geographic else 3)
    return Crs(EPSG_URI.format(code), output, f"EPSG:{code}", north_first)


def search_bbox(bbox: list[float], bbox_crs: Crs) -> list[float]:
    """A bbox in ``bbox_crs``'s own axis order, as the search reads it.

    The search takes EPSG:4326 as lat/lon (as OGC API has it) and projected CRSs as
    easting/northing, so only a projected CRS whose first axis is north (EPSG:3035, the
    Gauß-Krüger zones) is swapped here.
    """
    if bbox_crs.north_first and bbox_crs.output.srid != 4326:
        return [bbox[1], bbox[0], bbox[3], bbox[2]]
    return bbox


# -- datetime -------------------------------------------------------------------------------

def _day(value: str) -> dt.date:
    # An instant's day as written: last_verified is a date without a time zone.
    value = value.strip().removesuffix("T")  # GDAL writes a date alone as "2024-05-01T"
    try:
        if "T" in value or "t" in value:
            return dt.datetime.fromisoformat(value.replace("z", "Z")).date()
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput("datetime", f"{value!r} is not an RFC 3339 date or date-time") from None


def parse_datetime(value: str) -> tuple[dt.date | None, dt.date | None]:
    """An OGC ``datetime`` (an instant, or an interval ``start/end`` with ``..`` for an open
    end) as the first and last day of ``last_verified`` it admits.

    Raises:
        InvalidInput: not a date, date-time or interval of them; both ends open; start after end.
    """
    if "/" not in value:
        day = _day(value)
        return day, day
    start, _, end = value.partition("/")
    since = None if start.strip() in ("", "..") else _day(start)
    until = None if end.strip() in ("", "..") else _day(end)
    if since is None and until is None:
        raise InvalidInput("datetime", "an interval needs at least one end")
    if since is not None and until is not None and since > until:
        raise InvalidInput("datetime", "the interval starts after it ends")
    return since, until


# -- collections ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Queryable:
    """A query parameter of a collection's items: its JSON schema, what it means, and the
    field of the collection's filter model it sets (a list field takes several values,
    comma-separated or repeated)."""

    schema: dict[str, Any]
    description: str
    field: str
    many: bool = False


@dataclass(frozen=True)
class Collection:
    """A feature collection: what it is and how its items are read."""

    id: str
    title: str
    description: str
    queryables: dict[str, Queryable]
    #: Plots page by the search's keyset cursor; the small collections by offset.
    keyset: bool = False
    #: The property ``datetime`` filters on, if any.
    temporal: str | None = None
    #: Vector tiles of this collection exist (api/ogc/tiles.py).
    tiles: bool = False
    extra_parameters: tuple[str, ...] = field(default_factory=tuple)

    def parameters(self) -> set[str]:
        allowed = (set(COMMON_PARAMETERS) | set(FILTER_PARAMETERS) | set(self.queryables)
                   | set(self.extra_parameters))
        if self.temporal is None:
            allowed.discard("datetime")
        return allowed

    def properties(self, internal: InternalReach | None = None) -> dict[str, cql.Property]:
        """What a CQL2 filter and sortby may name (Part 3): plots' by who asks."""
        if self.id == "plots":
            return cql.plot_properties(internal)
        return cql.COLLECTION_PROPERTIES[self.id]


def _plot_queryables() -> dict[str, Queryable]:
    """The plot search's filters as OGC query parameters, described by PlotFilter's schema.

    A parameter is named as the property it filters only where it means equality with
    that property (``status=available``: GDAL sends such equalities to the server and
    trusts the answer); a minimum tier is ``min_readiness``, not ``readiness``.
    """
    renamed = {"readiness": "min_readiness", "broadband": "min_broadband"}
    # Paging, sorting and geometry are OGC's own parameters; last_verified is ``datetime``.
    skipped = {"bbox", "bbox_crs", "geometry", "within_m", "sort", "profile", "limit", "cursor",
               "count", "distances", "verified_since", "verified_until"}
    schema = search.PlotFilter.model_json_schema()
    properties, definitions = schema["properties"], schema.get("$defs", {})
    queryables = {}
    for name, info in properties.items():
        if name in skipped:
            continue
        info = _inline(info, definitions)
        many = info.get("type") == "array"
        queryables[renamed.get(name, name)] = Queryable(
            {k: v for k, v in info.items() if k not in ("title", "description", "default")},
            info.get("description", "") or _DESCRIPTIONS.get(name, ""), name, many)
    return queryables


def _inline(schema: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    """A pydantic field schema without $ref and with ``X | None`` as plain X."""
    if "$ref" in schema:
        schema = {**definitions[schema["$ref"].rsplit("/", 1)[1]], **{
            k: v for k, v in schema.items() if k != "$ref"}}
    if "anyOf" in schema:
        options = [option for option in schema["anyOf"] if option.get("type") != "null"]
        rest = {k: v for k, v in schema.items() if k != "anyOf"}
        schema = {**_inline(options[0], definitions), **rest} if len(options) == 1 else schema
    if schema.get("type") == "array" and "items" in schema:
        schema = {**schema, "items": _inline(schema["items"], definitions)}
    return schema


_DESCRIPTIONS = {
    "region": "Region codes of any level, any case (AT22 is all of Styria, AT-D-601 a district)",
    "min_area_m2": "Plot area at least this (m²)", "max_area_m2": "Plot area at most this (m²)",
    "max_price_eur_m2": "Asking price at most this (EUR/m²)",
    "use": "Uses the plot must all allow (a plot that lists none takes its zone's)",
    "readiness": "Minimum readiness: registered < serviced < shovel_ready",
    "ownership": "Any of these ownerships", "brownfield": "Brownfield or not",
    "min_power_mw": "Power at least this (MW; the plot's own, else its zone's)",
    "min_building_height_m": "Permitted building height at least this (m; unknown left out)",
    "broadband": "Minimum broadband of the zone: none < basic < fast < ftth",
    "gas": "The zone has gas", "rail_siding": "The zone has a rail siding",
    "max_motorway_km": "At most this far from a motorway junction (km)",
    "max_airport_km": "At most this far from an airport (km)",
    "max_rail_km": "At most this far from a rail station (km)",
    "max_rail_freight_km": "At most this far from a rail freight terminal (km)",
    "max_public_transport_km": "At most this far from public transport (km)",
}


def _simple(field_name: str, schema: dict[str, Any], description: str,
            many: bool = False) -> Queryable:
    if many:
        schema = {"type": "array", "items": schema}
    return Queryable(schema, description, field_name, many)


_ZONE_KINDS = list(search.ZoneKind.__args__)

COLLECTIONS: dict[str, Collection] = {c.id: c for c in (
    Collection(
        "plots", "Plots",
        "Cadastral plots in business zones with their availability, size, price, uses, "
        "readiness and power; owner contact and internal note only for accounts that may "
        "see them. The same plots and filters as GET /plots.",
        _plot_queryables(), keyset=True, temporal="last_verified", tiles=True,
        extra_parameters=("cursor", "count")),
    Collection(
        "zones", "Business zones",
        "Business zones with their infrastructure, manager and plot figures (plot count, "
        "available area, plots by status, occupancy share). The same as GET /zones.",
        {"region": _simple("region", {"type": "string"}, _DESCRIPTIONS["region"], True),
         "municipality": _simple("municipality", {"type": "string"},
                                 "Municipality names or ids", True),
         "kind": _simple("kind", {"type": "string", "enum": _ZONE_KINDS}, "Any of these kinds",
                         True),
         "has_available": _simple("has_available", {"type": "boolean"},
                                  "Has available plot area"),
         "min_available_area_m2": _simple("min_available_area_m2",
                                          {"type": "number", "minimum": 0},
                                          "Available plot area at least this (m²)")},
        tiles=True, extra_parameters=("offset",)),
    Collection(
        "municipalities", "Municipalities",
        "Municipalities with population and area.",
        {"region": _simple("region", {"type": "string"}, _DESCRIPTIONS["region"])},
        extra_parameters=("offset",)),
    Collection(
        "regions", "Regions",
        "Regions of every level: countries, NUTS-1/2/3 (Gorenjska, Podravje, Styria's) and "
        "Austrian districts, each with its level and parent.",
        {"level": _simple("level", {"type": "string", "enum": list(REGION_LEVEL.codes)},
                          "Only regions of this level")},
        extra_parameters=("offset",)),
    Collection(
        "infrastructure", "Infrastructure",
        "Motorway junctions, rail stations, freight terminals, airports and other "
        "infrastructure that matters for location.",
        {"kind": _simple("kind", {"type": "string", "enum": list(features.INFRASTRUCTURE_KINDS)},
                         "Any of these kinds", True)},
        extra_parameters=("offset",)),
    Collection(
        "constraint_areas", "Constraint areas",
        "Flood risk, Natura 2000 and water protection areas.",
        {"kind": _simple("kind", {"type": "string", "enum": list(features.CONSTRAINT_KINDS)},
                         "Any of these kinds", True)},
        extra_parameters=("offset",)),
)}


def collection(collection_id: str) -> Collection:
    """Raises: NotFound: no collection has this id."""
    try:
        return COLLECTIONS[collection_id]
    except KeyError:
        raise NotFound(f"no collection {collection_id!r}; there are: "
                       f"{', '.join(COLLECTIONS)}") from None


# -- extents --------------------------------------------------------------------------------

# The lon/lat box around each table's geometries (the box is cut into pieces before it
# leaves EPSG:3035, so its curved edges are enclosed). Plots lie in their zones: the
# zones' box stands for theirs, so that no request scans a million plots.
_EXTENT_TABLES = {"plots": ("zone", "boundary"), "zones": ("zone", "boundary"),
                  "municipalities": ("municipality", "boundary"),
                  "regions": ("region", "boundary"), "infrastructure": ("infrastructure", "geom"),
                  "constraint_areas": ("constraint_area", "boundary")}


def extents(conn: Connection) -> dict[str, dict[str, Any]]:
    """Each collection's ``extent`` (spatial in CRS84; temporal where it has one)."""
    boxes = {}
    tables = sorted(set(_EXTENT_TABLES.values()))
    selects = ", ".join(
        f"(SELECT ST_AsText(ST_Envelope(ST_Transform(ST_Segmentize(ST_SetSRID("
        f"ST_Extent({column})::geometry, {STORAGE_SRID}), 1000), 4326))) FROM {table}) AS {table}"
        for table, column in tables)
    # last_verified is indexed on plot: its first and last day cost two index lookups.
    row = conn.execute(text(
        f"SELECT {selects}, (SELECT min(last_verified) FROM plot WHERE retired_at IS NULL)"
        " AS plot_first, (SELECT max(last_verified) FROM plot WHERE retired_at IS NULL)"
        " AS plot_last")).mappings().one()
    for table, _ in tables:
        boxes[table] = _bounds(row[table])
    result = {}
    for collection_id, (table, _) in _EXTENT_TABLES.items():
        extent: dict[str, Any] = {"spatial": {"bbox": [boxes[table]] if boxes[table] else [],
                                              "crs": CRS84_URI}}
        if collection_id == "plots" and row["plot_first"] is not None:
            extent["temporal"] = {"interval": [[f"{row['plot_first']}T00:00:00Z",
                                                f"{row['plot_last']}T23:59:59Z"]],
                                  "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
        result[collection_id] = extent
    return result


def _bounds(wkt: str | None) -> list[float] | None:
    if wkt is None:
        return None
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", wkt)]
    xs, ys = numbers[0::2], numbers[1::2]
    return [round(min(xs), 6), round(min(ys), 6), round(max(xs), 6), round(max(ys), 6)]


# -- items ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ItemsRequest:
    """An items request, checked: the page, the output CRS and the collection's filter."""

    collection: Collection
    limit: int
    crs: Crs
    filters: Any  # search.PlotFilter, zone_search.ZoneFilter or a dict of list keywords
    bbox_wkt: str | None = None
    empty: bool = False  # the bbox lies wholly where no feature can be
    offset: int = 0
    cursor: str | None = None
    extra: search.ExtraCondition | None = None  # a CQL2 filter's condition
    order: str | None = None  # a sortby's ORDER BY (collections paged by offset)
    then: tuple[str, ...] = ()  # a plot sortby's further keys (the search's sorts)


@dataclass(frozen=True)
class ItemsPage:
    """One page of items: the features (GeoJSON text for plots, dicts otherwise), where the
    next and previous pages start, and the number matched when it was cheap or asked."""

    features: list[Any]
    next_start: str | int | None
    previous_start: int | None
    number_matched: int | None
    plot_page: search.PlotPage | None = None


#: A query string's values by name, in the order given.
Given = dict[str, list[str]]


def _given(params: Sequence[tuple[str, str]] | Given) -> Given:
    """The query string grouped by name once: an items request reads some forty names,
    and scanning the whole string for each cost more than the rest of the checks."""
    if isinstance(params, dict):
        return params
    grouped: Given = {}
    for key, value in params:
        grouped.setdefault(key, []).append(value)
    return grouped


def _values(given: Given, name: str) -> list[str]:
    return [part.strip() for value in given.get(name, ()) for part in value.split(",")
            if part.strip()]


def _one(given: Given, name: str) -> str | None:
    values = given.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise InvalidInput(name, "given more than once")
    return values[0]


#: A whole number as a query string writes it: ASCII digits, a minus at most. Python's int()
#: also reads ' +5 ', '5_0' and Arabic-Indic digits ('٣' as 3), which no client means.
_WHOLE_NUMBER = re.compile(r"-?[0-9]+")


def _integer(value: str, name: str, low: int, high: int) -> int:
    if not _WHOLE_NUMBER.fullmatch(value):
        raise InvalidInput(name, f"{value[:40]!r} is not a whole number")
    # Past 20 digits it is out of range whatever it says (and int() refuses 4,300 digits).
    number = int(value) if len(value) <= 20 else None
    if number is None or not low <= number <= high:
        advice = "; follow the 'next' link for further pages" if name == "limit" else ""
        raise InvalidInput(name, f"must be between {low} and {high}, got {value[:40]}{advice}")
    return number


def items_request(collection_id: str, params: Sequence[tuple[str, str]], *,
                  internal: InternalReach | None = None) -> ItemsRequest:
    """Check an items query string against what the collection offers.

    Raises:
        NotFound: no such collection.
        InvalidInput: an unknown parameter, a limit over MAX_LIMIT, a malformed bbox,
            datetime or filter value, a CRS not offered (the parameter is named).
    """
    target = collection(collection_id)
    allowed = target.parameters()
    for name, _ in params:
        if name not in allowed:
            raise InvalidInput(name, f"unknown parameter; {target.id} takes: "
                                     f"{', '.join(sorted(allowed))}")
    given = _given(params)
    for name in ("limit", "bbox", "bbox-crs", "crs", "datetime", "offset", "cursor", "count",
                 "filter", "filter-lang", "filter-crs", "sortby"):
        _one(given, name)
    limit_text = _one(given, "limit")
    limit = DEFAULT_LIMIT if limit_text is None else _integer(limit_text, "limit", 1, MAX_LIMIT)
    crs = crs_named(_one(given, "crs"), "crs")
    bbox_crs = crs_named(_one(given, "bbox-crs"), "bbox-crs")
    bbox_text = _one(given, "bbox")
    bbox = None
    if bbox_text is not None:
        bbox = search.parse_bbox(bbox_text)
        bbox = search_bbox(bbox, bbox_crs)
    elif _one(given, "bbox-crs") is not None:
        raise InvalidInput("bbox-crs", "needs a bbox")
    datetime_text = _one(given, "datetime")
    offset_text = _one(given, "offset")
    # Bounded so that PostgreSQL's OFFSET (a bigint) never overflows into a 500.
    offset = 0 if offset_text is None else _integer(offset_text, "offset", 0, MAX_OFFSET)
    if target.id == "plots":
        values: dict[str, Any] = {}
        for name, queryable in target.queryables.items():
            if queryable.many:
                if _values(given, name):
                    values[queryable.field] = _values(given, name)
            elif (value := _one(given, name)) is not None:
                values[queryable.field] = value
        if datetime_text is not None:
            since, until = parse_datetime(datetime_text)
            values |= {"verified_since": since, "verified_until": until}
        if bbox is not None:
            values |= {"bbox": bbox, "bbox_crs": bbox_crs.bbox_crs}
        values |= {"limit": limit, "cursor": _one(given, "cursor"),
                   "count": _one(given, "count") or False}
        then: tuple[str, ...] = ()
        if (sortby := _one(given, "sortby")) is not None:
            first, *rest = cql.sort(sortby, target.properties(internal))
            values["sort"], then = first, tuple(rest)
        filters = _validated(search.PlotFilter, values, target)
        return ItemsRequest(target, limit, crs, filters, cursor=filters.cursor,
                            extra=cql_condition(given, target.properties(internal)),
                            then=then)
    bbox_wkt = None if bbox is None else search.bbox_lonlat(bbox, bbox_crs.bbox_crs)
    empty = bbox is not None and bbox_wkt is None
    values = {}
    for name, queryable in target.queryables.items():
        if queryable.many:
            values[queryable.field] = _values(given, name)
        elif (value := _one(given, name)) is not None:
            values[queryable.field] = value
    if target.id == "zones":
        filters = _validated(zone_search.ZoneFilter, values, target)
    else:
        filters = _checked_plain(values, target)
    properties = target.properties(internal)
    sortby = _one(given, "sortby")
    order = None if sortby is None else cql.order_sql(sortby, properties,
                                                      properties["id"].sql)
    return ItemsRequest(target, limit, crs, filters, bbox_wkt=bbox_wkt, empty=empty,
                        offset=offset, extra=cql_condition(given, properties), order=order)


def cql_condition(params: Sequence[tuple[str, str]] | Given,
                  properties: dict[str, cql.Property]) -> search.ExtraCondition | None:
    """The condition of a CQL2 ``filter`` (in ``filter-lang``, geometries in ``filter-crs``)
    over a collection's ``properties``.

    Raises:
        InvalidInput: a filter that does not parse, names an unknown property or uses an
            operator not offered; filter-lang or filter-crs without a filter.
    """
    given = _given(params)
    filter_text = _one(given, "filter")
    if filter_text is None:
        for name in ("filter-lang", "filter-crs"):
            if _one(given, name) is not None:
                raise InvalidInput(name, "needs a filter")
        return None
    filter_crs = crs_named(_one(given, "filter-crs"), "filter-crs")
    tree = cql.parse(filter_text, _one(given, "filter-lang"))
    srid = None if filter_crs.uri == CRS84_URI else filter_crs.output.srid
    found = cql.condition(tree, srid=srid, north_first=filter_crs.north_first,
                          properties=properties)
    return search.ExtraCondition(found.sql, found.params, found.zone, found.proximity)


def _validated(model: type, values: dict[str, Any], target: Collection) -> Any:
    """The filter model from OGC values; a refusal names the OGC parameter."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        error = exc.errors()[0]
        field_name = str(error["loc"][0]) if error["loc"] else "query"
        names = {q.field: name for name, q in target.queryables.items()}
        names |= {"verified_since": "datetime", "verified_until": "datetime",
                  "bbox_crs": "bbox-crs"}
        raise InvalidInput(names.get(field_name, field_name), error["msg"]) from None


def _checked_plain(values: dict[str, Any], target: Collection) -> dict[str, Any]:
    """The small collections' keyword filters, each value one the collection knows."""
    for name, queryable in target.queryables.items():
        enum = queryable.schema.get("items", queryable.schema).get("enum")
        given = values.get(queryable.field)
        for value in given if isinstance(given, list) else [given] if given else []:
            if enum and value not in enum:
                raise InvalidInput(name, f"unknown value {value!r}; allowed: {', '.join(enum)}")
    return values


def cheap_plot_count(conn: Connection, filters: search.PlotFilter) -> int | None:
    """The number of plots a search matches, when the kept ``zone_summary`` knows it:
    for a search by status alone, or none at all (a few hundred rows, not a million).
    None for any other search."""
    given = filters.model_dump(exclude_defaults=True).keys() - {"limit", "cursor", "count", "sort"}
    if not given <= {"status"}:
        return None
    # The statuses are the filter model's literals, never the caller's text.
    columns = [f"{status}_count" for status in filters.status] or ["plot_count"]
    total = " + ".join(f"coalesce(sum({column}), 0)" for column in columns)
    # On the driver's cursor, as the page itself: read on the event loop too (loop_reads).
    return int(fetch_rows(conn, f"SELECT {total} FROM zone_summary", {})[0][0])


def read_items(conn: Connection, request: ItemsRequest, *,
               internal: InternalReach | None = None) -> ItemsPage:
    """One page of a collection's items, read by the platform's own search and reads.

    Raises:
        InvalidInput: a filter value that cannot hold (unknown region, cursor of another search).
    """
    target = request.collection
    if target.id == "plots":
        filters: search.PlotFilter = request.filters
        page = search.search_plot_page(conn, filters, internal=internal, crs=request.crs.output,
                                       extra=request.extra, then=request.then)
        matched = page.number_matched
        if matched is None and request.extra is None:
            matched = cheap_plot_count(conn, filters)
        if matched is None and filters.cursor is None and page.next_cursor is None:
            matched = len(page.features)
        return ItemsPage(page.features, page.next_cursor, None, matched, plot_page=page)
    if request.empty:
        return ItemsPage([], None, None, 0 if request.offset == 0 else None)
    # One more than the page: whether a next page exists, without counting.
    extra = request.extra
    window = Window(bbox_wkt=request.bbox_wkt, limit=request.limit + 1, offset=request.offset,
                    condition=None if extra is None else extra.sql,
                    condition_params={} if extra is None else extra.params,
                    order=request.order)
    found = _READS[target.id](conn, request.filters, request.crs.output, window)["features"]
    more = len(found) > request.limit
    found = found[: request.limit]
    matched = request.offset + len(found) if not more and (found or request.offset == 0) else None
    previous = max(request.offset - request.limit, 0) if request.offset > 0 else None
    return ItemsPage(found, request.offset + request.limit if more else None, previous, matched)


def read_item(conn: Connection, collection_id: str, feature_id: int, crs: Crs, *,
              internal: InternalReach | None = None) -> dict[str, Any]:
    """One feature of a collection.

    Raises:
        NotFound: no such collection, or no such feature in it.
    """
    target = collection(collection_id)
    if target.id == "plots":
        return features.get_plot(conn, feature_id, internal=internal, crs=crs.output)
    if target.id == "zones":
        return features.get_zone(conn, feature_id, crs=crs.output)
    found = _READS[target.id](conn, {}, crs.output, Window(ids=(feature_id,)))["features"]
    if not found:
        raise NotFound(f"{target.id} has no feature {feature_id}")
    return found[0]


_READS: dict[str, Callable[[Connection, Any, OutputCrs, Window], dict[str, Any]]] = {
    "zones": lambda conn, f, crs, window: {
        "features": zone_search.search_zones(conn, f, crs=crs, window=window,
                                             count=False).features},
    "municipalities": lambda conn, f, crs, window: features.list_municipalities(
        conn, f.get("region"), crs=crs, window=window),
    "regions": lambda conn, f, crs, window: features.list_regions(
        conn, level=f.get("level"), crs=crs, window=window),
    "infrastructure": lambda conn, f, crs, window: features.list_infrastructure(
        conn, f.get("kind") or None, crs=crs, window=window),
    "constraint_areas": lambda conn, f, crs, window: features.list_constraint_areas(
        conn, f.get("kind") or None, crs=crs, window=window),
}


def feature_text(item: Any) -> str:
    """A feature as JSON text (plots arrive as PostgreSQL wrote them)."""
    return item if isinstance(item, str) else json.dumps(item, ensure_ascii=False)
