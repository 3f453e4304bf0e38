"""GeoJSON (RFC 7946, CRS84) building blocks shared by every read: SQL snippets and collections."""

from __future__ import annotations

import datetime as dt
import decimal
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: Coordinates to 7 decimals: about 1 cm, more than any cadastre promises.
COORDINATE_DECIMALS = 7


@dataclass(frozen=True)
class OutputCrs:
    """The CRS geometries are written in: its SRID, whether its first axis is north (so
    coordinates are swapped into the CRS's own order, as OGC API Features Part 2 has it),
    and the decimals kept (7 for degrees, 3 for metres: both about 1 cm or better)."""

    srid: int = 4326
    north_first: bool = False
    decimals: int = COORDINATE_DECIMALS


#: RFC 7946 GeoJSON: longitude/latitude on WGS 84 (CRS84).
GEOJSON_CRS = OutputCrs()


def geometry_sql(column: str, crs: OutputCrs = GEOJSON_CRS) -> str:
    """SQL giving ``column`` (stored in EPSG:3035) as GeoJSON text in ``crs`` (default CRS84).

    Polygons follow RFC 7946's right-hand rule: outer rings counter-clockwise, holes
    clockwise. Official boundaries come in either orientation (most of GURS's statistical
    regions are clockwise), and d3, Leaflet's and Mapbox's tools take a clockwise outer
    ring as a hole in the whole world. In a CRS with north first, the rings are turned
    before the axes are swapped: counter-clockwise on the ground."""
    if crs == GEOJSON_CRS:
        return (f"ST_AsGeoJSON(ST_ForcePolygonCCW(ST_Transform({column}, 4326)), "
                f"{COORDINATE_DECIMALS})")
    geometry = f"ST_ForcePolygonCCW(ST_Transform({column}, {int(crs.srid)}))"
    if crs.north_first:
        geometry = f"ST_FlipCoordinates({geometry})"
    # Option 0: no "crs" member in the geometry; the response's Content-Crs names the CRS.
    return f"ST_AsGeoJSON({geometry}, {int(crs.decimals)}, 0)"


def bbox_sql(column: str) -> str:
    """SQL: ``column`` (EPSG:3035) meets the lon/lat polygon in parameter ``:bbox_wkt``."""
    # 0.05° pieces: a straight lon/lat edge bends by well under a metre within one.
    return (f"ST_Intersects({column}, ST_Transform(ST_Segmentize("
            "ST_GeomFromText(:bbox_wkt, 4326), 0.05), 3035))")


@dataclass(frozen=True)
class Window:
    """Which part of a list to read: features meeting the lon/lat polygon ``bbox_wkt``
    (None: anywhere) with one of ``ids`` (None: any), at most ``limit`` of them (None:
    all) after the first ``offset``; ``condition`` narrows it further and ``order`` lists
    it in another order (a CQL2 filter and sortby of OGC API - Features, locations/cql.py,
    written over the list's own table aliases)."""

    bbox_wkt: str | None = None
    ids: tuple[int, ...] | None = None
    limit: int | None = None
    offset: int = 0
    condition: str | None = None
    condition_params: Mapping[str, Any] = field(default_factory=dict)
    order: str | None = None

    def where(self, geometry: str, id_column: str) -> str:
        """The SQL condition on the list's ``geometry`` and ``id_column``; its parameters
        come from ``params``."""
        conditions = [] if self.bbox_wkt is None else [bbox_sql(geometry)]
        if self.ids is not None:
            conditions.append(f"{id_column} = ANY (CAST(:window_ids AS bigint[]))")
        if self.condition is not None:
            conditions.append(self.condition)
        return " AND ".join(conditions) or "true"

    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = {} if self.bbox_wkt is None else {"bbox_wkt": self.bbox_wkt}
        if self.ids is not None:
            params["window_ids"] = list(self.ids)
        return params | dict(self.condition_params)

    def order_sql(self, default: str) -> str:
        """The ORDER BY list: the window's own, else the list's ``default``."""
        return self.order or default

    def limit_sql(self) -> str:
        if self.limit is None:
            return f"OFFSET {int(self.offset)}" if self.offset else ""
        return f"LIMIT {int(self.limit)} OFFSET {int(self.offset)}"


#: The whole list.
EVERYTHING = Window()


def jsonable(value: Any) -> Any:
    """Make database values JSON-friendly: dates as ISO text, decimals as floats."""
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def feature(row: Mapping[str, Any], geometry_key: str = "geometry") -> dict[str, Any]:
    """A Feature from a row holding ``id``, GeoJSON text under ``geometry_key`` and properties."""
    properties = {
        key: jsonable(value) for key, value in row.items() if key not in (geometry_key,)
    }
    geometry = row.get(geometry_key)
    return {
        "type": "Feature",
        "id": row["id"],
        "geometry": json.loads(geometry) if isinstance(geometry, str) else geometry,
        "properties": properties,
    }


def feature_collection(
    rows: Iterable[Mapping[str, Any]], **members: Any
) -> dict[str, Any]:
    """A FeatureCollection of ``rows``; extra top-level members (links, counts) as keywords."""
    features = [feature(row) for row in rows]
    return {"type": "FeatureCollection", "features": features, "numberReturned": len(features), **members}
