"""The demo data set built from ``data/demo/facts.yaml`` (loaded by ``locations.demo_load``).

``build_demo`` turns the facts (real names, approximate positions and sizes)
into GeoDataFrames in EPSG:3035: regions, municipalities, zones, plots,
infrastructure and constraint areas. Everything it derives (zone outlines, plot
subdivisions, statuses, prices, cadastral references, contacts, municipality and
region boundaries) is illustrative. The build is deterministic: every random
choice comes from a generator seeded by a hash of names, and dates are counted
from the facts' fixed reference date, never from the clock, so the same facts
give byte-identical output on every machine and every run.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass, fields
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import yaml
from pyproj import Transformer
from shapely.geometry import LineString, MultiPoint, MultiPolygon, Point, Polygon

from locations.vocabulary import TAKEN_STATUSES

CRS = "EPSG:3035"
DEFAULT_FACTS_PATH = Path(__file__).resolve().parent.parent / "data" / "demo" / "facts.yaml"
#: Real boundaries, simplified copies of the published files (see data/demo/README.md).
BOUNDARIES = DEFAULT_FACTS_PATH.parent / "boundaries"
DEFAULT_REFERENCE_DATE = date(2026, 10, 1)

# Municipalities without a known area get a disc of this size to clip their cell.
DEFAULT_MUNICIPALITY_KM2 = 30.0
# Zones are wrapped in this margin before municipalities are cut around them, so a
# zone never touches its municipality's edge (and other municipalities keep clear).
ZONE_MARGIN_M = 150.0
# Access roads: a strip inside the zone edge and between plot columns and rows.
EDGE_ROAD_M = 6.0
COLUMN_ROAD_M = 12.0
ROW_ROAD_M = 8.0

_TO_3035 = Transformer.from_crs("EPSG:4326", CRS, always_xy=True)

PLOT_COLUMNS = [
    "zone_name", "municipality_code", "country", "cadastral_ref", "status", "ownership",
    "offer", "price_eur_m2", "allowed_uses", "readiness", "brownfield", "power_mw",
    "available_from", "last_verified", "owner_contact", "internal_note",
]

_INTERNAL_NOTES = (
    "Owner open to splitting the plot.",
    "Check the access-road easement before offering.",
    "Soil survey pending.",
    "Price to be confirmed by the council.",
    "Neighbouring firm has asked about an extension onto this plot.",
    "Utility connection fee not yet settled.",
)
_BROWNFIELD_NOTES = (
    "Former industrial use: remediation report required before sale.",
    "Old foundations on site; demolition cost to be agreed.",
)


@dataclass(frozen=True)
class DemoDataSet:
    """The demo layers, all GeoDataFrames in EPSG:3035."""

    regions: gpd.GeoDataFrame
    municipalities: gpd.GeoDataFrame
    zones: gpd.GeoDataFrame
    plots: gpd.GeoDataFrame
    infrastructure: gpd.GeoDataFrame
    constraints: gpd.GeoDataFrame

    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


# --------------------------------------------------------------------------- helpers


def _rng(*key: object) -> random.Random:
    """A generator seeded by the key's SHA-256: Python's hash() is salted per process."""
    digest = hashlib.sha256("|".join(str(k) for k in key).encode("utf-8")).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _project(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    x, y = _TO_3035.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.asarray(x), np.asarray(y)


def _as_multipolygon(geom: shapely.Geometry, min_area_m2: float = 1.0) -> MultiPolygon:
    """Valid MultiPolygon of the polygonal parts, dropping slivers from overlay noise."""
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    stack = list(shapely.get_parts(geom))
    polygons: list[Polygon] = []
    while stack:
        part = stack.pop(0)
        if isinstance(part, Polygon):
            if not part.is_empty and part.area >= min_area_m2:
                polygons.append(part)
        elif hasattr(part, "geoms"):  # MultiPolygon or GeometryCollection from make_valid
            stack[:0] = list(part.geoms)
    result = MultiPolygon(polygons)
    if not result.is_valid:  # touching parts after sliver removal: dissolve them
        result = _as_multipolygon(shapely.make_valid(shapely.union_all(polygons)), min_area_m2)
    return result


def _weights(rng: random.Random, n: int, low: float, high: float) -> np.ndarray:
    w = np.array([rng.uniform(low, high) for _ in range(n)])
    return w / w.sum()


def _pick(rng: random.Random, options: dict[str, float]) -> str:
    return rng.choices(list(options), weights=list(options.values()))[0]


def load_facts(facts_path: Path | None = None) -> dict[str, Any]:
    path = Path(facts_path) if facts_path is not None else DEFAULT_FACTS_PATH
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


# --------------------------------------------------------------------------- zones and plots


def _zone_frame(zone: dict[str, Any], cx: float, cy: float) -> tuple[float, float, float]:
    """Width, height (m) and rotation (rad) of the zone's rectangle: area is exact."""
    rng = _rng("zone-frame", zone["name"])
    area_m2 = float(zone["area_ha"]) * 10_000.0
    aspect = rng.uniform(1.2, 2.0)
    width = math.sqrt(area_m2 * aspect)
    height = area_m2 / width
    angle = zone.get("orientation_deg")
    theta = math.radians(float(angle) if angle is not None else rng.uniform(0.0, 180.0))
    return width, height, theta


