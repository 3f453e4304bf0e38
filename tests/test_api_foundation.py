"""The API skeleton on the demo data: health, regions, municipalities, zones, plots, infrastructure."""

from __future__ import annotations

import pytest
from pyproj import Geod
from shapely.geometry import shape

GEOD = Geod(ellps="WGS84")


def km_between(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return GEOD.inv(lon1, lat1, lon2, lat2)[2] / 1000


def test_health_reports_the_database_and_postgis(client):
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["postgis"].startswith("3.")


def test_openapi_documents_the_routes(client):
    paths = client.get("/openapi.json").json()["paths"]
    for route in ("/health", "/regions", "/municipalities", "/zones", "/zones/{zone_id}",
                  "/plots/{plot_id}", "/infrastructure"):
        assert route in paths
    assert client.get("/docs").status_code == 200


def test_regions_are_geojson_with_their_codes(client):
    response = client.get("/regions")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    collection = response.json()
    assert collection["type"] == "FeatureCollection"
    codes = {f["properties"]["code"] for f in collection["features"]}
    assert {"SI042", "SI032", "AT221", "AT222", "AT223", "AT224", "AT225", "AT226"} <= codes
    for region in collection["features"]:
        assert isinstance(region["id"], int)
        assert region["geometry"]["type"] == "MultiPolygon"


def test_municipalities_filter_by_region(client):
    gorenjska = client.get("/municipalities", params={"region": "SI042"}).json()["features"]
    names = {f["properties"]["name"] for f in gorenjska}
    assert {"Kranj", "Jesenice"} <= names
    assert "Maribor" not in names
    assert all(f["properties"]["region_code"] == "SI042" for f in gorenjska)


@pytest.mark.parametrize(
    ("zone_name", "lat", "lon"),
    [
        ("Cargo Center Graz", 46.925, 15.470),
        ("PC Tezno", 46.530, 15.670),
        ("PC Hrastje", 46.230, 14.395),
        ("Impulspark Lang-Lebring", 46.845, 15.530),
    ],
)
def test_zones_come_back_in_crs84_at_their_real_positions(client, zone_name, lat, lon):
    zones = client.get("/zones").json()["features"]
    zone = next(f for f in zones if f["properties"]["name"] == zone_name)
    # RFC 7946: longitude first. A swapped axis order would land thousands of km away.
    centre = shape(zone["geometry"]).centroid
    assert km_between(centre.y, centre.x, lat, lon) < 2.0


def test_zone_aggregates_add_up(client):
    zones = client.get("/zones").json()["features"]
    assert len(zones) >= 15
    for zone in zones:
        facts = zone["properties"]
        assert sum(facts["plots_by_status"].values()) == facts["plot_count"]
        assert 0 <= facts["available_area_m2"] <= facts["plot_area_m2"] <= facts["area_m2"] + 1
        if facts["occupancy_share"] is not None:
            assert 0 <= facts["occupancy_share"] <= 1


def test_one_zone_and_one_plot_by_id(client):
    zone = client.get("/zones").json()["features"][0]
    one = client.get(f"/zones/{zone['id']}")
    assert one.status_code == 200
    assert one.json()["properties"]["name"] == zone["properties"]["name"]

    plot_id = 1
    plot = client.get(f"/plots/{plot_id}")
    assert plot.status_code == 200
    facts = plot.json()["properties"]
    assert plot.json()["id"] == plot_id
    assert facts["cadastral_ref"]
    assert facts["area_m2"] > 0
    assert plot.headers["etag"]
    # Internal fields never reach anonymous callers.
    assert "owner_contact" not in facts and "internal_note" not in facts


def test_unknown_ids_are_404_and_bad_ids_are_422(client):
    assert client.get("/zones/999999").status_code == 404
    assert client.get("/plots/999999").status_code == 404
    bad = client.get("/plots/not-a-number")
    assert bad.status_code == 422
    assert "plot_id" in bad.json()["detail"]


def test_infrastructure_by_kind(client):
    airports = client.get("/infrastructure", params={"kind": "airport"}).json()["features"]
    codes = {f["properties"]["code"] for f in airports}
    assert {"LJU", "MBX", "GRZ"} <= codes
    graz = next(f for f in airports if f["properties"]["code"] == "GRZ")
    lon, lat = graz["geometry"]["coordinates"]
    assert km_between(lat, lon, 46.9931, 15.4392) < 1.0

    terminals = client.get("/infrastructure", params={"kind": "rail_freight_terminal"}).json()
    assert any("Werndorf" in f["properties"]["name"] for f in terminals["features"])

    both = client.get("/infrastructure?kind=airport&kind=motorway_junction").json()["features"]
    assert {f["properties"]["kind"] for f in both} == {"airport", "motorway_junction"}

    unknown = client.get("/infrastructure", params={"kind": "spaceport"})
    assert unknown.status_code == 400
    assert unknown.json()["field"] == "kind"


def test_openapi_lists_the_plot_search_filters(client):
    parameters = {p["name"]: p for p in
                  client.get("/openapi.json").json()["paths"]["/plots"]["get"]["parameters"]}
    assert {"region", "status", "min_area_m2", "max_motorway_km", "bbox", "bbox-crs", "sort",
            "limit", "cursor", "count", "f"} <= set(parameters)
    assert parameters["status"]["schema"]["type"] == "array"
    assert "reserved" in parameters["status"]["schema"]["items"]["enum"]
    assert "geometry" not in parameters  # only in the JSON body of POST /plots/search


def test_reads_in_autocommit_leave_writes_all_or_nothing(fresh_engine):
    """Searches run without BEGIN/ROLLBACK; the pooled connection must still be
    transactional for the next write, or a failed write would leave half its rows."""
    from fastapi.testclient import TestClient
    from sqlalchemy import create_engine, text

    from api.app import create_app

    single = create_engine(fresh_engine.url, pool_size=1, max_overflow=0)
    try:
        with TestClient(create_app(single)) as client:
            assert client.get("/plots", params={"limit": 3}).status_code == 200
            assert client.get("/tiles/plots/14/8880/5760.pbf").status_code in (200, 204)
        before = None
        with pytest.raises(RuntimeError), single.begin() as conn:  # the same pooled connection
            before = conn.execute(text("SELECT count(*) FROM region")).scalar_one()
            conn.execute(text("UPDATE region SET name = name || ' (renamed)'"))
            raise RuntimeError("the write fails half-way")
        with single.connect() as conn:
            renamed = conn.execute(text("SELECT count(*) FROM region WHERE name LIKE '%(renamed)'"))
            assert renamed.scalar_one() == 0
            assert conn.execute(text("SELECT count(*) FROM region")).scalar_one() == before
    finally:
        single.dispose()
