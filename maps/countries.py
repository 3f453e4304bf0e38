"""The countries around the platform's regions and the state borders between them, from
Natural Earth, for maps a person can find their way on without an online base map.

The data is Natural Earth's 1:10m Admin 0 countries (public domain) as TopoJSON, from the
npm package ``world-atlas`` (``maps/package.json``; the file's path is in maps/assets.py).
A window (whole degrees around the regions) is cut out once per machine and kept: only the
arcs of the countries in it are decoded, each arc is simplified on its own, so that two
neighbours still share their border point for point, and the countries are clipped to the
window. An arc that two countries share is their state border, drawn as a line of its own.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
import shapely.geometry
import shapely.ops

from locations.settings import PROJECT_ROOT
from maps.assets import NATURAL_EARTH_COUNTRIES

#: Simplification (degrees, about 150 m): under a pixel up to zoom 10, where the regions'
#: and municipalities' own borders from the database take over.
TOLERANCE_DEG = 0.002
#: Coordinates are written to 4 decimals (about 10 m): finer than the simplification.
PRECISION_DEG = 0.0001
#: The widest window served, in degrees (a bound on the work one request may cause).
MAX_SPAN_DEG = 40

#: ISO 3166 numeric codes (Natural Earth's ids) of the countries near the platform's regions,
#: as the two letters that the page labels (``country_XX``) and border classes use.
ISO_ALPHA2 = {
    "040": "AT", "705": "SI", "380": "IT", "191": "HR", "348": "HU", "276": "DE", "203": "CZ",
    "703": "SK", "756": "CH", "438": "LI", "070": "BA", "688": "RS", "616": "PL", "250": "FR",
    "499": "ME", "674": "SM", "336": "VA", "008": "AL", "807": "MK", "642": "RO", "804": "UA",
}

Window = tuple[int, int, int, int]


@dataclass(frozen=True)
class CountryContext:
    """GeoJSON (CRS84) of the countries clipped to a window and of their shared borders."""

    countries: dict[str, Any]
    borders: dict[str, Any]

    def as_json(self) -> bytes:
        return json.dumps({"countries": self.countries, "borders": self.borders},
                          separators=(",", ":"), ensure_ascii=False).encode()


def check_window(window: Window) -> None:
    """Raises ValueError unless ``window`` is west, south, east, north within the globe and
    at most ``MAX_SPAN_DEG`` wide and high."""
    west, south, east, north = window
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise ValueError("must be west,south,east,north in degrees, west < east, south < north")
    if east - west > MAX_SPAN_DEG or north - south > MAX_SPAN_DEG:
        raise ValueError(f"may span at most {MAX_SPAN_DEG} degrees each way")


def _decoded_arcs(topology: dict[str, Any]) -> list[np.ndarray]:
    """Every arc of a quantised TopoJSON as lon/lat arrays (delta-decoded in one pass)."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = topology["arcs"]
    lengths = np.fromiter((len(arc) for arc in arcs), dtype=np.int64, count=len(arcs))
    deltas = np.array([point for arc in arcs for point in arc], dtype=np.float64)
    totals = np.cumsum(deltas, axis=0)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    # Each arc's positions are the running sum of its own deltas: subtract what came before it.
    before = np.vstack([[0.0, 0.0], totals])[starts]
    positions = totals - np.repeat(before, lengths, axis=0)
    positions[:, 0] = positions[:, 0] * sx + tx
    positions[:, 1] = positions[:, 1] * sy + ty
    return np.split(positions, np.cumsum(lengths)[:-1])


def _arc_index(i: int) -> int:
    return i if i >= 0 else ~i