def _to_world(u: np.ndarray, v: np.ndarray, cx: float, cy: float, theta: float) -> np.ndarray:
    c, s = math.cos(theta), math.sin(theta)
    return np.stack([cx + u * c - v * s, cy + u * s + v * c], axis=-1)


def _rectangles(u0: np.ndarray, v0: np.ndarray, u1: np.ndarray, v1: np.ndarray,
                cx: float, cy: float, theta: float) -> np.ndarray:
    """Polygons (vectorised) for local boxes [u0,u1]x[v0,v1], rotated and moved into place."""
    u = np.stack([u0, u1, u1, u0, u0], axis=-1)
    v = np.stack([v0, v0, v1, v1, v0], axis=-1)
    return shapely.polygons(_to_world(u, v, cx, cy, theta))


def _plot_boxes(zone: dict[str, Any], width: float, height: float) -> np.ndarray:
    """Local boxes (u0, v0, u1, v1) of the plots: columns along the long side, then rows.

    Roads between columns and rows and along the zone edge keep plots apart and
    strictly inside the zone. Larger zones get larger plots, as real ones do.
    """
    rng = _rng("plots", zone["name"])
    target_m2 = (0.8 + 0.012 * float(zone["area_ha"])) * 10_000.0
    n_cols = max(1, round(width / (math.sqrt(target_m2) * 1.15)))
    usable_w = width - 2 * EDGE_ROAD_M - (n_cols - 1) * COLUMN_ROAD_M
    col_widths = usable_w * _weights(rng, n_cols, 0.75, 1.25)
    boxes: list[tuple[float, float, float, float]] = []
    u = -width / 2 + EDGE_ROAD_M
    for col_w in col_widths:
        n_rows = max(1, round(height / (target_m2 / col_w)))
        usable_h = height - 2 * EDGE_ROAD_M - (n_rows - 1) * ROW_ROAD_M
        v = -height / 2 + EDGE_ROAD_M
        for row_h in usable_h * _weights(rng, n_rows, 0.5, 1.5):
            boxes.append((u, v, u + col_w, v + row_h))
            v += row_h + ROW_ROAD_M
        u += col_w + COLUMN_ROAD_M
    return np.array(boxes)


def _unparcelled(zone: dict[str, Any], outline: Polygon) -> Polygon | None:
    """The zone's serviced land not yet parcelled (``unparcelled`` in the facts), or None."""
    spec = zone.get("unparcelled")
    if not spec:
        return None
    x, y = (float(c[0]) for c in _project([spec["lon"]], [spec["lat"]]))
    west, south, east, north = (float(m) for m in spec["box_m"])
    box = shapely.box(x + west, y + south, x + east, y + north)
    if not outline.contains(box):
        raise ValueError(f"the unparcelled land of {zone['name']} lies outside the zone")
    return box


