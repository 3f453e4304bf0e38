"""OGC API - Features (Core, CRS) and Tiles, tried as GIS staff would: GDAL against a real server,
and plain HTTP where the server itself must do the work (CRS, filters, paging).

Expectations come from the platform's own search (GET /plots, which tests/test_search.py
checks against the raw rows) or from the raw rows with pyproj, never from the OGC code.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import sqlite3
import subprocess
from collections.abc import Iterator
from urllib.parse import unquote_plus

import mapbox_vector_tile
import pyproj
import pytest
import shapely
from shapely import wkb
from sqlalchemy import text

from api.ogc.features import CONFORMANCE
from tests.servers import serving

COLLECTIONS = ["plots", "zones", "municipalities", "regions", "infrastructure",
               "constraint_areas"]
JSON_CLIENT = {"Accept": "application/json"}
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
HALF_WORLD = 20037508.342789244
#: Each CRS the API offers, as pyproj names it (authority axis order, as OGC API has it).
CRS = {
    "http://www.opengis.net/def/crs/OGC/1.3/CRS84": "OGC:CRS84",
    "http://www.opengis.net/def/crs/EPSG/0/4326": "EPSG:4326",
    "http://www.opengis.net/def/crs/EPSG/0/3035": "EPSG:3035",
    "http://www.opengis.net/def/crs/EPSG/0/3794": "EPSG:3794",
    "http://www.opengis.net/def/crs/EPSG/0/31255": "EPSG:31255",
    "http://www.opengis.net/def/crs/EPSG/0/31256": "EPSG:31256",
    "http://www.opengis.net/def/crs/EPSG/0/31259": "EPSG:31259",
    "http://www.opengis.net/def/crs/EPSG/0/3857": "EPSG:3857",
}


@pytest.fixture(scope="module")
def server(engine) -> Iterator[str]:
    """The platform over the shared demo database."""
    with serving(engine) as url:
        yield url


def gdal(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False,
                            env=None if env is None else os.environ | env)
    assert result.returncode == 0, result.stderr
    return result


def search_ids(client, **params) -> list[int]:
    """Every plot id GET /plots finds, following its next links."""
    ids, url, query = [], "/plots", {"limit": 1000, **params}
    while url:
        page = client.get(url, params=query).json()
        ids += [f["id"] for f in page["features"]]
        url = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
        query = None
    return ids


def gpkg_ids(path, layer: str) -> list[int]:
    with sqlite3.connect(path) as db:
        return [row[0] for row in db.execute(f'SELECT id FROM "{layer}" ORDER BY id')]


def all_items(client, collection: str, headers: dict | None = None, **params) -> list[dict]:
    """Every feature of a collection's items, following the next links."""
    found, url, query = [], f"/collections/{collection}/items", params
    while url:
        response = client.get(url, params=query, headers=JSON_CLIENT | (headers or {}))
        assert response.status_code == 200, response.text
        page = response.json()
        found += page["features"]
        url = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
        query = None
    return found


# -- GDAL as the client ---------------------------------------------------------------------

def test_gdal_lists_every_collection(server):
    listed = gdal("ogrinfo", "-ro", "-so", f"OAPIF:{server}/").stdout
    names = re.findall(r"^\d+: (\w+) \(title", listed, flags=re.MULTILINE)
    assert names == COLLECTIONS


def test_gdal_reports_the_plot_count_without_reading_every_page(server, client):
    summary = gdal("ogrinfo", "--debug", "on", "-ro", "-so", f"OAPIF:{server}/", "plots")
    count = int(re.search(r"Feature Count: (\d+)", summary.stdout).group(1))
    assert count == len(search_ids(client))
    # numberMatched of the first page told it: one page read, not all of them.
    assert len(re.findall(r"Fetch\(\S*/collections/plots/items", summary.stderr)) == 1


