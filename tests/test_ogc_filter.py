"""OGC API - Features Part 3: CQL2 filters, queryables and sortby on plots, tried with plain
HTTP, OWSLib and GDAL, each answer checked against the platform's own search (GET /plots)
or against the plots' own values, never against the filter code.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import sqlite3
import subprocess
from collections.abc import Iterator

import pyproj
import pytest
import shapely
from owslib.ogcapi.features import Features
from shapely import wkb
from sqlalchemy import text

from api.ogc.features import CONFORMANCE
from tests.servers import serving

JSON_CLIENT = {"Accept": "application/json"}
ITEMS = "/collections/plots/items"
MARIBOR = (15.55, 46.5, 15.75, 46.6)


@pytest.fixture(scope="module")
def server(engine) -> Iterator[str]:
    with serving(engine) as url:
        yield url


def search_features(client, **params) -> list[dict]:
    """Every plot GET /plots finds, following its next links."""
    found, url, query = [], "/plots", {"limit": 1000, **params}
    while url:
        page = client.get(url, params=query).json()
        found += page["features"]
        url = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
        query = None
    return found


def search_ids(client, **params) -> list[int]:
    return [f["id"] for f in search_features(client, **params)]


def filtered(client, cql: str | dict, limit: int = 7, **params) -> list[dict]:
    """Every plot the items route finds for a CQL2 filter (text, or JSON for a dict),
    following next links with small pages."""
    query = {"filter": cql if isinstance(cql, str) else json.dumps(cql), "limit": limit,
             **({"filter-lang": "cql2-json"} if isinstance(cql, dict) else {}), **params}
    found, url = [], ITEMS
    while url:
        response = client.get(url, params=query, headers=JSON_CLIENT)
        assert response.status_code == 200, response.text
        page = response.json()
        found += page["features"]
        url = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
        query = None
    return found


def ids(features: list[dict]) -> list[int]:
    return [f["id"] for f in features]


def prop(name: str) -> dict:
    return {"property": name}


# -- CQL2 text and JSON give the search's plots ---------------------------------------------

EQUIVALENTS = [
    ("status = 'available' AND area_m2 >= 20000",
     {"op": "and", "args": [{"op": "=", "args": [prop("status"), "available"]},
                            {"op": ">=", "args": [prop("area_m2"), 20000]}]},
     {"status": "available", "min_area_m2": 20000}),
    ("status IN ('available', 'reserved') AND price_eur_m2 <= 80",
     {"op": "and", "args": [{"op": "in", "args": [prop("status"), ["available", "reserved"]]},
                            {"op": "<=", "args": [prop("price_eur_m2"), 80]}]},
     {"status": ["available", "reserved"], "max_price_eur_m2": 80}),
    ("area_m2 BETWEEN 5000 AND 20000 AND readiness IN ('serviced', 'shovel_ready')",
     {"op": "and", "args": [{"op": "between", "args": [prop("area_m2"), 5000, 20000]},
                            {"op": "in", "args": [prop("readiness"),
                                                  ["serviced", "shovel_ready"]]}]},
     {"min_area_m2": 5000, "max_area_m2": 20000, "readiness": "serviced"}),
    ("power_mw >= 2 AND motorway_km <= 15 AND 'available' = status",
     {"op": "and", "args": [{"op": ">=", "args": [prop("power_mw"), 2]},
                            {"op": "<=", "args": [prop("motorway_km"), 15]},
                            {"op": "=", "args": ["available", prop("status")]}]},
     {"min_power_mw": 2, "max_motorway_km": 15, "status": "available"}),
    ("NOT (status <> 'available' AND NOT ((status = 'reserved')))",
     {"op": "or", "args": [{"op": "not", "args": [{"op": "<>", "args": [prop("status"),
                                                                         "available"]}]},
                           {"op": "=", "args": [prop("status"), "reserved"]}]},
     {"status": ["available", "reserved"]}),
    ("S_INTERSECTS(geometry, BBOX(15.55, 46.5, 15.75, 46.6)) AND status = 'available'",
     {"op": "and", "args": [{"op": "s_intersects", "args": [prop("geometry"),
                                                            {"bbox": list(MARIBOR)}]},
                            {"op": "=", "args": [prop("status"), "available"]}]},
     {"bbox": ",".join(map(str, MARIBOR)), "status": "available"}),
    (("S_INTERSECTS(geometry, POLYGON((15.55 46.5, 15.75 46.5, 15.75 46.6, 15.55 46.6, "
      "15.55 46.5)))"),
     {"op": "s_intersects", "args": [prop("geometry"), {"type": "Polygon", "coordinates": [[
         [15.55, 46.5], [15.75, 46.5], [15.75, 46.6], [15.55, 46.6], [15.55, 46.5]]]}]},
     {"bbox": ",".join(map(str, MARIBOR))}),
]


@pytest.mark.parametrize("cql_text, cql_json, search", EQUIVALENTS)
def test_cql2_text_and_json_find_exactly_the_searchs_plots(client, cql_text, cql_json, search):
    expected = search_ids(client, **search)
    assert len(expected) > 2, "more than one page, so paging is exercised"
    assert ids(filtered(client, cql_text, limit=2)) == expected
    assert ids(filtered(client, cql_json, limit=2)) == expected


def test_like_and_is_null_match_the_plots_own_values(client):
    everything = search_features(client)
    prefix = everything[0]["properties"]["cadastral_ref"][:3]
    assert ids(filtered(client, f"cadastral_ref LIKE '{prefix}%'")) == [
        f["id"] for f in everything if f["properties"]["cadastral_ref"].startswith(prefix)]
    assert ids(filtered(client, {"op": "like", "args": [prop("cadastral_ref"), f"{prefix}%"]},
                        limit=50)) == [f["id"] for f in everything
                                       if f["properties"]["cadastral_ref"].startswith(prefix)]
    unpriced = [f["id"] for f in everything if f["properties"]["price_eur_m2"] is None]
    assert unpriced, "the demo has plots without a price"
    assert ids(filtered(client, "price_eur_m2 IS NULL", limit=50)) == unpriced
    assert ids(filtered(client, {"op": "isNull", "args": [prop("price_eur_m2")]},
                        limit=50)) == unpriced
    priced = ids(filtered(client, "price_eur_m2 IS NOT NULL", limit=500))
    assert sorted(priced + unpriced) == sorted(f["id"] for f in everything)
    outside = ids(filtered(client, "area_m2 NOT BETWEEN 5000 AND 20000", limit=500))
    assert outside == [f["id"] for f in everything
                       if not 5000 <= f["properties"]["area_m2"] <= 20000]
    # Brownfield (boolean) and last_verified (date) take CQL2's own literals.
    brown = ids(filtered(client, "brownfield = true AND last_verified >= DATE('2000-01-01')",
                         limit=100))
    assert brown == [f["id"] for f in everything if f["properties"]["brownfield"]]


def test_s_within_keeps_only_plots_wholly_inside(client):
    box = (15.5, 46.45, 15.8, 46.65)
    polygon = shapely.box(*box)
    meeting = filtered(client, f"S_INTERSECTS(geometry, {polygon.wkt})", limit=200)
    inside = ids(filtered(client, f"S_WITHIN(geometry, {polygon.wkt})", limit=200))
    assert inside, "plots lie wholly in the box"
    assert inside == [f["id"] for f in meeting
                      if shapely.geometry.shape(f["geometry"]).within(polygon)]


def test_filter_crs_takes_geometries_in_d96_tm(client):
    to_d96 = pyproj.Transformer.from_crs("OGC:CRS84", "EPSG:3794", always_xy=True)
    x1, y1 = to_d96.transform(MARIBOR[0], MARIBOR[1])
    x2, y2 = to_d96.transform(MARIBOR[2], MARIBOR[3])
    box = f"{x1:.1f},{y1:.1f},{x2:.1f},{y2:.1f}"
    expected = search_ids(client, bbox=box, **{"bbox-crs": "EPSG:3794"})
    assert expected
    found = filtered(client, f"S_INTERSECTS(geometry, BBOX({box}))", limit=25,
                     **{"filter-crs": "http://www.opengis.net/def/crs/EPSG/0/3794"})
    assert ids(found) == expected


def test_filtered_items_in_d96_tm_equal_pyprojs_within_a_centimetre(client, engine):
    uri = "http://www.opengis.net/def/crs/EPSG/0/3794"
    response = client.get(ITEMS, params={"filter": "status = 'available' AND area_m2 >= 20000",
                                         "crs": uri, "limit": 5}, headers=JSON_CLIENT)
    assert response.status_code == 200
    assert response.headers["content-crs"] == f"<{uri}>"
    features = response.json()["features"]
    assert len(features) == 5
    transformer = pyproj.Transformer.from_crs("EPSG:3035", "EPSG:3794", always_xy=False)
    with engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT id, ST_AsBinary(boundary) FROM plot"
                                      " WHERE id = ANY(:ids)"), {"ids": ids(features)}).all())
    for feature in features:
        shape = wkb.loads(bytes(rows[feature["id"]]))
        expected = [transformer.transform(y, x) for polygon in shape.geoms
                    for ring in (polygon.exterior, *polygon.interiors) for x, y in ring.coords]
        got = [tuple(point) for polygon in feature["geometry"]["coordinates"]
               for ring in polygon for point in ring]
        assert len(got) == len(expected)
        for (a1, a2), (b1, b2) in zip(got, expected, strict=True):
            assert math.hypot(a1 - b1, a2 - b2) <= 0.01


# -- queryables and sortby ------------------------------------------------------------------

def test_queryables_are_a_json_schema_every_property_of_which_filters(client):
    response = client.get("/collections/plots/queryables")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/schema+json")
    schema = response.json()
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert schema["type"] == "object"
    properties = schema["properties"]
    assert properties["status"]["enum"][0] == "available"
    assert properties["area_m2"]["type"] == "number"
    assert properties["geometry"]["format"].startswith("geometry")
    links = client.get("/collections/plots").json()["links"]
    assert any(link["rel"].endswith("/queryables") for link in links)
    total = len(search_ids(client))
    for name in properties:
        if name == "geometry":
            continue
        either = f"{name} IS NULL OR NOT {name} IS NULL"
        assert len(filtered(client, either, limit=1000)) == total, name
    assert client.get("/collections/nowhere/queryables").status_code == 404


def test_sortby_orders_pages_as_the_searchs_sort(client):
    for sortby, sort in (("-area_m2", "-area"), ("price_eur_m2", "price"),
                         ("-motorway_km", "-distance")):
        found = filtered(client, "status = 'available'", limit=9, sortby=sortby)
        assert ids(found) == search_ids(client, status="available", sort=sort)
    areas = [f["properties"]["area_m2"] for f in filtered(client, "area_m2 > 0", limit=100,
                                                            sortby="-area_m2")]
    assert areas == sorted(areas, reverse=True)


def test_plots_sort_by_several_keys_across_keyset_pages(client):
    available = {f["id"]: f for f in search_features(client, status="available")}
    for sortby, first, second in (("-price_eur_m2,area_m2", "price_eur_m2", "area_m2"),
                                  ("last_verified,-area_m2", "last_verified", "area_m2")):
        found = filtered(client, "status = 'available'", limit=7, sortby=sortby)
        assert sorted(ids(found)) == sorted(available), sortby  # no gaps, no repeats
        descending_first = sortby.startswith("-")
        # Unknown values last in either direction, then the first key's order; within
        # equal first keys the second key's (areas are shown to 0.1 m², hence the slack).
        rows = [(f["properties"][first], f["properties"][second]) for f in found]
        known = [value for value, _ in rows if value is not None]
        assert known == sorted(known, reverse=descending_first), sortby
        assert all(value is not None for value, _ in rows[:len(known)]), sortby
        ties = 0
        for (a, a2), (b, b2) in itertools.pairwise(rows):
            if a == b and a is not None:
                ties += 1
                assert (b2 >= a2 - 0.05) if descending_first else (b2 <= a2 + 0.05), sortby
        assert ties, f"{sortby}: the demo has ties of the first key"


# -- refusals -------------------------------------------------------------------------------

@pytest.mark.parametrize("params, named", [
    ({"filter": "owner_email = 'a@b.c'"}, "unknown property 'owner_email'"),
    ({"filter": "status = "}, "not valid cql2-text"),
    ({"filter": "area_m2 + 3 > 4"}, "expected a property"),
    ({"filter": "last_verified T_AFTER DATE('2020-01-01')"}, "unsupported"),
    ({"filter": "area_m2 >= 'big'"}, "area_m2 is a number"),
    ({"filter": "status LIKE 3"}, "status is a string"),
    ({"filter": "area_m2 LIKE '1%'"}, "LIKE takes a text property"),
    ({"filter": "geometry = 3"}, "geometry is a geometry"),
    ({"filter": "S_INTERSECTS(geometry, POINT(500 46))"}, "coordinates beyond"),
    ({"filter": "S_INTERSECTS(status, POINT(15 46))"}, "status is a string"),
    ({"filter": "{\"op\": \"=\", \"args\": [", "filter-lang": "cql2-json"}, "not valid cql2-json"),
    ({"filter": "{\"op\": \"nope\", \"args\": []}", "filter-lang": "cql2-json"},
     "not valid cql2-json"),
    ({"filter": "status = 'available'", "filter-lang": "ecql"}, "filter-lang"),
    ({"filter": "status = 'available'", "filter-crs": "EPSG:2056"}, "filter-crs"),
    ({"filter-lang": "cql2-text"}, "filter-lang: needs a filter"),
    ({"sortby": "cadastral_ref"}, "cannot sort by 'cadastral_ref'"),
    ({"sortby": "area_m2,id"}, "id sorts alone"),
    ({"sortby": "-id"}, "id sorts alone and ascending"),
    ({"sortby": "area_m2,-area_m2"}, "'area_m2' is named twice"),
    ({"sortby": ","}, "name a property"),
    ({"filter": "{\"op\": \"not\", \"args\": [" * 80 + "true" + "]}" * 80,
      "filter-lang": "cql2-json"}, "nested too deeply"),
    # shapely's box() would swap the corners and search another box.
    ({"filter": "S_INTERSECTS(geometry, BBOX(16, 47, 15, 46))"}, "BBOX minimum above maximum"),
    ({"filter": "{\"op\": \"s_intersects\", \"args\": [{\"property\": \"geometry\"}, "
                "{\"bbox\": [15, 47, 16, 46]}]}", "filter-lang": "cql2-json"},
     "BBOX minimum above maximum"),
    ({"filter": "area_m2 > " + "1" * 5000}, "a number has too many digits"),
    # int() reads these as 3 and 50; a page size is ASCII digits.
    ({"limit": "\u0663"}, "is not a whole number"),
    ({"limit": "5_0"}, "is not a whole number"),
    ({"limit": "9" * 30}, "limit: must be between 1 and"),
])
def test_bad_filters_are_a_400_naming_the_problem(client, params, named):
    response = client.get(ITEMS, params=params, headers=JSON_CLIENT)
    assert response.status_code == 400, response.text
    assert named in json.dumps(response.json())


def test_a_value_is_bound_never_pasted_into_sql(client):
    hostile = "x'; DROP TABLE plot; --"
    assert filtered(client, f"cadastral_ref = '{hostile.replace(chr(39), '')}'") == []
    assert filtered(client, {"op": "=", "args": [prop("cadastral_ref"), hostile]}) == []
    assert len(search_ids(client)) > 0


def test_conformance_advertises_the_filter_classes(client):
    conforms = client.get("/conformance").json()["conformsTo"]
    assert conforms == CONFORMANCE
    for part in ("ogcapi-features-3/1.0/conf/filter", "ogcapi-features-3/1.0/conf/features-filter",
                 "cql2/1.0/conf/cql2-text", "cql2/1.0/conf/cql2-json", "cql2/1.0/conf/basic-cql2",
                 "cql2/1.0/conf/advanced-comparison-operators",
                 "cql2/1.0/conf/basic-spatial-functions",
                 "cql2/1.0/conf/basic-spatial-functions-plus",
                 "ogcapi-features-3/1.0/conf/queryables"):
        assert f"http://www.opengis.net/spec/{part}" in conforms
    # Nothing of CQL2 beyond what the tests above exercise.
    assert not any(c.endswith(("/spatial-functions", "/temporal-functions",
                               "/array-functions", "/arithmetic", "/property-property"))
                   for c in conforms)


# -- OWSLib and GDAL as clients -------------------------------------------------------------

def test_owslib_fetches_filtered_plots(server, client):
    api = Features(f"{server}/", headers={"Accept": "application/json"})
    assert "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text" in api.conformance()[
        "conformsTo"]
    expected = search_ids(client, status="available", min_area_m2=20000)
    answer = api.collection_items("plots", filter="status = 'available' AND area_m2 >= 20000",
                                  limit=1000)
    assert [f["id"] for f in answer["features"]] == expected
    as_json = json.dumps(EQUIVALENTS[0][1])
    answer = api.collection_items("plots", filter=as_json, limit=1000,
                                  **{"filter-lang": "cql2-json"})
    assert [f["id"] for f in answer["features"]] == expected
    queryables = api.collection_queryables("plots")
    assert "area_m2" in queryables["properties"]


def gpkg_ids(path, layer: str) -> list[int]:
    with sqlite3.connect(path) as db:
        return [row[0] for row in db.execute(f'SELECT id FROM "{layer}" ORDER BY id')]


@pytest.mark.parametrize("where, search", [
    ("status = 'available' AND area_m2 >= 20000", {"status": "available", "min_area_m2": 20000}),
    ("(status = 'available' OR status = 'reserved') AND price_eur_m2 <= 80",
     {"status": ["available", "reserved"], "max_price_eur_m2": 80}),
])
def test_gdal_copies_exactly_the_plots_the_search_finds_with_a_cql2_filter(
        server, client, tmp_path, where, search):
    out = tmp_path / "plots.gpkg"
    result = subprocess.run(
        ["ogr2ogr", "--debug", "on", "-f", "GPKG", str(out), f"OAPIF:{server}/", "plots",
         "-oo", "PAGE_SIZE=2", "-where", where],
        capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    expected = sorted(search_ids(client, **search))
    assert expected
    assert gpkg_ids(out, "plots") == expected
    pages = re.findall(r"Fetch\((\S*/collections/plots/items\S*)\)", result.stderr)
    assert len(pages) >= 3
    # The server filtered: GDAL sent the whole where as a CQL filter.
    filtered_pages = [url for url in pages if "cursor=" in url]
    assert len(filtered_pages) >= 2
    assert all("filter=" in url and "filter-lang=cql-text" in url for url in filtered_pages)
    assert "Full filter will be evaluated on client side" not in result.stderr
    assert "Only part of the filter" not in result.stderr


def test_internal_fields_filter_only_for_accounts_that_see_them(fresh_client, fresh_engine):
    from locations.accounts import create_account

    with fresh_engine.begin() as conn:
        with_contact = [row[0] for row in conn.execute(text(
            "SELECT id FROM plot WHERE owner_contact IS NOT NULL AND retired_at IS NULL"
            " ORDER BY id"))]
        admin = create_account(conn, "filter-admin", "admin")
        kranj = create_account(conn, "filter-editor", "municipality", municipalities=["Kranj"])
    assert with_contact
    where = {"filter": "owner_contact IS NOT NULL", "limit": 1000}
    anonymous = fresh_client.get(ITEMS, params=where, headers=JSON_CLIENT)
    assert anonymous.status_code == 400
    assert "unknown property 'owner_contact'" in anonymous.text
    signed_in = JSON_CLIENT | {"Authorization": f"Bearer {admin}"}
    answer = fresh_client.get(ITEMS, params=where, headers=signed_in)
    assert answer.status_code == 200, answer.text
    assert ids(answer.json()["features"]) == with_contact
    queryables = fresh_client.get("/collections/plots/queryables", headers=signed_in).json()
    assert "owner_contact" in queryables["properties"]
    assert "owner_contact" not in fresh_client.get("/collections/plots/queryables").json()[
        "properties"]
    # An editor's filter sees the contacts its items show: its own municipality's only.
    editor = JSON_CLIENT | {"Authorization": f"Bearer {kranj}"}
    everything, url, query = [], ITEMS, {"limit": 1000}
    while url:
        page = fresh_client.get(url, params=query, headers=editor).json()
        everything += page["features"]
        url = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
        query = None
    shown = sorted(f["id"] for f in everything if f["properties"]["owner_contact"] is not None)
    assert shown and len(shown) < len(with_contact)
    found = fresh_client.get(ITEMS, params=where, headers=editor)
    assert found.status_code == 200, found.text
    assert sorted(ids(found.json()["features"])) == shown


def test_a_point_finds_the_plot_it_lies_in(client, engine):
    with engine.connect() as conn:
        plot_id, lon, lat = conn.execute(text(
            "SELECT id, ST_X(pt), ST_Y(pt) FROM (SELECT id, ST_Transform(ST_PointOnSurface("
            "boundary), 4326) AS pt FROM plot WHERE retired_at IS NULL ORDER BY id LIMIT 1) s"
        )).one()
    point = f"POINT({lon} {lat})"
    assert ids(filtered(client, f"S_INTERSECTS(geometry, {point})")) == [plot_id]
    assert ids(filtered(client, {"op": "s_intersects", "args": [
        prop("geometry"), {"type": "Point", "coordinates": [lon, lat]}]})) == [plot_id]
    assert ids(filtered(client, f"S_CONTAINS(geometry, {point})")) == [plot_id]
    everything = search_ids(client)
    assert ids(filtered(client, f"S_DISJOINT(geometry, {point})", limit=1000)) == [
        i for i in everything if i != plot_id]
    # EPSG:4326 takes latitude first, as OGC API has it.
    assert ids(filtered(client, f"S_INTERSECTS(geometry, POINT({lat} {lon}))",
                        **{"filter-crs": "EPSG:4326"})) == [plot_id]


def test_a_quote_written_twice_is_one_quote_in_the_value(fresh_client, fresh_engine):
    with fresh_engine.begin() as conn:
        zone_id = conn.execute(text(
            "UPDATE zone SET name = 'Mlin ''Pod gradom''' WHERE id = (SELECT min(id) FROM zone)"
            " RETURNING id")).scalar_one()
    response = fresh_client.get("/collections/zones/items", headers=JSON_CLIENT,
                                params={"filter": "name = 'Mlin ''Pod gradom'''"})
    assert response.status_code == 200, response.text
    assert [f["id"] for f in response.json()["features"]] == [zone_id]
    assert response.json()["features"][0]["properties"]["name"] == "Mlin 'Pod gradom'"
    like = fresh_client.get("/collections/zones/items", headers=JSON_CLIENT,
                            params={"filter": "name LIKE '%''Pod%'"}).json()
    assert [f["id"] for f in like["features"]] == [zone_id]


# -- the other collections ------------------------------------------------------------------

def collection_items(client, collection: str, limit: int = 1000, **params) -> list[dict]:
    """Every feature of a collection's items, following next links."""
    found, url, query = [], f"/collections/{collection}/items", {"limit": limit, **params}
    while url:
        response = client.get(url, params=query, headers=JSON_CLIENT)
        assert response.status_code == 200, response.text
        page = response.json()
        found += page["features"]
        url = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
        query = None
    return found


