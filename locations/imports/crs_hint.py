"""A hint for a file whose rows lie outside their regions: the common CRS that would place them in.

A wrong CRS is the commonest reason a whole file lands outside its regions: lon/lat
read as metres, Slovenian D96/TM coordinates in a file that says nothing, an Austrian
MGI zone mixed up with the next, or latitude written first. Each row's "outside the
extent" problem is true but does not say what to do; this says which CRS fits.
"""

from __future__ import annotations

import numpy as np
from pyproj import Transformer
from pyproj.exceptions import CRSError, ProjError
from sqlalchemy import Connection, text

from locations.imports.validation import (
    BEYOND_LONLAT,
    EXTENT_MARGIN_M,
    LIES_IN_NONE,
    OUTSIDE_EXTENT,
)
from locations.vocabulary import STORAGE_SRID

#: CRSs the platform's sources use, with the names their users know them by.
COMMON_CRS = {
    4326: "WGS 84, longitude/latitude",
    3794: "Slovenia D96/TM",
    3912: "Slovenia D48/GK",
    31254: "Austria MGI GK West",
    31255: "Austria MGI GK Central",
    31256: "Austria MGI GK East",
    31257: "Austria MGI M28",
    31258: "Austria MGI M31",
    31259: "Austria MGI M34",
    31287: "MGI / Austria Lambert",
    3416: "ETRS89 / Austria Lambert",
    32633: "WGS 84 / UTM 33N",
    3857: "Web Mercator",
    3035: "ETRS89-LAEA Europe",
}

#: A hint is given when at least this share of the rows lie outside their regions.
MOSTLY_OUTSIDE = 0.5

#: ... and a CRS fits when it puts at least this share of the sampled rows inside.
MOSTLY_INSIDE = 0.9
#: Rows sampled to try each CRS on.
SAMPLE = 500

#: Ways a point may have been read; the second swaps the axes (latitude written first).
_READINGS = [(srid, False) for srid in COMMON_CRS] + [(4326, True)]


def _placed_wrong(reason: str) -> bool:
    """A row's problem that a wrong CRS gives: outside its region's box, beyond what lon/lat
    can be, or, in a file naming no parents, in no zone, municipality or region (parcels
    outside the zones are left out before this, so these are rows that lie in nothing)."""
    return (reason.startswith((OUTSIDE_EXTENT, BEYOND_LONLAT))
            or (reason.startswith("no ") and reason.endswith(LIES_IN_NONE)))


def crs_hint(conn: Connection, srid: int | None, rows: int,
             problems: list[tuple[int, str, str]]) -> str | None:
    """Which common CRS would put the staged rows inside the regions, when most lie outside.

    Tries each CRS on the centres of up to SAMPLE staged rows (``import_stage``, in the
    file's coordinates) against the regions' boxes; None when the rows are mostly inside
    in the file's own CRS, or no common CRS fits. A hint is help, never a new failure: PROJ
    refusing a CRS gives none.
    """
    try:
        return _hint(conn, srid, rows, problems)
    except (CRSError, ProjError):
        return None


def _hint(conn: Connection, srid: int | None, rows: int,
          problems: list[tuple[int, str, str]]) -> str | None:
    outside = len({row for row, _, reason in problems if _placed_wrong(reason)})
    if not srid or not rows or outside < MOSTLY_OUTSIDE * rows:
        return None
    # The centres of up to SAMPLE rows' boxes, spread over the file, in its coordinates.
    step = max(1, rows // SAMPLE)
    points = conn.execute(text(
        "SELECT (ST_XMin(geom) + ST_XMax(geom)) / 2, (ST_YMin(geom) + ST_YMax(geom)) / 2 "
        "FROM import_stage WHERE geom IS NOT NULL AND NOT ST_IsEmpty(geom) "
        "AND row_no % :step = 0 LIMIT :sample"), {"step": step, "sample": SAMPLE}).all()
    if not points:
        return None
    xs, ys = np.array([p[0] for p in points]), np.array([p[1] for p in points])
    # The boxes of the regions municipalities lie in (NUTS-3): a country's or a NUTS-1
    # region's box is so large that a file read in the wrong CRS often lands in it too.
    regions = conn.execute(text(
        "SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) "
        f"FROM (SELECT ST_Expand(box2d(boundary), {EXTENT_MARGIN_M}) AS b FROM region "
        "      WHERE boundary IS NOT NULL AND (NOT EXISTS (SELECT 1 FROM municipality) "
        "            OR id IN (SELECT region_id FROM municipality))) r"
    )).all()

    def share_inside(candidate: int, swapped: bool) -> float:
        to_storage = Transformer.from_crs(candidate, STORAGE_SRID, always_xy=True)
        # pyproj gives inf for a point outside what the projection can take: never inside.
        east, north = to_storage.transform(*((ys, xs) if swapped else (xs, ys)))
        inside = np.zeros(len(points), dtype=bool)
        for x0, y0, x1, y1 in regions:
            inside |= (east >= x0) & (east <= x1) & (north >= y0) & (north <= y1)
        return float(inside.mean())

    if share_inside(srid, False) >= MOSTLY_OUTSIDE:
        return None  # in the regions, only not in zones: the CRS is not what is wrong
    fits = []
    for candidate, swapped in _READINGS:
        if candidate == srid and not swapped:
            continue
        if share_inside(candidate, swapped) >= MOSTLY_INSIDE:
            name = f"EPSG:{candidate} ({COMMON_CRS[candidate]})"
            fits.append(f"{name} with latitude written first" if swapped else name)
    if not fits:
        return None
    return (f"{outside:,} of {rows:,} row(s) lie outside the regions as EPSG:{srid}; "
            f"read as {' or '.join(fits[:3])} they would lie inside: is that the file's CRS?")
