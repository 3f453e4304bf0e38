"""Downloads: the same search as GeoJSON, CSV, GeoPackage and XLSX, each opened by its own reader."""

from __future__ import annotations

import csv
import io

import geopandas as gpd
import openpyxl
import pytest
import shapely
from pyproj import Transformer
from sqlalchemy import Engine, text

from locations.formats import choose_format, render

PARAMS = {"region": "SI042", "status": "available", "limit": 1000}


@pytest.fixture(scope="module")
def expected(engine: Engine) -> dict[int, dict]:
    """The plots PARAMS should give: id -> cadastral ref and centroid lon/lat, from raw rows."""
    to_lonlat = Transformer.from_crs(3035, 4326, always_xy=True)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT p.id, p.cadastral_ref, ST_AsBinary(p.boundary) AS wkb FROM plot p "
            "JOIN zone z ON z.id = p.zone_id JOIN municipality m ON m.id = z.municipality_id "
            "JOIN region r ON r.id = m.region_id "
            "WHERE r.code = 'SI042' AND p.status = 'available' AND p.retired_at IS NULL")).all()
    result = {}
    for row in rows:
        centroid = shapely.from_wkb(bytes(row.wkb)).centroid
        result[row.id] = {"ref": row.cadastral_ref, "lonlat": to_lonlat.transform(centroid.x, centroid.y)}
    assert result
    return result


def test_csv_has_every_plot_with_wkt_and_centroid(client, expected):
    response = client.get("/plots", params=PARAMS | {"f": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="plots.csv"' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {int(r["id"]) for r in rows} == set(expected)
    for row in rows:
        plot = expected[int(row["id"])]
        assert row["cadastral_ref"] == plot["ref"]
        assert float(row["lon"]) == pytest.approx(plot["lonlat"][0], abs=1e-6)
        assert float(row["lat"]) == pytest.approx(plot["lonlat"][1], abs=1e-6)
        assert shapely.from_wkt(row["wkt"]).geom_type == "MultiPolygon"
        assert "owner_contact" not in row


def test_geopackage_opens_in_geopandas(client, expected, tmp_path):
    response = client.get("/plots", params=PARAMS | {"f": "gpkg"})
    assert response.headers["content-type"] == "application/geopackage+sqlite3"
    assert 'filename="plots.gpkg"' in response.headers["content-disposition"]
    path = tmp_path / "plots.gpkg"
    path.write_bytes(response.content)
    frame = gpd.read_file(path)
    assert set(frame["id"]) == set(expected)
    assert frame.crs.to_epsg() == 4326
    centroids = frame.to_crs(3035).centroid.to_crs(4326)
    for plot_id, point in zip(frame["id"], centroids):
        assert point.x == pytest.approx(expected[plot_id]["lonlat"][0], abs=1e-6)


def test_xlsx_opens_in_openpyxl(client, expected):
    response = client.get("/plots", params=PARAMS | {"f": "xlsx"})
    assert 'filename="plots.xlsx"' in response.headers["content-disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.values)
    header, body = rows[0], rows[1:]
    ids = [row[header.index("id")] for row in body]
    assert set(ids) == set(expected)
    refs = {row[header.index("id")]: row[header.index("cadastral_ref")] for row in body}
    assert all(refs[i] == expected[i]["ref"] for i in ids)


def test_accept_header_chooses_the_format_and_f_wins(client):
    as_csv = client.get("/plots", params={"limit": 3}, headers={"Accept": "text/csv"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    both = client.get("/plots", params={"limit": 3, "f": "geojson"}, headers={"Accept": "text/csv"})
    assert both.headers["content-type"] == "application/geo+json"
    browser = client.get("/plots", params={"limit": 3},
                         headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert browser.json()["type"] == "FeatureCollection"


def test_zones_download_as_geopackage(client, tmp_path):
    response = client.get("/zones", params={"f": "gpkg"})
    path = tmp_path / "zones.gpkg"
    path.write_bytes(response.content)
    frame = gpd.read_file(path)
    assert len(frame) == len(client.get("/zones").json()["features"])
    assert "available_area_m2" in frame.columns


def test_render_flattens_lists_and_keeps_empty_results():
    collection = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "id": 7, "properties": {"allowed_uses": ["logistics", "retail"]},
        "geometry": {"type": "Point", "coordinates": [14.35, 46.24]}}]}
    text_csv = render(collection, "csv").decode()
    assert "logistics;retail" in text_csv
    assert render({"type": "FeatureCollection", "features": []}, "csv").decode().startswith("id,")
    assert choose_format(None, "application/geopackage+sqlite3;q=0.5, text/csv").name == "csv"