# Each filter beside what it means, judged on the features' own properties.
OTHER_COLLECTIONS = [
    ("zones", "kind = 'industrial' AND available_area_m2 > 0",
     lambda p: p["kind"] == "industrial" and p["available_area_m2"] > 0),
    ("zones", {"op": "or", "args": [{"op": "=", "args": [prop("country"), "AT"]},
                                    {"op": ">=", "args": [prop("plot_count"), 10]}]},
     lambda p: p["country"] == "AT" or p["plot_count"] >= 10),
    ("municipalities", "population >= 10000 AND country = 'SI'",
     lambda p: p["population"] is not None and p["population"] >= 10000
     and p["country"] == "SI"),
    ("municipalities", "name LIKE 'M%' OR region_code IN ('SI042')",
     lambda p: p["name"].startswith("M") or p["region_code"] == "SI042"),
    ("regions", "level = 'nuts3' AND NOT parent_code IS NULL",
     lambda p: p["level"] == "nuts3" and p["parent_code"] is not None),
    ("infrastructure", "kind IN ('airport', 'rail_station')",
     lambda p: p["kind"] in ("airport", "rail_station")),
    ("constraint_areas", {"op": "<>", "args": [prop("kind"), "flood_risk"]},
     lambda p: p["kind"] != "flood_risk"),
]


