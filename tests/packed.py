"""A packed map layer (maps/packed_layer.py) read back in Python as
``maps/static/packed_features.js`` reads it in the browser, for tests that look into a
page's map without a browser. ``tests/test_packed_layer.py`` holds the two readers to the
same features on real pages."""

from __future__ import annotations

import json
from typing import Any

#: Where a page hands its packed layer to the browser's reader.
CALL = "LocationsPacked.features("


#: Where a page hands the borders around its map (maps/context.py) to the reader.
BORDERS_CALL = "LocationsPacked.borders("


def payloads_of(html: str, call: str = CALL) -> list[dict[str, Any]]:
    """Every packed layer's payload written in ``html`` (``call``: the plots' layers, or
    the borders' with ``BORDERS_CALL``), in page order."""
    found, at = [], html.find(call)
    while at >= 0:
        payload, _ = json.JSONDecoder().raw_decode(html, at + len(call))
        found.append(payload)
        at = html.find(call, at + 1)
    return found


def _counts(column: int | list[int], n: int) -> list[int]:
    return column if isinstance(column, list) else [column] * n


def _texts(column: dict[str, Any], n: int) -> list[str]:
    if "all" in column:
        return [column["all"]] * n
    if "index" in column:
        return [column["values"][i] for i in column["index"]]
    suffix = column.get("suffix", "")
    return [text if text == "–" else text + suffix for text in column["texts"]]


def _steps(encoded: str) -> list[int]:
    out, value, shift = [], 0, 0
    for char in encoded:
        group = ord(char) - 63
        value |= (group & 0x1F) << shift
        if group & 0x20:
            shift += 5
            continue
        out.append(~(value >> 1) if value & 1 else value >> 1)
        value, shift = 0, 0
    return out


def _outlines(packed: dict[str, Any], n: int) -> list[dict[str, Any]]:
    steps = iter(_steps(packed["points"]))
    per_feature = _counts(packed["features"], n)
    per_polygon = iter(_counts(packed["polygons"], sum(per_feature)))
    per_ring = iter(_counts(packed["rings"], sum(_counts(packed["polygons"], sum(per_feature)))))
    x = y = 0
    out = []
    for polygons in per_feature:
        coordinates = []
        for _ in range(polygons):
            rings = []
            for _ in range(next(per_polygon)):
                points = []
                for _ in range(next(per_ring)):
                    x += next(steps)
                    y += next(steps)
                    points.append([x / packed["scale"], y / packed["scale"]])
                rings.append([*points, points[0]])
            coordinates.append(rings)
        out.append({"type": "MultiPolygon", "coordinates": coordinates})
    assert next(steps, None) is None, "points left over"
    return out


def unpack(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The GeoJSON features of ``payload``, as the browser makes them."""
    n = len(payload["ids"])
    ids, running = [], 0
    for step in payload["ids"]:
        running += step
        ids.append(running)
    geometries = _outlines(payload["outlines"], n)
    columns = {name: _texts(column, n) for name, column in payload["properties"].items()}
    facts = [_texts(column, n) for column in payload["facts"]]
    features = []
    for i, feature_id in enumerate(ids):
        properties: dict[str, Any] = {"id": feature_id}
        properties.update({name: column[i] for name, column in columns.items()})
        properties["facts"] = [column[i] for column in facts]
        if payload.get("link"):
            before, after = payload["link"]
            properties["link"] = f"{before}{feature_id}{after}"
        if payload.get("name"):
            properties["name"] = payload["name"]["prefix"] + properties[payload["name"]["property"]]
        features.append({"type": "Feature", "id": feature_id, "geometry": geometries[i],
                         "properties": properties})
    return features


def unpack_borders(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The GeoJSON features of a map's packed borders, as ``LocationsPacked.borders`` makes
    them: each with its id and name."""
    n = len(payload["ids"])
    geometries = _outlines(payload["outlines"], n)
    names = _texts(payload["names"], n)
    features, feature_id = [], 0
    for step, geometry, name in zip(payload["ids"], geometries, names, strict=True):
        feature_id += step
        features.append({"type": "Feature", "id": feature_id, "geometry": geometry,
                         "properties": {"id": feature_id, "name": name}})
    return features
