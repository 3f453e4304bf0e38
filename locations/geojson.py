"""GeoJSON (RFC 7946, CRS84) building blocks shared by every read: SQL snippets and collections."""

from __future__ import annotations

import datetime as dt
import decimal
import json
from collections.abc import Iterable, Mapping
from typing import Any

#: Coordinates to 7 decimals: about 1 cm, more than any cadastre promises.
COORDINATE_DECIMALS = 7


def geometry_sql(column: str) -> str:
    """SQL giving ``column`` (stored in EPSG:3035) as CRS84 GeoJSON text."""
    return f"ST_AsGeoJSON(ST_Transform({column}, 4326), {COORDINATE_DECIMALS})"


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
