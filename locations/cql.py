"""CQL2 filters (OGC API - Features Part 3) over plots, as conditions for the plot search.

pygeofilter parses CQL2 text and CQL2 JSON into an expression tree; this module walks
that tree and writes an SQL condition over the search's own aliases (``p`` plot, ``z``
its zone, ``pp`` plot_proximity), so a filtered items page is the search's query with
one more condition. Only the properties of ``PLOT_PROPERTIES`` can be named, every
value is a bound parameter checked against the property's type here (so PostgreSQL
never sees a value it could choke on), and anything else is refused naming it.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pyproj
import shapely
from lark import Lark
from pygeofilter import ast, values
from pygeofilter.parsers.cql2_json import parse as parse_json
from pygeofilter.parsers.cql2_text import parser as text_parser

from locations import vocabulary
from locations.accounts import INTERNAL_COLUMNS, InternalReach
from locations.errors import InvalidInput

#: filter-lang values: CQL2 text and JSON, and the draft name GDAL 3.6 sends for the text.
LANGUAGES = ("cql2-text", "cql2-json", "cql-text")
#: A filter longer than this is refused before it is parsed (a plot filter is a few lines).
MAX_FILTER_LENGTH = 20_000
#: Conditions nested deeper than this are refused (parsing and walking are recursive).
MAX_DEPTH = 50
#: Geometries of a filter in CRS84 lon/lat must lie where the storage CRS is defined.
STORAGE_AREA_OF_USE = shapely.box(-35.58, 24.60, 44.83, 84.73)


@dataclass(frozen=True)
class Property:
    """A property a filter may name: its SQL over the search's aliases, its JSON type,
    and whether it needs the zone (``z``) or the distances (``pp``) joined."""

    sql: str
    type: str  # string, number, integer, boolean, date, geometry
    description: str
    zone: bool = False
    proximity: bool = False
    enum: tuple[str, ...] | None = None
    #: The search's ``sort`` value ordering by this property (None: not sortable).
    sort: str | None = None


PLOT_PROPERTIES: dict[str, Property] = {
    "id": Property("p.id", "integer", "The plot's id", sort="id"),
    "cadastral_ref": Property("p.cadastral_ref", "string", "Cadastral reference"),
    "country": Property("p.country", "string", "Country code (SI, AT)"),
    "zone_id": Property("p.zone_id", "integer", "The business zone's id"),
    "status": Property("p.status", "string", "Availability", enum=vocabulary.PLOT_STATUS.codes),
    "area_m2": Property("p.area_m2", "number", "Area (m²)", sort="area"),
    "price_eur_m2": Property("p.price_eur_m2", "number", "Asking price (EUR/m²)", sort="price"),
    "readiness": Property("p.readiness", "string", "Readiness",
                          enum=vocabulary.READINESS.codes),
    "ownership": Property("p.ownership", "string", "Ownership",
                          enum=vocabulary.OWNERSHIP.codes),
    "brownfield": Property("p.brownfield", "boolean", "Brownfield"),
    "power_mw": Property("coalesce(p.power_mw, z.power_mw)", "number",
                         "Power (MW; the plot's own, else its zone's)", zone=True),
    "max_building_height_m": Property("p.max_building_height_m", "number",
                                      "Permitted building height (m)"),
    "available_from": Property("p.available_from", "date", "Available from"),
    "last_verified": Property("p.last_verified", "date", "Last verified",
                              sort="last_verified"),
    "broadband": Property("z.broadband", "string", "The zone's broadband", zone=True,
                          enum=vocabulary.BROADBAND.codes),
    "gas": Property("z.gas", "boolean", "The zone has gas", zone=True),
    "rail_siding": Property("z.rail_siding", "boolean", "The zone has a rail siding", zone=True),
    "motorway_km": Property("pp.motorway_km", "number", "To the nearest motorway junction (km)",
                            proximity=True, sort="distance"),
    "airport_km": Property("pp.airport_km", "number", "To the nearest airport (km)",
                           proximity=True),
    "rail_station_km": Property("pp.rail_station_km", "number",
                                "To the nearest rail station (km)", proximity=True),
    "rail_freight_km": Property("pp.rail_freight_km", "number",
                                "To the nearest rail freight terminal (km)", proximity=True),
    "public_transport_km": Property("pp.public_transport_km", "number",
                                    "To the nearest public transport stop (km)", proximity=True),
    "geometry": Property("p.boundary", "geometry", "The plot's outline"),
}

#: The other collections' properties, as SQL over the aliases of their reads
#: (zone_search.search_zones: ``z``, ``m``, ``r``, ``zs``; features.list_municipalities: ``m``,
#: ``r``; list_regions: ``r`` and its parent ``p``; list_infrastructure: ``i``;
#: list_constraint_areas: ``c``). Each sorts by its own SQL (offset pages, id breaking ties).
ZONE_PROPERTIES: dict[str, Property] = {
    "id": Property("z.id", "integer", "The zone's id"),
    "name": Property("z.name", "string", "Name"),
    "kind": Property("z.kind", "string", "Kind", enum=vocabulary.ZONE_KIND.codes),
    "lifecycle": Property("z.lifecycle", "string", "Lifecycle",
                          enum=vocabulary.ZONE_LIFECYCLE.codes),
    "municipality_id": Property("z.municipality_id", "integer", "The municipality's id"),
    "municipality_name": Property("m.name", "string", "The municipality's name"),
    "region_code": Property("r.code", "string", "The municipality's region code"),
    "country": Property("m.country", "string", "Country code (SI, AT)"),
    "brownfield": Property("z.brownfield", "boolean", "Brownfield"),
    "area_m2": Property("z.area_m2", "number", "Area (m²)"),
    "power_mw": Property("z.power_mw", "number", "Power (MW)"),
    "gas": Property("z.gas", "boolean", "Has gas"),
    "water": Property("z.water", "boolean", "Has water"),
    "sewage": Property("z.sewage", "string", "Sewage", enum=vocabulary.SEWAGE.codes),
    "broadband": Property("z.broadband", "string", "Broadband",
                          enum=vocabulary.BROADBAND.codes),
    "rail_siding": Property("z.rail_siding", "boolean", "Has a rail siding"),
    "district_heating": Property("z.district_heating", "boolean", "Has district heating"),
    "last_verified": Property("z.last_verified", "date", "Last verified"),
    "plot_count": Property("coalesce(zs.plot_count, 0)", "integer", "Plots"),
    "available_area_m2": Property("coalesce(zs.available_area_m2, 0)::float8", "number",
                                  "Available plot area (m²)"),
    "occupancy_share": Property("zs.occupancy_share", "number",
                                "Share of plot area sold or occupied (0 to 1)"),
    "geometry": Property("z.boundary", "geometry", "The zone's outline"),
}
MUNICIPALITY_PROPERTIES: dict[str, Property] = {
    "id": Property("m.id", "integer", "The municipality's id"),
    "code": Property("m.code", "string", "Official code"),
    "name": Property("m.name", "string", "Name"),
    "country": Property("m.country", "string", "Country code (SI, AT)"),
    "region_code": Property("r.code", "string", "Its region's code"),
    "population": Property("m.population", "integer", "Population"),
    "area_km2": Property("m.area_km2", "number", "Area (km²)"),
    "boundary_approximate": Property("m.boundary_approximate", "boolean",
                                     "The boundary is approximate"),
    "geometry": Property("m.boundary", "geometry", "The municipality's boundary"),
}
REGION_PROPERTIES: dict[str, Property] = {
    "id": Property("r.id", "integer", "The region's id"),
    "code": Property("r.code", "string", "Code (NUTS, district)"),
    "name": Property("r.name", "string", "Name"),
    "country": Property("r.country", "string", "Country code (SI, AT)"),
    "level": Property("r.level", "string", "Level", enum=vocabulary.REGION_LEVEL.codes),
    "parent_code": Property("p.code", "string", "The parent region's code"),
    "area_km2": Property("r.area_km2", "number", "Area (km²)"),
    "geometry": Property("r.boundary", "geometry", "The region's boundary"),
}
INFRASTRUCTURE_PROPERTIES: dict[str, Property] = {
    "id": Property("i.id", "integer", "The feature's id"),
    "kind": Property("i.kind", "string", "Kind", enum=vocabulary.INFRASTRUCTURE_KIND.codes),
    "name": Property("i.name", "string", "Name"),
    "code": Property("i.code", "string", "Code (an airport's IATA code, a station's code)"),
    "geometry": Property("i.geom", "geometry", "Where it is"),
}
CONSTRAINT_PROPERTIES: dict[str, Property] = {
    "id": Property("c.id", "integer", "The area's id"),
    "kind": Property("c.kind", "string", "Kind", enum=vocabulary.CONSTRAINT_KIND.codes),
    "severity": Property("c.severity", "string", "Severity", enum=vocabulary.SEVERITY.codes),
    "name": Property("c.name", "string", "Name"),
    "geometry": Property("c.boundary", "geometry", "The area's outline"),
}
#: Each collection's filterable properties (plots': ``plot_properties``, by reader).
COLLECTION_PROPERTIES: dict[str, dict[str, Property]] = {
    "plots": PLOT_PROPERTIES, "zones": ZONE_PROPERTIES,
    "municipalities": MUNICIPALITY_PROPERTIES, "regions": REGION_PROPERTIES,
    "infrastructure": INFRASTRUCTURE_PROPERTIES, "constraint_areas": CONSTRAINT_PROPERTIES,
}


def plot_properties(internal: InternalReach | None) -> dict[str, Property]:
    """The plot properties a reader may filter by: internal fields (owner contact, internal
    note) only for an account that sees them, and then empty outside its reach, as the
    items show them, so a filter tells nothing the answer would not."""
    if internal is None:
        return PLOT_PROPERTIES
    if internal.everywhere:
        within = "true"
    else:
        # Within the reach as the items have it (InternalReach.columns_sql): the plot's own
        # municipality among the account's; the ids are its integers, written as literals.
        municipalities = ",".join(str(int(i)) for i in sorted(internal.municipality_ids))
        within = f"p.municipality_id = ANY ('{{{municipalities}}}'::int[])"
    return PLOT_PROPERTIES | {
        column: Property(f"(CASE WHEN {within} THEN p.{column} END)", "string",
                         column.replace("_", " ").capitalize() + " (internal)")
        for column in INTERNAL_COLUMNS}


_SQL_TYPES = {"string": "text", "number": "float8", "integer": "bigint", "boolean": "boolean",
              "date": "date"}
_COMPARISONS = {ast.Equal: "=", ast.NotEqual: "<>", ast.LessThan: "<", ast.LessEqual: "<=",
                ast.GreaterThan: ">", ast.GreaterEqual: ">="}
_FLIPPED = {"=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_SPATIAL = {ast.GeometryIntersects: "ST_Intersects", ast.GeometryWithin: "ST_Within",
            ast.GeometryDisjoint: "ST_Disjoint", ast.GeometryContains: "ST_Contains",
            ast.GeometryTouches: "ST_Touches", ast.GeometryCrosses: "ST_Crosses",
            ast.GeometryOverlaps: "ST_Overlaps", ast.GeometryEquals: "ST_Equals"}


@dataclass
class Condition:
    """A filter as SQL over ``p``/``z``/``pp`` with its bound parameters and the joins it needs."""

    sql: str
    params: dict[str, Any] = field(default_factory=dict)
    zone: bool = False
    proximity: bool = False


@lru_cache(maxsize=1)
def _text_parser() -> Lark:
    """pygeofilter's CQL2 text grammar and tree builder, with NOT taking any parenthesised
    condition as CQL2 has it (its grammar takes only one predicate there, and GDAL writes
    ``NOT ((a IS NULL))``)."""
    folder = os.path.dirname(text_parser.__file__)
    with open(os.path.join(folder, "grammar.lark"), encoding="utf-8") as grammar_file:
        grammar = grammar_file.read()
    narrow = '| "NOT"i "(" predicate ")"'
    if narrow not in grammar:
        raise RuntimeError("pygeofilter's CQL2 text grammar changed: check cql._text_parser")
    grammar = grammar.replace(narrow, '| "NOT"i "(" condition ")"')
    # A quote inside a text literal is written twice (name = 'Mlin ''Pod gradom'''), as
    # in SQL; pygeofilter's literal ends at the first quote.
    quoted = "SINGLE_QUOTED: \"'\" /.*?/ \"'\""
    if quoted not in grammar:
        raise RuntimeError("pygeofilter's CQL2 text grammar changed: check cql._text_parser")
    grammar = grammar.replace(quoted, "SINGLE_QUOTED: /'(?:[^']|'')*'/")
    return Lark(grammar, parser="lalr", maybe_placeholders=False,
                transformer=_Transformer(), import_paths=[os.path.dirname(folder)])


class _Transformer(text_parser.CQLTransformer):
    """pygeofilter's tree builder, reading a doubled quote in a text literal as one quote."""

    def SINGLE_QUOTED(self, token: str) -> str:  # the grammar's terminal name
        return token[1:-1].replace("''", "'")


