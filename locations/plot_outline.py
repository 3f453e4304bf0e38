"""Replacing a plot's outline from a file: read the one polygon a GeoPackage, zipped
Shapefile or GeoJSON holds (in its own CRS), preview it beside the current outline with
both areas, and save it through ``plot_updates.update_plot``, the core of
PATCH /plots/{id} with a geometry, so scope, version, zone and overlap checks and the
audit trail are the ones every plot write has.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import shapely
from sqlalchemy import Connection, text

from locations.accounts import Account
from locations.errors import InvalidInput
from locations.field_rules import _text
from locations.imports.sources import read_source
from locations.plot_geometry import validate_plot_geometry
from locations.plot_updates import _plot_for_write, update_plot

OUTLINE_FILE_SUFFIXES = (".geojson", ".json", ".gpkg", ".zip")


def read_outline_file(path: Path) -> tuple[dict[str, Any], str]:
    """The one (Multi)Polygon a file holds, as GeoJSON and its CRS ("EPSG:n").

    Raises:
        InvalidInput: naming ``outline_file``: unreadable, without a CRS, or not one polygon.
    """
    if path.suffix.lower() not in OUTLINE_FILE_SUFFIXES:
        raise InvalidInput("outline_file", f"{path.name}: use a GeoPackage, a zipped Shapefile "
                                           f"or a GeoJSON file ({', '.join(OUTLINE_FILE_SUFFIXES)})")
    try:
        source = read_source(path)
    except InvalidInput as exc:
        raise InvalidInput("outline_file", exc.reason) from None
    shapes = [shapely.from_wkb(wkb) for wkb in source.wkb if wkb is not None]
    if len(shapes) != 1 or shapes[0].geom_type not in ("Polygon", "MultiPolygon"):
        kinds = ", ".join(sorted({shape.geom_type for shape in shapes})) or "nothing"
        raise InvalidInput("outline_file", f"the file must hold exactly one polygon (the plot's "
                                           f"outline); it holds {len(shapes)} feature(s): {kinds}")
    return json.loads(shapely.to_geojson(shapes[0])), f"EPSG:{source.srid}"


def preview_outline(conn: Connection, plot_id: int, geometry: Any, crs: str | int | None
                    ) -> dict[str, Any]:
    """The new outline checked as a save would check it (nothing written): CRS84 GeoJSON
    for the map and its area in m² (EPSG:3035, as the plot's own area).

    Raises:
        InvalidGeometry: invalid, outside the plot's zone, overlapping another plot ...
    """
    current = _plot_for_write(conn, plot_id)
    boundary = validate_plot_geometry(conn, geometry, crs, current["zone_id"], plot_id=plot_id)
    row = conn.execute(text(
        "SELECT ST_AsGeoJSON(ST_Transform(g, 4326), 9) AS geometry, ST_Area(g) AS area_m2 "
        "FROM (SELECT ST_GeomFromEWKB(decode(:b, 'hex')) AS g) AS new"),
        {"b": boundary}).mappings().one()
    return {"geometry": json.loads(row["geometry"]), "area_m2": float(row["area_m2"])}


def replace_outline(conn: Connection, account: Account, plot_id: int, expected_version: int,
                    geometry: Any, crs: str | int | None, reason: Any) -> int:
    """Save the new outline with the editor's reason (required); returns the new version."""
    note = _text("note", reason)
    if note is None:
        raise InvalidInput("note", "say why the outline changes (a new survey, a correction ...)")
    return update_plot(conn, account, plot_id, expected_version, {}, note=note,
                       geometry=geometry, crs=crs)