def _cadastral_refs(zone: dict[str, Any], country: str, n: int) -> list[str]:
    """Illustrative references in the national style; the zone's own unit keeps them unique."""
    rng = _rng("cadastre", zone["name"])
    unit = str(zone["cadastral_unit"])
    parcel = rng.randint(150, 2500)
    refs = []
    for _ in range(n):
        parcel += rng.randint(1, 4)
        if country == "SI":
            refs.append(f"{unit}-{parcel}/{rng.randint(1, 12)}")
        else:  # Austrian Grundstücksnummern are often undivided
            sub = rng.randint(1, 9)
            refs.append(f"{unit}-{parcel}" if rng.random() < 0.4 else f"{unit}-{parcel}/{sub}")
    return refs


def _plot_attributes(zone: dict[str, Any], country: str, areas: np.ndarray,
                     reference: date) -> list[dict[str, Any]]:
    """Status, offer, price ... per plot, with occupied/sold area matching the zone's target."""
    rng = _rng("plot-attributes", zone["name"])
    n = len(areas)
    order = list(range(n))
    rng.shuffle(order)
    target = float(zone.get("occupancy", 0.0)) * float(areas.sum())
    status = ["available"] * n
    taken = 0.0
    for i in order:
        # Take a plot while that brings the occupied area closer to the target.
        if taken + areas[i] / 2 <= target:
            status[i] = "occupied" if rng.random() < 0.7 else "sold"
            taken += areas[i]
    lifecycle = zone["lifecycle"]
    rest = (
        {"available": 0.7, "reserved": 0.1, "not_for_sale": 0.2}
        if lifecycle == "planned"
        else {"available": 0.6, "reserved": 0.13, "under_negotiation": 0.14, "not_for_sale": 0.13}
    )
    readiness_mix = {
        "planned": {"registered": 1.0},
        "developing": {"registered": 0.35, "serviced": 0.4, "shovel_ready": 0.25},
        "operational": {"registered": 0.05, "serviced": 0.45, "shovel_ready": 0.5},
    }[lifecycle]
    preferred_offer = zone.get("offer")
    offer_mix = (
        {preferred_offer: 0.7, "sale_or_lease": 0.3}
        if preferred_offer and preferred_offer != "sale_or_lease"
        else {"sale": 0.5, "sale_or_lease": 0.35, "lease": 0.15}
    )
    low, high = zone["price_eur_m2"]
    zone_power = zone["infrastructure"].get("power_mw")
    uses = list(zone["allowed_uses"])
    out: list[dict[str, Any]] = []
    for i in range(n):
        s = status[i] if status[i] != "available" else _pick(rng, rest)
        on_market = s not in (*TAKEN_STATUSES, "not_for_sale")
        if s in ("occupied", "sold"):
            ownership = _pick(rng, {"private": 0.8, "several": 0.2})
        else:
            ownership = _pick(rng, {"public": 0.6, "private": 0.3, "several": 0.1})
        offer = _pick(rng, offer_mix) if on_market else None
        price = None
        # Asking prices are for sale; lease-only plots and ~10 % "on request" stay null.
        if offer in ("sale", "sale_or_lease") and rng.random() > 0.1:
            price = round(rng.uniform(low, high) * 2) / 2
        power = None
        if rng.random() < 0.25:  # null = the zone's capacity applies
            power = round(rng.uniform(0.2, min(5.0, zone_power or 5.0)), 1)
        available_from = None
        if on_market and (lifecycle == "planned" or rng.random() < 0.3):
            days = rng.randint(365, 900) if lifecycle == "planned" else rng.randint(30, 600)
            available_from = reference + timedelta(days=days)
        owner_contact = None
        if rng.random() < 0.15:
            owner_contact = f"owner-{_rng('owner', zone['name'], i).randint(1000, 9999)}@example.org"
        note = None
        if rng.random() < 0.12:
            pool = _INTERNAL_NOTES + (_BROWNFIELD_NOTES if zone["brownfield"] else ())
            note = rng.choice(pool)
        out.append({
            "status": s,
            "ownership": ownership,
            "offer": offer,
            "price_eur_m2": price,
            "allowed_uses": uses,
            "readiness": _pick(rng, readiness_mix),
            "brownfield": bool(zone["brownfield"]),
            "power_mw": power,
            "available_from": available_from,
            "last_verified": reference - timedelta(days=rng.randint(0, 1095)),
            "owner_contact": owner_contact,
            "internal_note": note,
        })
    return out