@pytest.mark.parametrize("where, spat, page_size", [
    ("status = 'available' AND area_m2 >= 20000", None, 1),
    ("status = 'available' AND area_m2 >= 5000", (15.55, 46.5, 15.75, 46.6), 3),  # Maribor
    ("status = 'available' AND area_m2 >= 5000", (14.2, 46.15, 14.45, 46.35), 3),  # Kranj
])
def test_gdal_copies_exactly_the_plots_the_search_finds(server, client, tmp_path, where, spat,
                                                        page_size):
    out = tmp_path / "plots.gpkg"
    args = ["ogr2ogr", "--debug", "on", "-f", "GPKG", str(out), f"OAPIF:{server}/", "plots",
            "-oo", f"PAGE_SIZE={page_size}", "-where", where]
    expected_query = {"status": "available",
                      "min_area_m2": re.search(r">= (\d+)", where).group(1)}
    if spat:
        args += ["-spat", *map(str, spat)]
        expected_query["bbox"] = ",".join(map(str, spat))
    result = gdal(*args)
    expected = sorted(search_ids(client, **expected_query))
    assert expected, "the demo has such plots"
    assert gpkg_ids(out, "plots") == expected
    # GDAL followed the next links page by page, the where (as the CQL filter GDAL 3.6
    # sends once the API offers one, tests/test_ogc_filter.py) and bbox applied by the server.
    pages = re.findall(r"Fetch\((\S*/collections/plots/items\S*cursor=\S*)\)", result.stderr)
    assert len(pages) >= 3
    assert all("filter=" in url and "status" in unquote_plus(url) and "area_m2" in
               unquote_plus(url) and f"limit={page_size}" in url for url in pages)
    assert "evaluated on client side" not in result.stderr
    assert all(("bbox=" in url) == bool(spat) for url in pages)


def test_gdal_opens_a_plot_tile_and_an_empty_tile(server, engine):
    with engine.connect() as conn:
        plot_id, lon, lat = conn.execute(text(
            "SELECT p.id, ST_X(c), ST_Y(c) FROM plot p, "
            "ST_Transform(ST_PointOnSurface(p.boundary), 4326) c "
            "WHERE p.retired_at IS NULL ORDER BY p.id LIMIT 1")).one()
    z = 15
    x = int((lon + 180) / 360 * (1 << z))
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * (1 << z))
    for url, opened in (
        # GDAL's MVT driver opens a URL that ends in mvt or pbf: f=mvt, the only encoding.
        (f"{server}/collections/plots/tiles/WebMercatorQuad/{z}/{y}/{x}?f=mvt", True),
        (f"{server}/tiles/plots/{z}/{x}/{y}.pbf", True),
        # The middle of the Atlantic: nothing there, still a tile GDAL opens.
        (f"{server}/collections/plots/tiles/WebMercatorQuad/14/6000/6000?f=mvt", False),
        (f"{server}/tiles/plots/14/6000/6000.pbf", False),
    ):
        # Where the tile lies: OGC's path is z/row/col, which GDAL cannot guess from it.
        address = ["-oo", f"Z={z}", "-oo", f"X={x}", "-oo", f"Y={y}"] if opened else []
        listed = gdal("ogrinfo", "-ro", "-al", *address, f"MVT:{url}").stdout
        assert "Layer name: plots" in listed
        ids = {int(i) for i in re.findall(r"mvt_id \(Integer64\) = (\d+)", listed)}
        if opened:
            assert plot_id in ids
            # The plot is drawn where it is: its point inside lies within its drawn polygon.
            mercator = pyproj.Transformer.from_crs(4326, 3857, always_xy=True)
            inside = shapely.Point(mercator.transform(lon, lat))
            drawn = _mvt_polygon(listed, plot_id)
            assert drawn.buffer(1.0).contains(inside)
        else:
            assert "Feature Count: 0" in listed and not ids


def test_gdal_with_a_token_gets_the_internal_fields_its_account_may_see(fresh_engine, tmp_path):
    from locations.accounts import create_account

    with fresh_engine.begin() as conn:
        contacts = dict(conn.execute(text(
            "SELECT id, owner_contact FROM plot WHERE owner_contact IS NOT NULL")).all())
        admin = create_account(conn, "gis-admin", "admin")
    with serving(fresh_engine) as url:
        out = tmp_path / "internal.gpkg"
        gdal("ogr2ogr", "-f", "GPKG", str(out), f"OAPIF:{url}/", "plots", "-where",
             "owner_contact IS NOT NULL", env={"GDAL_HTTP_HEADERS": f"Authorization: Bearer {admin}"})
        with sqlite3.connect(out) as db:
            assert dict(db.execute("SELECT id, owner_contact FROM plots")) == contacts
        anonymous = gdal("ogrinfo", "-ro", "-so", f"OAPIF:{url}/", "plots").stdout
        assert "owner_contact" not in anonymous and "status: String" in anonymous