def country_context(window: Window) -> CountryContext:
    """The countries and state borders within ``window`` (west, south, east, north degrees).

    Raises:
        ValueError: a window out of bounds (see ``check_window``).
        FileNotFoundError: the npm packages were not installed (run ``make assets``).
    """
    check_window(window)
    if not NATURAL_EARTH_COUNTRIES.exists():
        raise FileNotFoundError(f"{NATURAL_EARTH_COUNTRIES} is missing: install the map assets "
                                "with 'make assets' (npm install in maps/)")
    topology = json.loads(NATURAL_EARTH_COUNTRIES.read_bytes())
    arcs = _decoded_arcs(topology)
    west, south, east, north = window
    box = shapely.box(west, south, east, north)
    simplified: dict[int, np.ndarray] = {}

    def arc(i: int) -> np.ndarray:
        j = _arc_index(i)
        if j not in simplified:
            simplified[j] = shapely.get_coordinates(
                shapely.simplify(shapely.linestrings(arcs[j]), TOLERANCE_DEG))
        return simplified[j] if i >= 0 else simplified[j][::-1]

    def ring(indices: list[int]) -> np.ndarray:
        parts = [arc(i) for i in indices]
        return np.concatenate([parts[0], *(part[1:] for part in parts[1:])])

    countries, users = [], {}
    for geometry in topology["objects"]["countries"]["geometries"]:
        if geometry.get("type") not in ("Polygon", "MultiPolygon") or "id" not in geometry:
            continue
        polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
        indices = {_arc_index(i) for polygon in polygons for r in polygon for i in r}
        points = np.concatenate([arcs[i] for i in indices])
        lo, hi = points.min(axis=0), points.max(axis=0)
        if hi[0] < west or lo[0] > east or hi[1] < south or lo[1] > north:
            continue
        code = ISO_ALPHA2.get(geometry["id"], geometry["id"])
        for i in indices:
            users.setdefault(i, set()).add(code)
        parts = []
        for polygon in polygons:
            # An island or coast wholly outside the window is never drawn: not built at all.
            outer = np.concatenate([arcs[_arc_index(i)] for i in polygon[0]])
            if (outer[:, 0].max() < west or outer[:, 0].min() > east
                    or outer[:, 1].max() < south or outer[:, 1].min() > north):
                continue
            rings = [r for r in (ring(ring_arcs) for ring_arcs in polygon) if len(r) >= 4]
            if rings:
                parts.append(shapely.polygons(rings[0], holes=rings[1:] or None))
        if not parts:
            continue
        shape = shapely.multipolygons(parts)
        # Simplifying arcs one by one can make a ring touch itself: repaired only then.
        if not shape.is_valid:
            shape = shapely.make_valid(shape)
        shape = shapely.intersection(shape, box)
        shape = shapely.set_precision(shape, PRECISION_DEG)
        if shape.is_empty or shape.area == 0:
            continue
        largest = max(getattr(shape, "geoms", [shape]), key=lambda part: part.area)
        label = shapely.ops.polylabel(largest, TOLERANCE_DEG * 10) if largest.geom_type == "Polygon" \
            else largest.representative_point()
        countries.append({
            "type": "Feature",
            "geometry": shapely.geometry.mapping(shape),
            "properties": {"code": code, "name": geometry["properties"]["name"],
                           "label": [round(label.x, 4), round(label.y, 4)]},
        })
    # A border is an arc two countries share; one feature per pair of neighbours.
    pairs: dict[tuple[str, ...], list[np.ndarray]] = {}
    for i, codes in users.items():
        if len(codes) == 2:
            pairs.setdefault(tuple(sorted(codes)), []).append(arc(i))
    borders = []
    for pair, lines in sorted(pairs.items()):
        shape = shapely.set_precision(shapely.intersection(
            shapely.line_merge(shapely.multilinestrings([shapely.linestrings(line) for line in lines])), box), PRECISION_DEG)
        if shape.is_empty:
            continue
        borders.append({"type": "Feature", "geometry": shapely.geometry.mapping(shape),
                        "properties": {"countries": list(pair)}})
    return CountryContext({"type": "FeatureCollection", "features": countries},
                          {"type": "FeatureCollection", "features": borders})


_served: dict[Window, bytes] = {}
_making = threading.Lock()


def _cache_file(window: Window) -> Path:
    """Where a window's countries are kept between processes: named by the window and by
    the Natural Earth file's size and time, so a new world-atlas makes them anew."""
    source = NATURAL_EARTH_COUNTRIES.stat()
    name = "_".join(map(str, window)) + f"-{source.st_size}-{int(source.st_mtime)}.json"
    # In the project's own runtime folder (beside the embedded cluster), not a shared /tmp
    # where another user could leave a file for the pages to serve.
    return PROJECT_ROOT / ".data" / "cache" / "countries" / name


def country_context_json(window: Window) -> bytes:
    """``country_context`` as the bytes a page fetches, made once per machine (a few
    seconds on a busy one) and kept in memory and in a file; a second caller waits for the
    first rather than making them again."""
    with _making:
        if window not in _served:
            cached = _cache_file(window)
            try:
                _served[window] = cached.read_bytes()
            except OSError:
                _served[window] = country_context(window).as_json()
                try:
                    cached.parent.mkdir(parents=True, exist_ok=True)
                    partial = cached.with_suffix(f".{os.getpid()}.tmp")
                    partial.write_bytes(_served[window])
                    partial.replace(cached)
                except OSError:
                    pass  # a read-only machine makes them once per process instead
        return _served[window]


def prepare(window: Window) -> None:
    """Start making ``window``'s countries in the background, if not made yet: a page that
    names them is sent first, and its browser asks for them a moment later."""
    if window not in _served and NATURAL_EARTH_COUNTRIES.exists():
        threading.Thread(target=country_context_json, args=(window,), daemon=True).start()