# --------------------------------------------------------------------------- boundaries


def _voronoi_cells(points: np.ndarray, pad_m: float = 100_000.0) -> np.ndarray:
    """One Voronoi cell per input point, in input order (GEOS >= 3.12 keeps the order)."""
    multipoint = MultiPoint(points)
    frame = shapely.box(*multipoint.bounds).buffer(pad_m)
    cells = shapely.voronoi_polygons(multipoint, extend_to=frame, ordered=True)
    return np.array(list(shapely.get_parts(cells)), dtype=object)


def _partition(labels: list[str], generators: np.ndarray, clips: dict[str, shapely.Geometry],
               cores: dict[str, shapely.Geometry]) -> dict[str, MultiPolygon]:
    """Disjoint areas per label: its Voronoi cells clipped, minus others' cores, plus its core.

    The cores (zones with a margin, or member municipalities) must be disjoint; each
    label keeps its own core whole, so containment is guaranteed by construction.
    """
    cells = _voronoi_cells(generators)
    keys = list(dict.fromkeys(labels))
    result: dict[str, MultiPolygon] = {}
    for key in keys:
        mine = shapely.union_all(cells[[lab == key for lab in labels]])
        area = shapely.intersection(mine, clips[key])
        others = [cores[k] for k in keys if k != key and cores.get(k) is not None]
        if others:
            area = shapely.difference(area, shapely.union_all(others))
        if cores.get(key) is not None:
            area = shapely.union(area, cores[key])
        result[key] = _as_multipolygon(area)
    return result


def _filled(geometry: shapely.Geometry, largest_hole_m2: float = 5e6) -> shapely.Geometry:
    """``geometry`` without holes smaller than ``largest_hole_m2``: gaps between boundaries
    from two sources, not enclaves."""
    polygons = []
    for part in shapely.get_parts(geometry):
        if not isinstance(part, Polygon):
            continue
        holes = [ring for ring in part.interiors if Polygon(ring).area >= largest_hole_m2]
        polygons.append(Polygon(part.exterior, holes))
    return shapely.union_all(polygons)


def _nuts_parent(code: str) -> str | None:
    """The NUTS region a NUTS code extends (AT221 -> AT22), None for a country."""
    return code[:-1] if len(code) > 2 else None


def _disc(x: float, y: float, area_km2: float) -> Polygon:
    return Point(x, y).buffer(math.sqrt(area_km2 * 1e6 / math.pi), quad_segs=32)


# --------------------------------------------------------------------------- real boundaries


def read_boundaries(name: str) -> gpd.GeoDataFrame:
    """One of the shipped boundary files (``data/demo/boundaries``), in EPSG:3035."""
    return gpd.read_file(BOUNDARIES / name).to_crs(CRS)