def _mvt_polygon(listed: str, plot_id: int) -> shapely.Geometry:
    """The geometry ogrinfo printed (EPSG:3857) for the feature with this mvt_id."""
    feature = listed.split(f"mvt_id (Integer64) = {plot_id}\n", 1)[1].split("OGRFeature", 1)[0]
    return shapely.from_wkt(re.search(r"((?:MULTI)?POLYGON \(.*\))", feature).group(1))


# -- Part 1: landing page, conformance, collections -----------------------------------------

def test_the_landing_page_is_json_for_gis_clients_and_the_start_page_for_browsers(client):
    landing = client.get("/", headers=JSON_CLIENT)
    assert landing.status_code == 200
    assert landing.headers["content-type"].startswith("application/json")
    assert "Accept" in landing.headers["vary"]
    rels = {link["rel"]: link["href"] for link in landing.json()["links"]}
    for rel in ("self", "service-desc", "conformance", "data"):
        assert rel in rels
    assert client.get(rels["service-desc"]).json()["paths"]["/collections/plots/items"]
    assert client.get("/", params={"f": "json"}).json()["links"] == landing.json()["links"]

    start = client.get("/", headers=BROWSER)
    assert start.headers["content-type"].startswith("text/html")
    assert "conformance" not in start.text.lower()  # the investor's search form, as before
    assert client.get("/", headers={"Accept": "*/*"}).text == start.text
    ogc_html = client.get("/", params={"f": "html"})
    assert ogc_html.headers["content-type"].startswith("text/html")
    assert "/collections" in ogc_html.text and "OAPIF:" in ogc_html.text


def test_conformance_lists_the_classes_these_tests_exercise(client):
    assert client.get("/conformance").json() == {"conformsTo": CONFORMANCE}
    html = client.get("/conformance", headers=BROWSER)
    assert all(c in html.text for c in CONFORMANCE)


def test_collections_describe_extent_crs_and_links(client, engine):
    answer = client.get("/collections").json()
    assert [c["id"] for c in answer["collections"]] == COLLECTIONS
    with engine.connect() as conn:
        lon_min, lat_min, lon_max, lat_max = conn.execute(text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            "(SELECT ST_Extent(ST_Transform(boundary, 4326)) AS e FROM plot) s")).one()
    for document in answer["collections"]:
        assert document["storageCrs"] == "http://www.opengis.net/def/crs/EPSG/0/3035"
        assert set(document["crs"]) == set(CRS)
        links = {(link["rel"], link["type"]) for link in document["links"]}
        assert ("items", "application/geo+json") in links
        assert client.get(f"/collections/{document['id']}").json() == document
    plots = answer["collections"][0]
    west, south, east, north = plots["extent"]["spatial"]["bbox"][0]
    assert west <= lon_min and south <= lat_min and east >= lon_max and north >= lat_max
    assert client.get("/collections/nothing").status_code == 404
    assert client.get("/collections/nothing/items").status_code == 404


# -- Part 1: items ---------------------------------------------------------------------------

def test_plot_items_with_queryables_are_the_searchs_plots(client):
    for query, search in (
        ({"status": "available,reserved"}, {"status": ["available", "reserved"]}),
        ({"min_area_m2": 10000, "max_price_eur_m2": 80}, {"min_area_m2": 10000,
                                                          "max_price_eur_m2": 80}),
        ({"region": "SI042", "min_readiness": "serviced"}, {"region": "SI042",
                                                           "readiness": "serviced"}),
        ({"use": "logistics", "min_broadband": "fast"}, {"use": "logistics",
                                                         "broadband": "fast"}),
    ):
        found = [f["id"] for f in all_items(client, "plots", limit=25, **query)]
        assert found == search_ids(client, **search)
        assert found, query