@pytest.mark.parametrize("collection, cql, meant", OTHER_COLLECTIONS)
def test_every_collection_filters_by_its_own_properties(client, collection, cql, meant):
    everything = collection_items(client, collection)
    params = ({"filter": cql} if isinstance(cql, str)
              else {"filter": json.dumps(cql), "filter-lang": "cql2-json"})
    found = collection_items(client, collection, limit=3, **params)
    expected = [f["id"] for f in everything if meant(f["properties"])]
    assert expected and len(expected) < len(everything), "the filter must tell features apart"
    assert sorted(f["id"] for f in found) == sorted(expected)


def test_every_collection_has_queryables_each_of_which_filters_and_sorts(client):
    for collection in ("zones", "municipalities", "regions", "infrastructure",
                       "constraint_areas"):
        schema = client.get(f"/collections/{collection}/queryables").json()
        links = client.get(f"/collections/{collection}").json()["links"]
        assert any(link["rel"] == "queryables" for link in links)
        total = len(collection_items(client, collection))
        for name in schema["properties"]:
            if name == "geometry":
                continue
            either = collection_items(client, collection,
                                      filter=f"{name} IS NULL OR NOT {name} IS NULL")
            assert len(either) == total, (collection, name)
            ordered = collection_items(client, collection, sortby=f"-{name}")
            assert len(ordered) == total, (collection, name)