def _regions(facts: dict[str, Any]) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The regions of every level on their real boundaries, the Styrian districts, and the
    Styrian Gemeinden with their district and NUTS-3 region.

    A NUTS-3 region is the union of its districts' Gemeinden (Styria, as Statistik Austria
    groups them) or a GURS statistical region (Slovenia); a region naming Austrian states
    is their union; any other region is the union of the NUTS-3 regions below it.
    """
    gemeinden = read_boundaries("at-styria-gemeinden.geojson")
    gemeinden["district"] = gemeinden["iso"].str[:3]
    statistical = read_boundaries("si-statistical-regions.geojson").set_index("nuts")
    laender = read_boundaries("at-laender.geojson").set_index("iso")
    district_f = {str(d["iso"]): d for d in facts["districts"]}
    laender_of: dict[str, list[str]] = {}
    nuts3_of_district = {}
    geometries: dict[str, MultiPolygon] = {}
    rows = []
    for r in facts["regions"]:
        level = r.get("level", "nuts3")
        if "districts" in r:
            for iso in r["districts"]:
                nuts3_of_district[str(iso)] = r["code"]
            parts = gemeinden.geometry[gemeinden["district"].isin([str(i) for i in r["districts"]])]
            geometries[r["code"]] = _as_multipolygon(shapely.union_all(parts.values))
        elif "gurs_sr_id" in r:
            found = statistical.loc[r["code"]]
            if int(found["SR_ID"]) != int(r["gurs_sr_id"]):
                raise ValueError(f"{r['code']} is not GURS statistical region {r['gurs_sr_id']}")
            # The simplified copy keeps two sliver holes (Jugovzhodna Slovenija, 7 ha),
            # land of no other region: filled, as between the Gemeinden.
            geometries[r["code"]] = _as_multipolygon(_filled(found.geometry))
        elif "laender" in r:
            laender_of[r["code"]] = [str(i) for i in r["laender"]]
        rows.append({"code": r["code"], "name": r["name"], "country": r["country"],
                     "level": level, "parent_code": _nuts_parent(r["code"]),
                     "official_km2": r.get("area_km2")})
    for row in rows:  # coarser NUTS levels: the union of the NUTS-3 regions below them
        if row["code"] not in geometries:
            parts = [geometries[c["code"]] for c in rows
                     if c["level"] == "nuts3" and c["code"].startswith(row["code"])]
            if row["code"] in laender_of:
                # The states (simplified far more) with the Gemeinden below, holes between
                # the two sources filled; the state border is GURS's line, the more detailed.
                parts += list(laender.geometry.loc[laender_of[row["code"]]].values)
                whole = shapely.union_all([_filled(g) for g in parts])
                slovenia = shapely.union_all(statistical.geometry.values)
                geometries[row["code"]] = _as_multipolygon(
                    shapely.difference(_filled(whole), slovenia), min_area_m2=10_000)
                continue
            if not parts:
                raise ValueError(f"region {row['code']} has no boundary and no NUTS-3 region below")
            # Slivers between simplified neighbours would be holes in their union.
            geometries[row["code"]] = _as_multipolygon(_filled(shapely.union_all(parts)))
    regions = gpd.GeoDataFrame(rows, geometry=[geometries[r["code"]] for r in rows], crs=CRS)
    # Areas from the geometry; an official area, where the facts give one, is kept beside it.
    regions["area_km2"] = regions.geometry.area / 1e6
    regions = regions.rename(columns={"official_km2": "official_area_km2"})

    unassigned = sorted(set(gemeinden["district"]) - set(nuts3_of_district))
    if unassigned or set(district_f) != set(nuts3_of_district):
        raise ValueError(f"Styrian districts without a NUTS-3 region or a name: {unassigned}")
    gemeinden["region_code"] = gemeinden["district"].map(nuts3_of_district)
    by_district = gemeinden.dissolve("district")
    districts = gpd.GeoDataFrame(
        [{"code": f"AT-D-{iso}", "name": district_f[iso]["name"], "country": "AT",
          "level": "district", "parent_code": nuts3_of_district[iso],
          "area_km2": by_district.geometry[iso].area / 1e6, "official_area_km2": None}
         for iso in sorted(district_f)],
        geometry=[_as_multipolygon(_filled(by_district.geometry[iso])) for iso in sorted(district_f)],
        crs=CRS)
    return regions, districts, gemeinden


def _municipalities(facts: dict[str, Any], regions: gpd.GeoDataFrame,
                    gemeinden: gpd.GeoDataFrame, zones_f: list[dict[str, Any]],
                    zone_geoms: list[MultiPolygon], seats: dict[str, tuple[float, float]],
                    points: tuple[np.ndarray, ...]) -> gpd.GeoDataFrame:
    """Every Styrian Gemeinde on its real boundary (facts add population and seat), and the
    Slovenian municipalities of the facts on approximate boundaries, clipped to their real
    statistical region: no official municipality polygon is shipped for Slovenia."""
    munis_f = facts["municipalities"]
    sx, sy, zx, zy = points
    by_code = {(m["country"], str(m["code"])): m for m in munis_f}
    region_geometry = regions.set_index("code").geometry
    rows, geometries = [], []
    for gemeinde in gemeinden.itertuples():
        known = by_code.get(("AT", gemeinde.iso), {})
        if known and (known["name"] != gemeinde.name or known["region"] != gemeinde.region_code):
            raise ValueError(f"facts of {gemeinde.iso} ({known['name']}, {known['region']}) "
                             f"differ from the real {gemeinde.name}, {gemeinde.region_code}")
        if known and not gemeinde.geometry.contains(Point(seats[known["name"]])):
            # A seat is the town's position: labels and the labour pool place the town there.
            raise ValueError(f"the seat of {known['name']} lies outside its real boundary: "
                             "give a point in the town")
        rows.append({
            "code": gemeinde.iso, "name": gemeinde.name, "region_code": gemeinde.region_code,
            "country": "AT", "population": known.get("population"),
            "population_approx": bool(known.get("population_approx", False)),
            "area_km2": gemeinde.geometry.area / 1e6, "official_area_km2": None,
            "area_approx": False,
            "code_verified": True, "seat_approx": bool(known.get("seat_approx", False)),
            "boundary_approximate": False,
            "seat": Point(seats[known["name"]]) if known else None,
        })
        geometries.append(_as_multipolygon(gemeinde.geometry))
    unknown = {key for key in by_code if key[0] == "AT"} - {("AT", iso) for iso in gemeinden["iso"]}
    if unknown:
        raise ValueError(f"facts name Gemeinden that do not exist: {sorted(unknown)}")

    # Slovenia: Voronoi cells of the seats and zone centres (a zone's cell is its own),
    # clipped to a disc of the municipality's area and to its real statistical region.
    slovenian = [m for m in munis_f if m["country"] == "SI"]
    names = [m["name"] for m in munis_f]
    own_zones = [i for i, z in enumerate(zones_f) if z["municipality"] in
                 {m["name"] for m in slovenian}]
    labels = [m["name"] for m in slovenian] + [zones_f[i]["municipality"] for i in own_zones]
    generators = np.column_stack([
        np.concatenate([[sx[names.index(m["name"])] for m in slovenian], zx[own_zones]]),
        np.concatenate([[sy[names.index(m["name"])] for m in slovenian], zy[own_zones]])])
    cores: dict[str, shapely.Geometry] = {}
    clips: dict[str, shapely.Geometry] = {}
    for m in slovenian:
        own = [zone_geoms[i] for i in own_zones if zones_f[i]["municipality"] == m["name"]]
        x, y = seats[m["name"]]
        disc = _disc(x, y, float(m.get("area_km2") or DEFAULT_MUNICIPALITY_KM2))
        if own:
            cores[m["name"]] = shapely.union_all([g.buffer(ZONE_MARGIN_M) for g in own])
            # A corridor from the seat to distant zones keeps the municipality in one piece.
            hull = MultiPoint([(x, y)] + [g.centroid for g in own]).convex_hull.buffer(1000.0)
            clips[m["name"]] = shapely.union(disc, hull)
        else:
            clips[m["name"]] = disc
    for i, a in enumerate(list(cores)):
        for b in list(cores)[i + 1:]:
            if cores[a].intersects(cores[b]):
                raise ValueError(f"zones of {a} and {b} lie too close to separate the municipalities")
    approximated = _partition(labels, generators, clips, cores)
    for m in slovenian:
        region = region_geometry[m["region"]]
        clipped = _as_multipolygon(shapely.intersection(approximated[m["name"]], region))
        if not clipped.contains(Point(seats[m["name"]])) or (
                m["name"] in cores and not region.contains(cores[m["name"]])):
            raise ValueError(f"{m['name']} or its zones lie outside the real {m['region']}")
        rows.append({
            "code": str(m["code"]), "name": m["name"], "region_code": m["region"],
            "country": "SI",
            "population": int(m["population"]) if m.get("population") is not None else None,
            "population_approx": bool(m.get("population_approx", False)),
            # The boundary is approximate: its area is not the municipality's, the official is.
            "area_km2": clipped.area / 1e6,
            "official_area_km2": (float(m["area_km2"]) if m.get("area_km2") is not None
                                  and not m.get("area_approx") else None),
            "area_approx": bool(m.get("area_approx", False)),
            "code_verified": bool(m.get("code_verified", False)),
            "seat_approx": bool(m.get("seat_approx", False)),
            "boundary_approximate": True,
            "seat": Point(seats[m["name"]]),
        })
        geometries.append(clipped)
    municipalities = gpd.GeoDataFrame(rows, geometry=geometries, crs=CRS)
    municipalities["seat"] = gpd.GeoSeries(municipalities["seat"], crs=CRS)
    return municipalities


# --------------------------------------------------------------------------- build


def build_demo(facts_path: Path | None = None) -> DemoDataSet:
    """Build the demo layers from the facts file (default ``data/demo/facts.yaml``)."""
    facts = load_facts(facts_path)
    reference = facts.get("reference_date") or DEFAULT_REFERENCE_DATE
    if isinstance(reference, str):
        reference = date.fromisoformat(reference)

    munis_f = facts["municipalities"]
    zones_f = facts["zones"]
    muni_by_name = {m["name"]: m for m in munis_f}

    # Seats.
    sx, sy = _project([m["lon"] for m in munis_f], [m["lat"] for m in munis_f])
    seats = {m["name"]: (float(x), float(y)) for m, x, y in zip(munis_f, sx, sy, strict=True)}

    # Zones: exact-area rotated rectangles, and their plots.
    zx, zy = _project([z["lon"] for z in zones_f], [z["lat"] for z in zones_f])
    zone_rows: list[dict[str, Any]] = []
    zone_geoms: list[MultiPolygon] = []
    plot_rows: list[dict[str, Any]] = []
    plot_geoms: list[np.ndarray] = []
    for zone, cx, cy in zip(zones_f, zx, zy, strict=True):
        cx, cy = float(cx), float(cy)
        muni = muni_by_name[zone["municipality"]]
        width, height, theta = _zone_frame(zone, cx, cy)
        outline = _rectangles(np.array([-width / 2]), np.array([-height / 2]),
                              np.array([width / 2]), np.array([height / 2]), cx, cy, theta)[0]
        zone_geoms.append(MultiPolygon([outline]))
        infra = zone.get("infrastructure") or {}
        manager = zone.get("manager") or {}
        descriptions = zone.get("description") or {}
        zone_rows.append({
            "name": zone["name"],
            "municipality": muni["name"],
            "municipality_code": str(muni["code"]),
            "country": muni["country"],
            "region_code": muni["region"],
            "kind": zone["kind"],
            "lifecycle": zone["lifecycle"],
            "allowed_uses": list(zone["allowed_uses"]),
            "brownfield": bool(zone["brownfield"]),
            "power_mw": infra.get("power_mw"),
            "gas": infra.get("gas"),
            "water": infra.get("water"),
            "sewage": infra.get("sewage"),
            "broadband": infra.get("broadband"),
            "rail_siding": infra.get("rail_siding"),
            "district_heating": infra.get("district_heating"),
            "occupancy_target": float(zone.get("occupancy", 0.0)),
            "manager_name": manager.get("name"),
            "manager_email": manager.get("email"),
            "manager_phone": manager.get("phone"),
            "description_en": descriptions.get("en"),
            "description_sl": descriptions.get("sl"),
            "description_de": descriptions.get("de"),
            "facts_source": zone.get("facts"),
            "area_ha": float(zone["area_ha"]),
            "area_approx": bool(zone.get("area_approx", False)),
            "position_approx": bool(zone.get("position_approx", False)),
            "position_estimated": bool(zone.get("position_estimated", False)),
            "last_verified": reference - timedelta(days=_rng("zone-verified", zone["name"]).randint(0, 540)),
        })

        boxes = _plot_boxes(zone, width, height)
        polygons = _rectangles(boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3], cx, cy, theta)
        areas = shapely.area(polygons)
        refs = _cadastral_refs(zone, muni["country"], len(polygons))
        attributes = _plot_attributes(zone, muni["country"], areas, reference)
        # Plots on unparcelled land are left out after everything is drawn, so every
        # other plot keeps its reference and attributes.
        unparcelled = _unparcelled(zone, outline)
        keep = (np.ones(len(polygons), dtype=bool) if unparcelled is None
                else ~shapely.intersects(polygons, unparcelled))
        plot_geoms.append(polygons[keep])
        for ref, attrs, kept in zip(refs, attributes, keep, strict=True):
            if kept:
                plot_rows.append({
                    "zone_name": zone["name"],
                    "municipality_code": str(muni["code"]),
                    "country": muni["country"],
                    "cadastral_ref": ref,
                    **attrs,
                })

    all_plots = np.concatenate(plot_geoms)
    plot_multi = shapely.multipolygons(all_plots, indices=np.arange(len(all_plots)))
    zones = gpd.GeoDataFrame(zone_rows, geometry=list(zone_geoms), crs=CRS)
    plots = gpd.GeoDataFrame(plot_rows, columns=PLOT_COLUMNS, geometry=list(plot_multi), crs=CRS)

    regions, districts, gemeinden = _regions(facts)
    municipalities = _municipalities(facts, regions, gemeinden, zones_f, zone_geoms,
                                     seats, (sx, sy, zx, zy))
    regions = pd.concat([regions, districts], ignore_index=True)

    # Infrastructure points.
    infra_f = facts["infrastructure"]
    ix, iy = _project([p["lon"] for p in infra_f], [p["lat"] for p in infra_f])
    extra_keys = ("approx", "estimated", "road", "runway_m")
    infrastructure = gpd.GeoDataFrame(
        [{
            "kind": p["kind"],
            "name": p["name"],
            "code": p.get("code"),
            "approx": bool(p.get("approx", False)),
            "properties": {k: p[k] for k in extra_keys if k in p},
        } for p in infra_f],
        geometry=list(shapely.points(np.column_stack([ix, iy]))),
        crs=CRS,
    )

    # Constraint areas: buffered river lines.
    constraint_rows = []
    constraint_geoms = []
    for c in facts["constraints"]:
        lat, lon = np.array(c["line"], dtype=float).T
        x, y = _project(lon, lat)
        line = LineString(np.column_stack([x, y]))
        constraint_geoms.append(_as_multipolygon(line.buffer(float(c["buffer_m"]), quad_segs=8)))
        constraint_rows.append({
            "kind": c["kind"],
            "severity": c.get("severity"),
            "name": c["name"],
            "buffer_m": float(c["buffer_m"]),
        })
    constraints = gpd.GeoDataFrame(constraint_rows, geometry=constraint_geoms, crs=CRS)

    return DemoDataSet(
        regions=regions,
        municipalities=municipalities,
        zones=zones,
        plots=plots,
        infrastructure=infrastructure,
        constraints=constraints,
    )