def test_pages_follow_next_links_without_gaps_or_repeats(client):
    everything = search_ids(client)
    paged = all_items(client, "plots", limit=37)
    assert [f["id"] for f in paged] == everything
    municipalities = all_items(client, "municipalities", limit=5)
    whole = client.get("/municipalities").json()["features"]
    assert sorted(f["id"] for f in municipalities) == sorted(f["id"] for f in whole)
    assert len({f["id"] for f in municipalities}) == len(whole)
    second = client.get("/collections/municipalities/items",
                        params={"limit": 5, "offset": 5}).json()
    prev = next(link["href"] for link in second["links"] if link["rel"] == "prev")
    assert client.get(prev).json()["features"] == municipalities[:5]


def test_a_limit_over_the_maximum_is_a_clear_400(client):
    too_many = client.get("/collections/plots/items", params={"limit": 100000})
    assert too_many.status_code == 400
    assert too_many.json()["field"] == "limit" and "1000" in too_many.json()["detail"]
    for bad in ({"limit": 0}, {"limit": "ten"}, {"status": "bought"}, {"colour": "red"},
                {"bbox": "1,2,3"}, {"crs": "EPSG:2056"}, {"datetime": "yesterday"}):
        response = client.get("/collections/plots/items", params=bad)
        assert response.status_code == 400, bad
        assert response.json()["field"] == next(iter(bad)), bad


def test_number_matched_when_cheap_or_asked(client):
    everything = client.get("/collections/plots/items").json()
    assert everything["numberMatched"] == len(search_ids(client))
    available = client.get("/collections/plots/items", params={"status": "available"}).json()
    assert available["numberMatched"] == len(search_ids(client, status="available"))
    # A count by area reads every match: only when asked.
    big = client.get("/collections/plots/items", params={"min_area_m2": 5000, "limit": 10})
    assert "numberMatched" not in big.json()
    asked = client.get("/collections/plots/items",
                       params={"min_area_m2": 5000, "limit": 10, "count": "true"}).json()
    assert asked["numberMatched"] == len(search_ids(client, min_area_m2=5000))
    assert asked["numberReturned"] == 10


def test_datetime_filters_on_last_verified(client, engine):
    with engine.connect() as conn:
        days = dict(conn.execute(text(
            "SELECT id, last_verified FROM plot WHERE retired_at IS NULL")).all())
    start, end = dt.date(2025, 1, 1), dt.date(2025, 12, 31)
    for value, keep in (
        ("2025-01-01/2025-12-31", lambda d: start <= d <= end),
        ("2025-01-01T00:00:00Z/..", lambda d: d >= start),
        ("../2024-06-30", lambda d: d <= dt.date(2024, 6, 30)),
    ):
        found = {f["id"] for f in all_items(client, "plots", datetime=value, limit=500)}
        assert found == {i for i, d in days.items() if d is not None and keep(d)}
    one_day = next(iter(days.values()))
    found = all_items(client, "plots", datetime=one_day.isoformat(), limit=500)
    assert found and all(f["properties"]["last_verified"] == one_day.isoformat() for f in found)
    # GET /plots takes the same days as verified_since / verified_until.
    assert search_ids(client, verified_since="2025-01-01", verified_until="2025-12-31") == sorted(
        i for i, d in days.items() if start <= d <= end)
    assert client.get("/collections/zones/items", params={"datetime": "2025-01-01"}).json()[
        "field"] == "datetime"


def test_other_collections_page_filter_and_answer_single_items(client):
    zones = all_items(client, "zones", kind="industrial", limit=4)
    assert {f["id"] for f in zones} == {
        f["id"] for f in client.get("/zones", params={"kind": "industrial"}).json()["features"]}
    junctions = all_items(client, "infrastructure", kind="motorway_junction")
    assert junctions and all(f["properties"]["kind"] == "motorway_junction" for f in junctions)
    for collection in COLLECTIONS:
        first = client.get(f"/collections/{collection}/items", params={"limit": 1}).json()
        feature = first["features"][0]
        one = client.get(f"/collections/{collection}/items/{feature['id']}")
        assert one.status_code == 200 and one.headers["content-type"] == "application/geo+json"
        assert one.json()["id"] == feature["id"]
        assert one.json()["geometry"] == feature["geometry"]
        assert client.get(f"/collections/{collection}/items/999999999").status_code == 404
        assert client.get(f"/collections/{collection}/items/abc").status_code == 404