def parse_text(text: str) -> ast.Node:
    return _text_parser().parse(text)


def parse(text: str, lang: str | None) -> ast.Node:
    """The expression tree of a ``filter`` in ``filter-lang`` (default cql2-text).

    Raises:
        InvalidInput: an unknown language, or a filter that does not parse.
    """
    lang = lang or "cql2-text"
    if lang not in LANGUAGES:
        raise InvalidInput("filter-lang", f"{lang!r} is not offered; use cql2-text or cql2-json")
    # The draft's cql-text (what GDAL 3.6 sends) writes comparisons as CQL2 text does.
    lang = "cql2-text" if lang == "cql-text" else lang
    if len(text) > MAX_FILTER_LENGTH:
        raise InvalidInput("filter", f"longer than {MAX_FILTER_LENGTH} characters")
    if not text.strip():
        raise InvalidInput("filter", "is empty")
    try:
        return _parsed(text, lang)
    except RecursionError:
        raise InvalidInput("filter", "nested too deeply") from None
    except Exception as exc:  # noqa: BLE001 - the parsers raise many kinds on bad input
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "int_max_str_digits" in first:  # Python's own words, not the client's concern
            first = "a number has too many digits"
        raise InvalidInput("filter", f"not valid {lang}: {first[:200]}") from None