def test_zones_sort_by_several_keys_across_pages(client):
    found = collection_items(client, "zones", limit=4, sortby="-kind,name")
    everything = collection_items(client, "zones")
    assert sorted(f["id"] for f in found) == sorted(f["id"] for f in everything)
    keys = [(f["properties"]["kind"], f["properties"]["name"]) for f in found]
    # kind descending, then name ascending (as PostgreSQL orders text: compare per kind).
    kinds = [kind for kind, _ in keys]
    assert kinds == sorted(kinds, reverse=True)
    assert len(set(kinds)) > 1
    with_names = collection_items(client, "zones", sortby="kind DESC, +name")
    assert [f["id"] for f in with_names] == [f["id"] for f in found]
    # Within a kind, -name lists the names in the reverse order of name.
    reverse = collection_items(client, "zones", sortby="-kind,-name")
    for kind in set(kinds):
        forward = [name for k, name in keys if k == kind]
        backward = [f["properties"]["name"] for f in reverse if f["properties"]["kind"] == kind]
        assert backward == forward[::-1]


def test_a_spatial_filter_on_zones_is_the_bbox_answer(client):
    by_bbox = collection_items(client, "zones", bbox=",".join(map(str, MARIBOR)))
    spatial = collection_items(client, "zones",
                               filter="S_INTERSECTS(geometry, BBOX({}, {}, {}, {}))".format(
                                   *MARIBOR))
    assert by_bbox and sorted(f["id"] for f in spatial) == sorted(f["id"] for f in by_bbox)