def test_bbox_finds_the_same_plots_as_the_search(client):
    bbox = "15.55,46.5,15.75,46.6"
    found = [f["id"] for f in all_items(client, "plots", bbox=bbox, limit=20)]
    assert found and found == search_ids(client, bbox=bbox)
    zones = {f["id"] for f in all_items(client, "zones", bbox=bbox)}
    assert zones == {f["properties"]["zone_id"] for f in all_items(client, "plots", bbox=bbox)}
    # Nowhere near: nothing, not an error.
    empty = client.get("/collections/zones/items", params={"bbox": "-30,40,-29,41"}).json()
    assert empty["features"] == [] and empty["numberMatched"] == 0


def test_html_views_escape_what_municipalities_typed(fresh_client, fresh_engine):
    with fresh_engine.begin() as conn:
        zone_id = conn.execute(text(
            "UPDATE zone SET name = '<script>alert(1)</script>' WHERE id = "
            "(SELECT min(id) FROM zone) RETURNING id")).scalar_one()
    for path in ("/collections/zones/items", f"/collections/zones/items/{zone_id}"):
        page = fresh_client.get(path, headers=BROWSER)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
        assert "<script>alert(1)" not in page.text
    plots = fresh_client.get("/collections/plots/items", params={"f": "html", "limit": 5})
    assert plots.text.count("/collections/plots/items/") >= 5
    assert 'rel="next"' not in plots.text and "Next page" in plots.text


# -- Part 2: CRS -----------------------------------------------------------------------------

def _coordinates(geometry: dict) -> list[tuple[float, float]]:
    return [tuple(point) for polygon in geometry["coordinates"] for ring in polygon
            for point in ring]


@pytest.mark.parametrize("uri", list(CRS))
def test_coordinates_in_every_crs_equal_pyprojs_within_a_centimetre(client, engine, uri):
    with engine.connect() as conn:
        plot_id, boundary = conn.execute(text(
            "SELECT id, ST_AsBinary(boundary) FROM plot WHERE retired_at IS NULL "
            "ORDER BY area_m2 DESC LIMIT 1")).one()
    shape = wkb.loads(bytes(boundary))
    # EPSG:3035 is northing/easting; always_xy=False keeps every CRS's own axis order.
    transformer = pyproj.Transformer.from_crs("EPSG:3035", CRS[uri], always_xy=False)
    expected = [transformer.transform(y, x) for polygon in shape.geoms
                for ring in (polygon.exterior, *polygon.interiors) for x, y in ring.coords]
    target = pyproj.CRS.from_user_input(CRS[uri])
    metres_per_unit = 111_320 if target.is_geographic else 1.0
    for path in ("/collections/plots/items", f"/collections/plots/items/{plot_id}"):
        params = {"crs": uri} | ({"bbox": ",".join(map(str, _lonlat_box(shape)))}
                                 if path.endswith("items") else {})
        response = client.get(path, params=params)
        assert response.status_code == 200
        assert response.headers["content-crs"] == f"<{uri}>"
        body = response.json()
        feature = body if "geometry" in body else next(
            f for f in body["features"] if f["id"] == plot_id)
        got = _coordinates(feature["geometry"])
        assert len(got) == len(expected)
        for (a1, a2), (b1, b2) in zip(got, expected, strict=True):
            assert math.hypot(a1 - b1, a2 - b2) * metres_per_unit <= 0.01


def _lonlat_box(shape_3035) -> tuple[float, float, float, float]:
    to_lonlat = pyproj.Transformer.from_crs(3035, 4326, always_xy=True)
    xs, ys = to_lonlat.transform(*shape_3035.exterior.xy if shape_3035.geom_type == "Polygon"
                                 else shape_3035.geoms[0].exterior.xy)
    return min(xs), min(ys), max(xs), max(ys)