@lru_cache(maxsize=256)
def _parsed(text: str, lang: str) -> ast.Node:
    """A filter's tree, parsed once: a client paging through items sends the same filter
    with every page, and parsing CQL2 text took a fifth of a millisecond a request. The
    tree is only read afterwards (``condition``), never changed; a filter that does not
    parse raises, and is never kept."""
    if lang == "cql2-text":
        return parse_text(text)
    return parse_json(_json_between(json.loads(text)))


def _json_between(node: Any, depth: int = 0) -> Any:
    """CQL2 JSON's ``between`` as 1.0 writes it (``[property, low, high]``), in the
    ``[property, [low, high]]`` shape the parser reads."""
    if depth > MAX_DEPTH:
        raise RecursionError
    if isinstance(node, list):
        return [_json_between(n, depth + 1) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: _json_between(v, depth + 1) for k, v in node.items()}
    args = node.get("args")
    if node.get("op") == "between" and isinstance(args, list) and len(args) == 3:
        node["args"] = [args[0], [args[1], args[2]]]
    return node


class _Writer:
    """Writes one filter's SQL, numbering its parameters."""

    def __init__(self, properties: dict[str, Property], to_lonlat: pyproj.Transformer | None,
                 swap: bool) -> None:
        self.properties = properties
        self.to_lonlat = to_lonlat
        self.swap = swap
        self.condition = Condition("")

    def bind(self, value: Any) -> str:
        name = f"cql_{len(self.condition.params)}"
        self.condition.params[name] = value
        return f":{name}"

    def property(self, node: Any) -> tuple[str, Property]:
        if not isinstance(node, ast.Attribute):
            raise InvalidInput("filter", f"expected a property, got {_shown(node)}")
        found = self.properties.get(node.name)
        if found is None:
            raise InvalidInput("filter", f"unknown property {node.name!r}; queryable are: "
                                         f"{', '.join(self.properties)}")
        self.condition.zone |= found.zone
        self.condition.proximity |= found.proximity
        return node.name, found

    def literal(self, value: Any, name: str, prop: Property) -> str:
        """A bound parameter holding ``value`` as ``prop``'s type, cast to it in SQL."""
        kind = prop.type
        checked: Any = None
        if kind == "string" and isinstance(value, str):
            if "\x00" in value:
                raise InvalidInput("filter", f"{name}: a text value cannot hold a NUL character")
            checked = value
        elif kind == "number" and isinstance(value, int | float) and not isinstance(value, bool):
            if math.isfinite(value) and abs(value) < 1e300:
                checked = float(value)
        elif kind == "integer" and isinstance(value, int) and not isinstance(value, bool):
            if -2**63 < value < 2**63:
                checked = value
        elif kind == "boolean" and isinstance(value, bool):
            checked = value
        elif kind == "date":
            if isinstance(value, dt.datetime):
                checked = value.date()
            elif isinstance(value, dt.date):
                checked = value
            elif isinstance(value, str):
                try:
                    checked = dt.date.fromisoformat(value)
                except ValueError:
                    checked = None
        if checked is None:
            raise InvalidInput("filter", f"{name} is a {kind}; {_shown(value)} is not one")
        return f"CAST({self.bind(checked)} AS {_SQL_TYPES[kind]})"

    def scalar(self, name: str, prop: Property) -> str:
        if prop.type == "geometry":
            raise InvalidInput("filter", f"{name} is a geometry: use a spatial function "
                                         "such as S_INTERSECTS")
        return prop.sql

    def write(self, node: Any, depth: int = 0) -> str:
        if depth > MAX_DEPTH:
            raise InvalidInput("filter", "nested too deeply")
        if isinstance(node, ast.And | ast.Or):
            joiner = " AND " if isinstance(node, ast.And) else " OR "
            return f"({self.write(node.lhs, depth + 1)}{joiner}{self.write(node.rhs, depth + 1)})"
        if isinstance(node, ast.Not):
            return f"(NOT {self.write(node.sub_node, depth + 1)})"
        if isinstance(node, bool):
            return "true" if node else "false"
        if type(node) in _COMPARISONS:
            operator = _COMPARISONS[type(node)]
            lhs, rhs = node.lhs, node.rhs
            if not isinstance(lhs, ast.Attribute) and isinstance(rhs, ast.Attribute):
                lhs, rhs, operator = rhs, lhs, _FLIPPED[operator]
            name, prop = self.property(lhs)
            column = self.scalar(name, prop)
            return f"({column} {operator} {self.literal(rhs, name, prop)})"
        if isinstance(node, ast.Between):
            name, prop = self.property(node.lhs)
            column = self.scalar(name, prop)
            low, high = self.literal(node.low, name, prop), self.literal(node.high, name, prop)
            negation = "NOT " if node.not_ else ""
            return f"({column} {negation}BETWEEN {low} AND {high})"
        if isinstance(node, ast.In):
            name, prop = self.property(node.lhs)
            column = self.scalar(name, prop)
            if not node.sub_nodes:
                raise InvalidInput("filter", f"IN on {name} needs at least one value")
            listed = ", ".join(self.literal(v, name, prop) for v in node.sub_nodes)
            return f"({column} {'NOT ' if node.not_ else ''}IN ({listed}))"
        if isinstance(node, ast.Like):
            name, prop = self.property(node.lhs)
            if prop.type != "string":
                raise InvalidInput("filter", f"LIKE takes a text property; {name} is a "
                                             f"{prop.type}")
            # CQL2's wildcards (% and _, escaped by \) are PostgreSQL's own.
            pattern = self.literal(node.pattern, name, prop)
            operator = "ILIKE" if node.nocase else "LIKE"
            return f"({prop.sql} {'NOT ' if node.not_ else ''}{operator} {pattern})"
        if isinstance(node, ast.IsNull):
            name, prop = self.property(node.lhs)
            return f"({prop.sql} IS {'NOT ' if node.not_ else ''}NULL)"
        if type(node) in _SPATIAL:
            lhs, rhs = node.lhs, node.rhs
            if not isinstance(lhs, ast.Attribute) and isinstance(rhs, ast.Attribute) \
                    and type(node) in (ast.GeometryIntersects, ast.GeometryDisjoint,
                                       ast.GeometryTouches, ast.GeometryCrosses,
                                       ast.GeometryOverlaps, ast.GeometryEquals):
                lhs, rhs = rhs, lhs  # symmetric: either side may be the property
            name, prop = self.property(lhs)
            if prop.type != "geometry":
                raise InvalidInput("filter", f"{_SPATIAL[type(node)]} takes the geometry; "
                                             f"{name} is a {prop.type}")
            wkt = self.geometry(rhs)
            if wkt is None:  # wholly where no plot can be
                return "(false)" if type(node) is not ast.GeometryDisjoint else "(true)"
            # Straight lon/lat edges cut as a bbox's are (locations/geojson.py bbox_sql).
            shape = (f"ST_Transform(ST_Segmentize(ST_GeomFromText({self.bind(wkt)}, 4326),"
                     " 0.05), 3035)")
            return f"{_SPATIAL[type(node)]}({prop.sql}, {shape})"
        raise InvalidInput("filter", f"unsupported: {_shown(node)}")

    def geometry(self, node: Any) -> str | None:
        """A geometry literal as lon/lat WKT cut to where plots can be (None: nothing left).

        Raises:
            InvalidInput: not a geometry, not valid, outside its CRS's domain.
        """
        try:
            if isinstance(node, ast.Function) and node.name.lower() in ("bbox", "envelope") \
                    and len(node.arguments) in (4, 6):
                numbers = [float(n) for n in node.arguments]
                half = len(numbers) // 2
                shape = _box(numbers[0], numbers[1], numbers[half], numbers[half + 1])
            elif isinstance(node, values.Envelope):
                # The JSON parser fills Envelope(x1, x2, y1, y2) positionally from
                # [minx, miny, maxx, maxy]: its fields hold the bbox in that order.
                shape = _box(node.x1, node.x2, node.y1, node.y2)
            elif isinstance(node, values.Geometry):
                shape = shapely.from_geojson(json.dumps(node.geometry))
            else:
                raise InvalidInput("filter", f"expected a geometry, got {_shown(node)}")
        except (TypeError, ValueError, shapely.errors.GEOSException):
            raise InvalidInput("filter", "not a valid geometry literal") from None
        coordinates = shapely.get_coordinates(shape)
        if shape.is_empty or not math.isfinite(float(coordinates.sum())) \
                or not all(math.isfinite(c) for c in shape.bounds):
            raise InvalidInput("filter", "the geometry is empty or not finite")
        if not shape.is_valid:
            raise InvalidInput("filter", f"the geometry is not valid: "
                                         f"{shapely.is_valid_reason(shape)}")
        if self.swap:
            shape = shapely.transform(shape, lambda xy: xy[:, ::-1])
        if self.to_lonlat is None:
            minx, miny, maxx, maxy = shape.bounds
            if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
                raise InvalidInput("filter", "coordinates beyond -180..180 / -90..90: "
                                             "lon/lat in CRS84 unless filter-crs says otherwise")
        else:
            # Straight edges in a projected CRS bend in lon/lat: cut them before leaving it.
            minx, miny, maxx, maxy = shape.bounds
            step = max(maxx - minx, maxy - miny) / 32
            if step > 0:
                shape = shapely.segmentize(shape, step)
            shape = shapely.transform(shape, lambda xy: _transformed(self.to_lonlat, xy))
            if not shape.is_valid:
                shape = shapely.make_valid(shape)
        inside = shape.intersection(STORAGE_AREA_OF_USE)
        return None if inside.is_empty else inside.wkt


