"""Make the demo's boundary files from the published ones (run by hand, not at install or test).

    python data/demo/boundaries/simplify.py SOURCE_FOLDER

SOURCE_FOLDER holds the files as published (see README.md in data/demo for their sources
and licences): Statistik Austria's Styrian Gemeinden and Austrian Länder, and GURS's
Slovenian statistical regions. Each layer is simplified as a coverage (shared borders
stay shared, no gaps or overlaps are made) in EPSG:3035, so the repository stays small;
the areas change by far less than 1 % (printed). Written as RFC 7946 GeoJSON (CRS84).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import mapping

HERE = Path(__file__).resolve().parent

#: Slovenia's statistical regions (GURS SR_ID) and their NUTS-3 codes (NUTS 2021).
SLOVENIAN_NUTS3 = {
    1: "SI031", 2: "SI032", 3: "SI033", 4: "SI034", 5: "SI035", 6: "SI036", 7: "SI037",
    8: "SI041", 9: "SI042", 10: "SI038", 11: "SI043", 12: "SI044",
}

LAYERS = {
    # output name: (source file, tolerance in metres, fields kept, decimals of lon/lat)
    "at-styria-gemeinden.geojson": ("at-styria-gemeinden-2021.geojson", 0, ("iso", "name"), 6),
    "at-laender.geojson": ("at-laender-2021.geojson", 500, ("iso", "name"), 5),
    "si-statistical-regions.geojson": ("si-gurs-statistical-regions.geojson", 200,
                                       ("SR_ID", "SR_UIME", "POV_KM2", "D_OD"), 5),
}


def _rounded(geometry: shapely.Geometry, digits: int) -> dict:
    """GeoJSON of ``geometry`` with coordinates rounded (5 digits: about 1 m), outer rings
    counter-clockwise and holes clockwise (RFC 7946)."""
    oriented = shapely.orient_polygons(shapely.make_valid(
        shapely.set_precision(geometry, 10 ** -digits)))
    shape = mapping(oriented)

    def rounded(value):
        if isinstance(value, (list, tuple)) and value and isinstance(value[0], float):
            return [round(v, digits) for v in value]
        if isinstance(value, (list, tuple)):
            return [rounded(v) for v in value]
        return value

    return {"type": shape["type"], "coordinates": rounded(shape["coordinates"])}


def simplify(source: Path) -> None:
    for name, (file, tolerance, kept, digits) in LAYERS.items():
        frame = gpd.read_file(source / file)
        laea = frame.to_crs(3035).geometry.values
        simple = shapely.coverage_simplify(laea, tolerance) if tolerance else laea
        error = np.abs(shapely.area(simple) - shapely.area(laea)) / shapely.area(laea)
        lonlat = gpd.GeoSeries(simple, crs=3035).to_crs(4326)
        features = []
        for row, geometry in zip(frame.itertuples(), lonlat, strict=True):
            properties = {k: getattr(row, k) for k in kept}
            if "SR_ID" in properties:
                properties["nuts"] = SLOVENIAN_NUTS3[int(properties["SR_ID"])]
            properties = {k: (str(v)[:10] if k == "D_OD" else v.item() if hasattr(v, "item")
                              else v) for k, v in properties.items()}
            features.append({"type": "Feature", "properties": properties,
                             "geometry": _rounded(geometry, digits)})
        out = HERE / name
        out.write_text(json.dumps({"type": "FeatureCollection", "features": features},
                                  ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
        print(f"{name}: {len(features)} features, {out.stat().st_size // 1024} KiB, "
              f"area changed by at most {error.max():.4%}")


if __name__ == "__main__":
    simplify(Path(sys.argv[1]))