def test_bbox_crs_takes_each_crss_own_axis_order(client, engine):
    with engine.connect() as conn:
        plot_id, boundary = conn.execute(text(
            "SELECT id, ST_AsBinary(boundary) FROM plot WHERE retired_at IS NULL "
            "ORDER BY id LIMIT 1")).one()
    centre = wkb.loads(bytes(boundary)).representative_point()

    def found(bbox: list[float], crs: str) -> set[int]:
        response = client.get("/collections/plots/items", params={
            "bbox": ",".join(map(str, bbox)), "bbox-crs": crs, "limit": 1000})
        assert response.status_code == 200, response.text
        return {f["id"] for f in response.json()["features"]}

    for name, pyproj_name in CRS.items():
        to_crs = pyproj.Transformer.from_crs("EPSG:3035", pyproj_name, always_xy=False)
        first, second = to_crs.transform(centre.y, centre.x)
        step = 1e-4 if pyproj.CRS.from_user_input(pyproj_name).is_geographic else 10.0
        box = [first - step, second - step, first + step, second + step]
        assert plot_id in found(box, name), name
        if name.endswith(("/3035", "/4326")):
            # The same numbers in the other order are somewhere else entirely.
            swapped = [box[1], box[0], box[3], box[2]]
            assert plot_id not in found(swapped, name), name


# -- roles -----------------------------------------------------------------------------------

def test_internal_fields_only_for_accounts_that_may_see_them(fresh_client, fresh_engine):
    from locations.accounts import create_account

    with fresh_engine.begin() as conn:
        contacts = {row.id: row for row in conn.execute(text(
            "SELECT p.id, p.owner_contact, m.name AS municipality FROM plot p "
            "JOIN zone z ON z.id = p.zone_id JOIN municipality m ON m.id = z.municipality_id "
            "WHERE p.owner_contact IS NOT NULL"))}
        own = next(iter(contacts.values()))
        other = next(c for c in contacts.values() if c.municipality != own.municipality)
        editor = create_account(conn, "ogc-editor", "municipality",
                                municipalities=[own.municipality])
        investor = create_account(conn, "ogc-investor", "investor")

    def seen(headers: dict) -> dict[int, dict]:
        return {f["id"]: f["properties"]
                for f in all_items(fresh_client, "plots", headers, limit=200)}

    anonymous = seen({})
    assert all("owner_contact" not in p and "internal_note" not in p for p in anonymous.values())
    as_investor = seen({"Authorization": f"Bearer {investor}"})
    assert all("owner_contact" not in p for p in as_investor.values())
    as_editor = seen({"Authorization": f"Bearer {editor}"})
    assert as_editor[own.id]["owner_contact"] == own.owner_contact
    assert as_editor[other.id]["owner_contact"] is None
    # GET /plots gives the editor exactly the same.
    plots = fresh_client.get("/plots", params={"limit": 1000},
                             headers={"Authorization": f"Bearer {editor}"}).json()
    assert {f["id"]: f["properties"]["owner_contact"] for f in plots["features"]} == {
        i: p["owner_contact"] for i, p in as_editor.items()}
    one = fresh_client.get(f"/collections/plots/items/{own.id}",
                           headers={"Authorization": f"Bearer {editor}"}).json()
    assert one["properties"]["owner_contact"] == own.owner_contact
    assert "owner_contact" not in fresh_client.get(
        f"/collections/plots/items/{own.id}").json()["properties"]
    wrong = fresh_client.get("/collections/plots/items",
                             headers={"Authorization": "Bearer wrong"})
    assert wrong.status_code == 401


# -- Tiles -----------------------------------------------------------------------------------

def test_tile_sets_describe_web_mercator_tiles_with_tilejson(client):
    assert [c["id"] for c in client.get("/tileMatrixSets").json()["tileMatrixSets"]] == [
        "WebMercatorQuad"]
    tms = client.get("/tileMatrixSets/WebMercatorQuad").json()
    assert tms["crs"] == "http://www.opengis.net/def/crs/EPSG/0/3857"
    z10 = tms["tileMatrices"][10]
    assert z10["matrixWidth"] == 1024
    assert z10["cellSize"] == pytest.approx(2 * HALF_WORLD / 256 / 1024)
    for collection in ("plots", "zones"):
        listed = client.get(f"/collections/{collection}/tiles").json()["tilesets"]
        assert listed[0]["tileMatrixSetURI"].endswith("/WebMercatorQuad")
        metadata = client.get(f"/collections/{collection}/tiles/WebMercatorQuad").json()
        assert metadata["dataType"] == "vector"
        template = next(link["href"] for link in metadata["links"] if link["rel"] == "item")
        assert template.endswith("/{tileMatrix}/{tileRow}/{tileCol}")
        tilejson = client.get(f"/collections/{collection}/tiles/WebMercatorQuad/tilejson.json")
        assert tilejson.json()["tilejson"] == "3.0.0"
        assert tilejson.json()["tiles"][0].endswith("/{z}/{y}/{x}")
        assert {layer["id"] for layer in tilejson.json()["vector_layers"]} == {
            layer["id"] for layer in metadata["layers"]}
    collection_links = client.get("/collections/plots").json()["links"]
    assert any(link["rel"].endswith("tilesets-vector") for link in collection_links)
    assert client.get("/collections/regions/tiles").status_code == 404