def _box(minx: float, miny: float, maxx: float, maxy: float) -> shapely.Polygon:
    """A BBOX literal's box; a minimum above its maximum is refused, as the ``bbox``
    parameter refuses it (shapely would swap them and search another box)."""
    if minx > maxx or miny > maxy:
        raise InvalidInput("filter", "BBOX minimum above maximum; order is minx,miny,maxx,maxy")
    return shapely.box(minx, miny, maxx, maxy)


def _transformed(transformer: pyproj.Transformer, xy: Any) -> Any:
    with np.errstate(all="ignore"):
        xs, ys = transformer.transform(xy[:, 0], xy[:, 1], errcheck=False)
    out = np.column_stack([xs, ys])
    if not np.isfinite(out).all():
        raise InvalidInput("filter-crs", "the geometry lies outside where its CRS is defined")
    return out


def _shown(node: Any) -> str:
    if isinstance(node, ast.Node):
        return type(node).__name__
    text = repr(node)
    return text if len(text) <= 60 else text[:57] + "..."


def condition(tree: ast.Node, *, srid: int | None = None, north_first: bool = False,
              properties: dict[str, Property] = PLOT_PROPERTIES) -> Condition:
    """The SQL condition of a parsed filter; geometry literals in EPSG ``srid`` (None: CRS84),
    in that CRS's own axis order (``north_first``: northing or latitude first).

    Raises:
        InvalidInput: an unknown property, an unsupported operator, a value of the wrong
            type or an invalid geometry (the message names it).
    """
    to_lonlat = None
    if srid is not None and srid != 4326:
        to_lonlat = pyproj.Transformer.from_crs(srid, 4326, always_xy=True)
    writer = _Writer(properties, to_lonlat, north_first)
    writer.condition.sql = writer.write(tree)
    return writer.condition


