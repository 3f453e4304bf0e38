"""GET /zones: filters and per-zone aggregates, checked against sums worked out here from raw rows."""

from __future__ import annotations

import json
from collections import Counter, defaultdict

import pytest
import shapely
from sqlalchemy import Engine, text


@pytest.fixture(scope="module")
def zones(engine: Engine) -> dict[int, dict]:
    with engine.connect() as conn:
        zone_rows = conn.execute(text(
            "SELECT z.id, z.kind, m.name AS municipality, r.code AS region "
            "FROM zone z JOIN municipality m ON m.id = z.municipality_id "
            "JOIN region r ON r.id = m.region_id")).mappings().all()
        plot_rows = conn.execute(text(
            "SELECT zone_id, status, ST_AsBinary(boundary) AS wkb FROM plot "
            "WHERE retired_at IS NULL")).mappings().all()
    result = {row["id"]: dict(row) | {"by_status": Counter(), "area": defaultdict(float)}
              for row in zone_rows}
    for row in plot_rows:
        zone = result[row["zone_id"]]
        zone["by_status"][row["status"]] += 1
        zone["area"][row["status"]] += shapely.from_wkb(bytes(row["wkb"])).area
    return result


def _every_page(client, params: dict) -> tuple[list[dict], list[dict]]:
    """The features of every page of GET /zones, following the next links, and each page."""
    pages, answer = [], client.get("/zones", params=params)
    while True:
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/geo+json"
        pages.append(answer.json())
        following = [link["href"] for link in pages[-1]["links"] if link["rel"] == "next"]
        if not following:
            return [f for page in pages for f in page["features"]], pages
        answer = client.get(following[0])


def test_every_zone_with_its_aggregates(client, zones):
    # A page at a time, as GET /plots: the next links reach every zone exactly once.
    features, pages = _every_page(client, {"limit": 7})
    assert len(pages) == -(-len(zones) // 7)
    assert all(page["numberMatched"] == len(zones) for page in pages)
    assert [page["numberReturned"] for page in pages[:-1]] == [7] * (len(pages) - 1)
    assert pages[0]["links"][0]["rel"] == "self"
    assert not any(link["rel"] == "prev" for link in pages[0]["links"])
    assert any(link["rel"] == "prev" for link in pages[-1]["links"])
    ids = [f["id"] for f in features]
    assert len(ids) == len(set(ids))
    # The pages hold the one list in its order (region, municipality, name).
    assert features == client.get("/zones", params={"limit": 1000}).json()["features"]
    body = {"features": features}
    assert {f["id"] for f in body["features"]} == set(zones)
    for feature in body["features"]:
        zone, properties = zones[feature["id"]], feature["properties"]
        total = sum(zone["area"].values())
        assert properties["plot_count"] == sum(zone["by_status"].values())
        assert properties["plots_by_status"] == dict(zone["by_status"])
        assert properties["plot_area_m2"] == pytest.approx(total, abs=0.2)
        assert properties["available_area_m2"] == pytest.approx(zone["area"]["available"], abs=0.2)
        if total:
            taken = zone["area"]["sold"] + zone["area"]["occupied"]
            assert properties["occupancy_share"] == pytest.approx(taken / total, abs=1e-4)
        assert feature["geometry"]["type"] == "MultiPolygon"


@pytest.mark.parametrize(("params", "predicate"), [
    ({"region": "SI032"}, lambda z: z["region"] == "SI032"),
    ({"region": "AT22"}, lambda z: z["region"].startswith("AT22")),
    ({"municipality": "Kranj"}, lambda z: z["municipality"] == "Kranj"),
    ({"kind": "logistics"}, lambda z: z["kind"] == "logistics"),
    ({"min_available_area_m2": 50000}, lambda z: z["area"]["available"] >= 50000),
])
def test_zone_filters(client, zones, params, predicate):
    expected = {zone_id for zone_id, zone in zones.items() if predicate(zone)}
    assert 0 < len(expected) < len(zones)
    found = {f["id"] for f in client.get("/zones", params=params).json()["features"]}
    assert found == expected


def test_has_available_tells_zones_with_free_land_from_full_ones(fresh_client, fresh_engine):
    with fresh_engine.begin() as conn:
        full = conn.execute(text("SELECT min(zone_id) FROM plot")).scalar_one()
        conn.execute(text("UPDATE plot SET status = 'occupied' WHERE zone_id = :z"), {"z": full})
        with_free = set(conn.execute(text(
            "SELECT DISTINCT zone_id FROM plot WHERE status = 'available'")).scalars())
        every = set(conn.execute(text("SELECT id FROM zone")).scalars())
    assert full not in with_free and with_free
    found = {f["id"] for f in fresh_client.get("/zones", params={"has_available": "true"}).json()[
        "features"]}
    assert found == with_free
    none_free = fresh_client.get("/zones", params={"has_available": "false"}).json()["features"]
    assert {f["id"] for f in none_free} == every - with_free
    full_zone = next(f for f in none_free if f["id"] == full)["properties"]
    assert full_zone["available_area_m2"] == 0 and full_zone["occupancy_share"] == 1


@pytest.mark.parametrize(("params", "field"), [
    ({"kind": "castle"}, "kind"), ({"region": "Styria"}, "region"), ({"colour": "red"}, "colour"),
    ({"min_available_area_m2": "-5"}, "min_available_area_m2"), ({"has_available": "perhaps"},
                                                                  "has_available"),
])
def test_bad_zone_parameters(client, params, field):
    response = client.get("/zones", params=params)
    assert response.status_code in (400, 422)
    assert field in response.json()["detail"]


def test_one_zone_keeps_its_etag(client, zones):
    zone_id = min(zones)
    response = client.get(f"/zones/{zone_id}")
    assert response.status_code == 200
    assert response.headers["ETag"] == f'"{response.json()["properties"]["version"]}"'


@pytest.mark.parametrize("sort", [None, "name", "-name", "available", "-occupancy", "power"])
def test_pages_without_count_hold_the_whole_list_in_order(engine, sort):
    # A page is chosen as a top-N sort and put in order again after its zones are written
    # (locations.zone_search): pages read without counting, as OGC API items read them,
    # must hold the unpaged list's zones in its order, each exactly once, with the same
    # features, and the counted search the number of every zone.
    from locations.geojson import Window
    from locations.zone_search import ZoneFilter, search_zones

    filters = ZoneFilter(sort=sort)
    with engine.connect() as conn:
        whole = search_zones(conn, filters)
        pages = [search_zones(conn, filters, window=Window(limit=7, offset=start), count=False)
                 for start in range(0, len(whole.features) + 7, 7)]
        counted = search_zones(conn, filters, window=Window(limit=7, offset=7))
        keys = conn.execute(text(
            "SELECT z.id, r.code, m.name AS municipality, z.name FROM zone z "
            "JOIN municipality m ON m.id = z.municipality_id "
            "JOIN region r ON r.id = m.region_id")).all()
    assert whole.number_matched == len(keys) == counted.number_matched
    assert all(page.number_matched is None for page in pages)
    assert [f for page in pages for f in page.features] == whole.features
    assert not pages[-1].features
    if sort is None:
        # The default order, worked out here: region code, municipality, name, id.
        ids = [json.loads(f)["id"] for f in whole.features]
        assert ids == [k.id for k in sorted(keys, key=lambda k: (k.code, k.municipality,
                                                                  k.name, k.id))]