def test_ogc_tiles_are_the_tiles_of_the_tiles_route(client, engine):
    with engine.connect() as conn:
        lon, lat = conn.execute(text(
            "SELECT ST_X(c), ST_Y(c) FROM plot p, ST_Transform(ST_PointOnSurface(p.boundary), "
            "4326) c ORDER BY p.id LIMIT 1")).one()
    for z in (11, 14, 16):
        x = int((lon + 180) / 360 * (1 << z))
        y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * (1 << z))
        for collection in ("plots", "zones"):
            ogc = client.get(f"/collections/{collection}/tiles/WebMercatorQuad/{z}/{y}/{x}")
            today = client.get(f"/tiles/{collection}/{z}/{x}/{y}.pbf")
            assert ogc.status_code == 200
            assert ogc.headers["content-type"] == "application/vnd.mapbox-vector-tile"
            assert ogc.content == today.content and ogc.headers["etag"] == today.headers["etag"]
            assert mapbox_vector_tile.decode(ogc.content)
    empty = client.get("/collections/zones/tiles/WebMercatorQuad/14/6000/6000")
    assert empty.status_code == 200 and empty.content
    assert all(not layer["features"] for layer in mapbox_vector_tile.decode(empty.content).values())
    for path in ("23/0/0", "3/8/0", "3/0/8"):
        assert client.get(f"/collections/plots/tiles/WebMercatorQuad/{path}").status_code == 404
    assert client.get("/collections/plots/tiles/WebMercatorQuad/a/0/0").status_code == 400


def test_search_geometry_is_unchanged_in_crs84(client):
    # The default CRS stays RFC 7946: the same coordinates as GET /plots.
    ours = client.get("/collections/plots/items", params={"limit": 3}).json()["features"]
    theirs = client.get("/plots", params={"limit": 3}).json()["features"]
    assert [f["geometry"] for f in ours] == [f["geometry"] for f in theirs]
    assert shapely.geometry.shape(ours[0]["geometry"]).is_valid


def test_gdal_reads_the_xlsx_exports_geometry_as_the_readme_says(client, tmp_path):
    """GDAL's XLSX driver reads no geometry: the README's SQLite-dialect command makes the
    export's WKT one, in CRS84, where the search has each plot."""
    response = client.get("/exports/plots", params={"region": "SI042", "status": "available",
                                                     "f": "xlsx"})
    assert response.status_code == 200, response.text
    xlsx = tmp_path / "plots.xlsx"
    xlsx.write_bytes(response.content)
    out = tmp_path / "plots.gpkg"
    gdal("ogr2ogr", "-f", "GPKG", str(out), str(xlsx), "-dialect", "SQLite", "-sql",
         "SELECT *, GeomFromText(wkt, 4326) AS geometry FROM plots", "-nln", "plots")
    expected = {f["id"]: f["geometry"] for f in all_items(
        client, "plots", status="available", region="SI042", limit=1000)}
    assert expected
    with sqlite3.connect(out) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(plots)")]
        geometry_column = db.execute(
            "SELECT column_name FROM gpkg_geometry_columns").fetchone()[0]
        srs = db.execute("SELECT srs_id FROM gpkg_geometry_columns").fetchone()[0]
        rows = db.execute(f'SELECT id, "{geometry_column}" FROM plots').fetchall()
    assert "id" in columns and srs == 4326
    assert sorted(plot_id for plot_id, _ in rows) == sorted(expected)
    for plot_id, blob in rows:
        # A GeoPackage geometry: an 8-byte header and an envelope before the WKB.
        flags = blob[3]
        envelope = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}[(flags >> 1) & 0b111]
        read = wkb.loads(bytes(blob[8 + envelope:]))
        drawn = shapely.geometry.shape(expected[plot_id])
        assert read.normalize().equals_exact(drawn.normalize(), 1e-6), plot_id
