"""Build the sample files in this folder (run: python data/samples/build_samples.py).

Each sample is small, in the layout of one source, at known positions inside
the demo zones: squares of SIDE_M metres centred on the positions in SAMPLES_AT.
The tests read these files and the positions below, never the platform's code.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from pyproj import Transformer

HERE = Path(__file__).resolve().parent
#: Real boundaries, cut from the published files (see the README there).
FIXTURES = HERE.parent.parent / "tests" / "fixtures" / "boundaries"
#: GeoPackage 1.3: the GDAL of Debian 12 (and the QGIS built on it) warns that 1.4, what a
#: newer GDAL writes by default, "may only be partially supported".
GPKG_1_3 = {"engine": "pyogrio", "dataset_options": {"VERSION": "1.3"}}
SIDE_M = 40.0

#: (lon, lat) of sample plots: each a few hundred metres inside a demo zone, on land the demo
#: leaves unparcelled (`unparcelled` in data/demo/facts.yaml: keep the two in step).
SAMPLES_AT = {
    "PC Hrastje": (14.3950, 46.2300),
    "IC Trata": (14.3180, 46.1720),
    "PC Tezno": (15.6700, 46.5300),
    "Cargo Center Graz": (15.4700, 46.9250),
    "Impulspark Lang-Lebring": (15.5300, 46.8450),
}


def square(lon: float, lat: float, srid: int, dx_m: float = 0.0) -> shapely.Polygon:
    """A SIDE_M square around (lon, lat) shifted dx_m east, drawn in EPSG:3035 and given in ``srid``."""
    to_laea = Transformer.from_crs(4326, 3035, always_xy=True)
    x, y = to_laea.transform(lon, lat)
    box = shapely.box(x + dx_m - SIDE_M / 2, y - SIDE_M / 2, x + dx_m + SIDE_M / 2, y + SIDE_M / 2)
    out = Transformer.from_crs(3035, srid, always_xy=True)
    return shapely.transform(box, lambda xy: list(zip(*out.transform(xy[:, 0], xy[:, 1]))))


def frame(records: list[dict], srid: int) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(records, geometry="geometry", crs=srid)


def generic_plots(srid: int) -> gpd.GeoDataFrame:
    rows = []
    for i, (zone, (lon, lat)) in enumerate(SAMPLES_AT.items()):
        rows.append({
            "cadastral_ref": f"SAMPLE-{i + 1}/1", "zone": zone,
            "status": ["available", "reserved", "available", "under_negotiation", "sold"][i],
            "price_eur_m2": [95.0, 80.0, 55.5, 160.0, 70.0][i],
            "ownership": ["public", "private", "public", "private", "several"][i],
            "readiness": ["serviced", "shovel_ready", "registered", "serviced", "serviced"][i],
            "geometry": square(lon, lat, srid),
        })
    return frame(rows, srid)


def zip_shapefile(gdf: gpd.GeoDataFrame, name: str) -> None:
    folder = HERE / f"_{name}"
    folder.mkdir(exist_ok=True)
    gdf.to_file(folder / f"{name}.shp", engine="pyogrio")
    with zipfile.ZipFile(HERE / f"{name}.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        for part in sorted(folder.iterdir()):
            archive.write(part, part.name)
            part.unlink()
    folder.rmdir()


def main() -> None:
    # A GeoPackage written over keeps its old header (GDAL opens it for update): start anew.
    for old in HERE.glob("*.gpkg"):
        old.unlink()
    # The generic layout in four formats and three CRSs.
    generic_plots(4326).to_file(HERE / "plots-generic.geojson", driver="GeoJSON")
    generic_plots(3035).to_file(HERE / "plots-generic.gpkg", driver="GPKG", **GPKG_1_3, layer="plots")
    generic_plots(4326).to_file(HERE / "plots-generic.fgb", driver="FlatGeobuf")
    csv = pd.DataFrame(generic_plots(4326).drop(columns="geometry"))
    csv["wkt"] = shapely.to_wkt(generic_plots(4326).geometry.values, rounding_precision=8)
    csv.to_csv(HERE / "plots-wkt.csv", index=False)

    # GURS parcels in D96/TM (EPSG:3794), zipped Shapefile; zone found from the position.
    gurs = frame([
        {"KO_ID": 2105, "ST_PARCELE": "901/1", "geometry": square(*SAMPLES_AT["PC Hrastje"], 3794, 60)},
        {"KO_ID": 2031, "ST_PARCELE": "77/3", "geometry": square(*SAMPLES_AT["IC Trata"], 3794, 60)},
        {"KO_ID": 678, "ST_PARCELE": "1502", "geometry": square(*SAMPLES_AT["PC Tezno"], 3794, 60)},
    ], 3794)
    zip_shapefile(gurs, "gurs-parcels-3794")

    # BEV parcels in MGI / Austria GK M34 (EPSG:31259), GeoPackage.
    frame([
        {"KG": 63283, "GNR": "512/3",
         "geometry": square(*SAMPLES_AT["Cargo Center Graz"], 31259, 60)},
        {"KG": 66132, "GNR": "88",
         "geometry": square(*SAMPLES_AT["Impulspark Lang-Lebring"], 31259, 60)},
    ], 31259).to_file(HERE / "bev-parcels-31259.gpkg", driver="GPKG", **GPKG_1_3, layer="grundstuecke")

    # Municipalities and regions in the official layouts.
    to_laea = Transformer.from_crs(4326, 3035, always_xy=True)

    def km_square(lon: float, lat: float, km: float, srid: int) -> shapely.Polygon:
        x, y = to_laea.transform(lon, lat)
        box = shapely.box(x - km * 500, y - km * 500, x + km * 500, y + km * 500)
        out = Transformer.from_crs(3035, srid, always_xy=True)
        return shapely.transform(box, lambda xy: list(zip(*out.transform(xy[:, 0], xy[:, 1]))))

    frame([{"OB_ID": 82, "OB_UIME": "Naklo", "geometry": km_square(14.3556, 46.2389, 2, 3794)}],
          3794).to_file(HERE / "gurs-municipalities.gpkg", driver="GPKG", **GPKG_1_3, layer="OB")
    # Regions on their real boundaries: a made-up square of a region would leave the demo's
    # municipalities outside it, which an import refuses (the fixtures credit the sources).
    gurs = gpd.read_file(FIXTURES / "gurs-rpe-statistical-regions.geojson").to_crs(3794)
    gurs[gurs["SR_ID"] == 9][["SR_ID", "SR_UIME", "POV_KM2", "CEN_E", "CEN_N", "geometry"]].to_file(
        HERE / "gurs-regions.gpkg", driver="GPKG", **GPKG_1_3, layer="SR")
    graz = gpd.read_file(FIXTURES / "at-bezirke-graz.geojson").to_crs(3035).union_all()
    frame([{"g_id": "60625", "g_name": "Kalsdorf bei Graz",
            "geometry": km_square(15.4420, 47.0673, 2, 31258)}],
          31258).to_file(HERE / "statistik-austria-gemeinden.gpkg", driver="GPKG", **GPKG_1_3, layer="gemeinden")
    frame([{"id": "601", "name": "Graz(Stadt)", "geometry": km_square(15.44, 47.07, 12, 31258)}],
          31258).to_file(HERE / "statistik-austria-bezirke.gpkg", driver="GPKG", **GPKG_1_3, layer="bezirke")
    frame([
        {"NUTS_ID": "AT22", "NAME_LATN": "Steiermark", "LEVL_CODE": 2, "CNTR_CODE": "AT",
         "geometry": km_square(15.2, 47.2, 150, 3035)},
        {"NUTS_ID": "AT221", "NAME_LATN": "Graz", "LEVL_CODE": 3, "CNTR_CODE": "AT",
         "geometry": graz},
    ], 3035).to_file(HERE / "gisco-nuts.geojson", driver="GeoJSON")

    # Point and area layers: lon/lat tables and a GeoJSON.
    stops = pd.DataFrame({
        "kind": ["bus_stop", "bus_stop"], "name": ["Hrastje (sample)", "Tezno (sample)"],
        "lon": [14.3962, 15.6712], "lat": [46.2311, 46.5309],
    })
    stops.to_csv(HERE / "infrastructure-lonlat.csv", index=False)
    stops.assign(name=["Trata (sample)", "Werndorf (sample)"],
                 lon=[14.3192, 15.4712], lat=[46.1731, 46.9261]).to_excel(
        HERE / "infrastructure-lonlat.xlsx", index=False)
    frame([{"kind": "flood_risk", "name": "Kokra at Hrastje (sample)", "severity": "medium",
            "geometry": km_square(14.40, 46.235, 0.5, 4326)}], 4326).to_file(
        HERE / "constraints-generic.geojson", driver="GeoJSON")


if __name__ == "__main__":
    main()