def sort_keys(value: str) -> list[tuple[str, bool]]:
    """A ``sortby`` value as (property, descending) pairs, in order: ``-area_m2,price_eur_m2``
    or ``area_m2 DESC, +price_eur_m2``.

    Raises:
        InvalidInput: no property, or one named twice.
    """
    keys: list[tuple[str, bool]] = []
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        descending = part.startswith("-")
        name = part.lstrip("+-").strip()
        words = name.rsplit(None, 1)
        if len(words) == 2 and words[1].lower() in ("asc", "desc"):
            name, descending = words[0].strip(), words[1].lower() == "desc"
        if any(name == named for named, _ in keys):
            raise InvalidInput("sortby", f"{name!r} is named twice")
        keys.append((name, descending))
    if not keys:
        raise InvalidInput("sortby", "name a property, with - in front for descending")
    return keys


def _sortable(name: str, properties: dict[str, Property], plots: bool) -> Property:
    prop = properties.get(name)
    if prop is None or prop.type == "geometry" or (plots and prop.sort is None):
        sortable = ", ".join(n for n, p in properties.items()
                             if p.type != "geometry" and (p.sort or not plots))
        raise InvalidInput("sortby", f"cannot sort by {name!r}; sortable are: {sortable}")
    return prop


def sort(value: str, properties: dict[str, Property] = PLOT_PROPERTIES) -> list[str]:
    """A plot ``sortby`` value as the search's sorts, first key first (``-area_m2`` is
    ``-area``); the search orders ties of them all by id.

    Raises:
        InvalidInput: a property that cannot be sorted by, one named twice, or id beside
            others or descending.
    """
    sorts = []
    keys = sort_keys(value)
    for name, descending in keys:
        prop = _sortable(name, properties, plots=True)
        if prop.sort == "id":
            if descending or len(keys) > 1:
                raise InvalidInput("sortby", "id sorts alone and ascending (it orders every "
                                             "other sort's ties already)")
            return ["id"]
        sorts.append(f"-{prop.sort}" if descending else prop.sort)
    return sorts