@pytest.mark.parametrize("collection, params, named", [
    ("zones", {"filter": "status = 'available'"}, "unknown property 'status'"),
    ("regions", {"filter": "level = 3"}, "level is a string"),
    ("municipalities", {"sortby": "geometry"}, "cannot sort by 'geometry'"),
    ("infrastructure", {"sortby": "nope"}, "cannot sort by 'nope'"),
    ("constraint_areas", {"filter": "name LIKE 'x", "filter-lang": "cql2-text"},
     "not valid cql2-text"),
])
def test_bad_filters_on_other_collections_are_a_400(client, collection, params, named):
    response = client.get(f"/collections/{collection}/items", params=params,
                          headers=JSON_CLIENT)
    assert response.status_code == 400, response.text
    assert named in json.dumps(response.json())


def test_a_filter_sent_again_means_the_same_and_a_bad_one_is_refused_every_time(client):
    # Filters are parsed once and kept (locations.cql._parsed): paging with the same filter,
    # or sending it again after other filters, must find exactly what it found the first
    # time, and a filter that does not parse is refused each time it comes, never kept.
    def found(cql_text: str) -> set[int]:
        ids, url, query = set(), "/collections/plots/items", {"limit": 1000, "filter": cql_text}
        while url:
            answer = client.get(url, params=query)
            assert answer.status_code == 200
            ids |= {f["id"] for f in answer.json()["features"]}
            url = next((link["href"] for link in answer.json()["links"]
                        if link["rel"] == "next"), None)
            query = None
        return ids

    first, other = found("status = 'available'"), found("status = 'sold'")
    assert first == found("status = 'available'") == set(search_ids(client, status="available"))
    assert first and other and not first & other
    for _ in range(2):
        answer = client.get("/collections/plots/items", params={"filter": "status = "})
        assert answer.status_code == 400
        assert answer.json()["field"] == "filter"