def order_sql(value: str, properties: dict[str, Property], id_sql: str) -> str:
    """A ``sortby`` value of a collection paged by offset as an SQL ORDER BY list over its
    properties (any number of keys; unknown values last; its id breaks ties).

    Raises:
        InvalidInput: a property that cannot be sorted by, or one named twice.
    """
    order = []
    for name, descending in sort_keys(value):
        prop = _sortable(name, properties, plots=False)
        order.append(f"{prop.sql} {'DESC' if descending else 'ASC'} NULLS LAST")
    return ", ".join([*order, id_sql])


def queryables_schema(href: str, title: str,
                      properties: dict[str, Property] = PLOT_PROPERTIES) -> dict[str, Any]:
    """The queryables as a JSON Schema, as OGC API - Features Part 3 has them."""
    described: dict[str, Any] = {}
    for name, prop in properties.items():
        if prop.type == "geometry":
            schema: dict[str, Any] = {"format": "geometry-any"}
        elif prop.type == "date":
            schema = {"type": "string", "format": "date"}
        else:
            schema = {"type": prop.type}
        if prop.enum:
            schema["enum"] = list(prop.enum)
        described[name] = {"title": prop.description} | schema
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": href,
            "type": "object", "title": title, "properties": described,
            "additionalProperties": False,
            # The draft's list, which GDAL 3.6 reads to know what it may send in a filter.
            "queryables": [{"id": name, "type": described[name].get("type", "geometry")}
                           for name in properties]}
