"""GET /plots and POST /plots/search on the demo data, against expectations computed here.

Each expectation is worked out in the test from the raw rows of the demo
database (plain column reads, geometry as WKB) with shapely and pyproj: the
search code is never asked what the right answer is.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
from dataclasses import dataclass
from typing import Any

import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import box, mapping
from sqlalchemy import Engine, text

READINESS = ["registered", "serviced", "shovel_ready"]
BROADBAND = ["none", "basic", "fast", "ftth"]
TO_LONLAT = Transformer.from_crs(3035, 4326, always_xy=True)


@dataclass
class Plot:
    id: int
    region: str
    municipality: str
    municipality_id: int
    zone_id: int
    status: str
    area: float
    price: float | None
    uses: list[str]
    readiness: str | None
    ownership: str | None
    brownfield: bool
    power: float | None
    broadband: str | None
    gas: bool | None
    rail_siding: bool | None
    last_verified: Any
    shape: Any  # EPSG:3035
    lonlat: Any  # CRS84


@pytest.fixture(scope="module")
def plots(engine: Engine) -> dict[int, Plot]:
    with engine.connect() as conn:
        rows = conn.execute(text(
            """
            SELECT p.id, r.code, m.name AS municipality, m.id AS municipality_id, p.zone_id,
                   p.status, p.price_eur_m2, p.allowed_uses, z.allowed_uses AS zone_uses,
                   p.readiness, p.ownership, p.brownfield, p.power_mw, z.power_mw AS zone_power,
                   z.broadband, z.gas, z.rail_siding, p.last_verified,
                   ST_AsBinary(p.boundary) AS wkb
            FROM plot p JOIN zone z ON z.id = p.zone_id
            JOIN municipality m ON m.id = z.municipality_id JOIN region r ON r.id = m.region_id
            WHERE p.retired_at IS NULL
            """
        )).mappings().all()
    result = {}
    for row in rows:
        shape = shapely.from_wkb(bytes(row["wkb"]))
        result[row["id"]] = Plot(
            id=row["id"], region=row["code"], municipality=row["municipality"],
            municipality_id=row["municipality_id"], zone_id=row["zone_id"], status=row["status"],
            area=shape.area, price=None if row["price_eur_m2"] is None else float(row["price_eur_m2"]),
            uses=list(row["allowed_uses"]) or list(row["zone_uses"]), readiness=row["readiness"],
            ownership=row["ownership"], brownfield=row["brownfield"],
            power=row["power_mw"] if row["power_mw"] is not None else row["zone_power"],
            broadband=row["broadband"], gas=row["gas"], rail_siding=row["rail_siding"],
            last_verified=row["last_verified"], shape=shape,
            lonlat=shapely.transform(shape, lambda xy: _to_lonlat(xy)),
        )
    assert len(result) > 300
    return result


def _to_lonlat(xy):
    import numpy as np

    lon, lat = TO_LONLAT.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([lon, lat])


@pytest.fixture(scope="module")
def nearest_km(engine: Engine, plots: dict[int, Plot]) -> dict[str, dict[int, float]]:
    """Per distance column, plot id -> km to the nearest infrastructure of its kinds (shapely)."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT kind, ST_AsBinary(geom) AS wkb FROM infrastructure")).all()
    by_kind: dict[str, list] = {}
    for kind, wkb in rows:
        by_kind.setdefault(kind, []).append(shapely.from_wkb(bytes(wkb)))
    kinds = {
        "motorway_km": ["motorway_junction"], "rail_station_km": ["rail_station"],
        "rail_freight_km": ["rail_freight_terminal"], "airport_km": ["airport"],
        "public_transport_km": ["rail_station", "bus_stop"],
    }
    result = {}
    for column, wanted in kinds.items():
        things = [g for k in wanted for g in by_kind.get(k, [])]
        result[column] = {
            pid: (min(plot.shape.distance(g) for g in things) / 1000 if things else None)
            for pid, plot in plots.items()
        }
    return result


def all_pages(client, params: dict | list, *, path: str = "/plots") -> list[dict]:
    """Every feature of a search, following ``next`` links to the end."""
    features, url, seen_pages = [], path, 0
    response = client.get(url, params=params)
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        features += body["features"]
        assert body["numberReturned"] == len(body["features"])
        following = [link for link in body["links"] if link["rel"] == "next"]
        seen_pages += 1
        assert seen_pages < 500
        if not following:
            return features
        response = client.get(following[0]["href"])


def ids_of(features: list[dict]) -> list[int]:
    return [f["id"] for f in features]


def search_ids(client, params) -> set[int]:
    found = ids_of(all_pages(client, {"limit": 1000} | params if isinstance(params, dict) else params))
    assert len(found) == len(set(found)), "a plot came back twice"
    return set(found)


def expect(plots: dict[int, Plot], predicate) -> set[int]:
    chosen = {pid for pid, plot in plots.items() if predicate(plot)}
    # A filter test that keeps everything or nothing could not tell a broken filter apart.
    assert 0 < len(chosen) < len(plots)
    return chosen


SINGLE_FILTERS = [
    ({"region": "SI042"}, lambda p: p.region == "SI042"),
    ({"region": "AT22"}, lambda p: p.region.startswith("AT22")),
    ({"municipality": "Kranj"}, lambda p: p.municipality == "Kranj"),
    ({"municipality": "maribor"}, lambda p: p.municipality == "Maribor"),
    ({"status": ["available", "reserved"]}, lambda p: p.status in ("available", "reserved")),
    ({"min_area_m2": 10000}, lambda p: p.area >= 10000),
    ({"max_area_m2": 5000}, lambda p: p.area <= 5000),
    ({"max_price_eur_m2": 60}, lambda p: p.price is not None and p.price <= 60),
    ({"use": "logistics"}, lambda p: "logistics" in p.uses),
    ({"use": ["manufacturing", "technology"]},
     lambda p: "manufacturing" in p.uses and "technology" in p.uses),
    ({"readiness": "serviced"},
     lambda p: p.readiness is not None and READINESS.index(p.readiness) >= 1),
    ({"readiness": "shovel_ready"}, lambda p: p.readiness == "shovel_ready"),
    ({"ownership": "private"}, lambda p: p.ownership == "private"),
    ({"brownfield": "true"}, lambda p: p.brownfield),
    ({"brownfield": "false"}, lambda p: not p.brownfield),
    ({"min_power_mw": 10}, lambda p: p.power is not None and p.power >= 10),
    ({"broadband": "ftth"}, lambda p: p.broadband == "ftth"),
    ({"broadband": "basic"},
     lambda p: p.broadband is not None and BROADBAND.index(p.broadband) >= 1),
    ({"gas": "true"}, lambda p: p.gas is True),
    ({"gas": "false"}, lambda p: p.gas is False),
    ({"rail_siding": "true"}, lambda p: p.rail_siding is True),
]


@pytest.mark.parametrize(("params", "predicate"), SINGLE_FILTERS,
                         ids=[str(p) for p, _ in SINGLE_FILTERS])
def test_each_filter_alone_returns_exactly_the_plots_that_meet_it(client, plots, params, predicate):
    assert search_ids(client, params) == expect(plots, predicate)


def test_zone_filter_returns_the_plots_of_that_zone(client, plots):
    zone_id = sorted({p.zone_id for p in plots.values()})[2]
    assert search_ids(client, {"zone": zone_id}) == expect(plots, lambda p: p.zone_id == zone_id)


def test_municipality_by_id(client, plots):
    some = next(iter(plots.values()))
    assert search_ids(client, {"municipality": str(some.municipality_id)}) == expect(
        plots, lambda p: p.municipality_id == some.municipality_id)


@pytest.mark.parametrize(("param", "column", "share"), [
    ("max_motorway_km", "motorway_km", 0.4),
    ("max_airport_km", "airport_km", 0.3),
    ("max_rail_km", "rail_station_km", 0.5),
    ("max_rail_freight_km", "rail_freight_km", 0.2),
])
def test_distance_filters_use_the_nearest_infrastructure_of_that_kind(
        client, plots, nearest_km, param, column, share):
    distances = nearest_km[column]
    # The threshold falls midway between two plots' distances, so rounding cannot tip either.
    values = sorted({round(d, 6) for d in distances.values() if d is not None})
    k = int(len(values) * share)
    threshold = (values[k] + values[k + 1]) / 2
    expected = expect(plots, lambda p: distances[p.id] is not None and distances[p.id] <= threshold)
    features = all_pages(client, {param: threshold, "limit": 1000})
    assert set(ids_of(features)) == expected
    for feature in features:  # the distances filtered by are returned, right to the metre
        assert feature["properties"][column] == pytest.approx(distances[feature["id"]], abs=0.001)


def test_distances_only_when_asked_for_or_filtered_by(client, nearest_km):
    plain = client.get("/plots", params={"limit": 3}).json()["features"]
    assert all("motorway_km" not in f["properties"] for f in plain)
    asked = client.get("/plots", params={"limit": 3, "distances": "true"}).json()["features"]
    for feature in asked:
        for column in ("motorway_km", "airport_km", "rail_station_km"):
            assert feature["properties"][column] == pytest.approx(nearest_km[column][feature["id"]],
                                                                  abs=0.001)


def test_investor_requirements_combined(client, plots, nearest_km):
    """'at least 1 ha, 5 MW, fibre, manufacturing, <= 10 km to a motorway, Gorenjska or Styria'."""
    params = {"min_area_m2": 10000, "min_power_mw": 5, "broadband": "ftth", "use": "manufacturing",
              "max_motorway_km": 10, "region": ["SI042", "AT22"], "status": "available"}
    expected = expect(plots, lambda p: (
        p.area >= 10000 and p.power is not None and p.power >= 5 and p.broadband == "ftth"
        and "manufacturing" in p.uses and nearest_km["motorway_km"][p.id] <= 10
        and (p.region == "SI042" or p.region.startswith("AT22")) and p.status == "available"))
    assert search_ids(client, params) == expected


def test_pairs_of_filters_combine_as_and(client, plots):
    shifted = SINGLE_FILTERS[7:] + SINGLE_FILTERS[:7]
    for (params_a, pred_a), (params_b, pred_b) in zip(SINGLE_FILTERS, shifted):
        if set(params_a) & set(params_b):
            continue
        expected = {pid for pid, p in plots.items() if pred_a(p) and pred_b(p)}
        assert search_ids(client, params_a | params_b) == expected, (params_a, params_b)


def _in_bbox(plots, bounds, margin_deg=0.0001):
    """Plots clearly inside or outside ``bounds`` (lon/lat), leaving out those at its edge."""
    area = box(*bounds)
    edge = area.boundary.buffer(margin_deg)
    inside = {pid for pid, p in plots.items() if p.lonlat.intersects(area)}
    unclear = {pid for pid, p in plots.items() if p.lonlat.intersects(edge)}
    return inside, unclear


def test_bbox_in_crs84(client, plots):
    bounds = (14.25, 46.15, 14.45, 46.30)  # around Kranj and Škofja Loka
    inside, unclear = _in_bbox(plots, bounds)
    assert inside
    found = search_ids(client, {"bbox": ",".join(map(str, bounds))})
    assert found - unclear == inside - unclear


def test_bbox_in_another_crs(client, plots):
    bounds = (14.25, 46.15, 14.45, 46.30)
    to_3794 = Transformer.from_crs(4326, 3794, always_xy=True)
    x0, y0 = to_3794.transform(bounds[0], bounds[1])
    x1, y1 = to_3794.transform(bounds[2], bounds[3])
    inside_3794 = box(x0, y0, x1, y1)
    from_3035 = Transformer.from_crs(3035, 3794, always_xy=True)
    expected = {pid for pid, p in plots.items()
                if shapely.transform(p.shape, lambda xy: _apply(from_3035, xy)).intersects(inside_3794)}
    assert expected
    found = search_ids(client, {"bbox": f"{x0},{y0},{x1},{y1}", "bbox-crs": "EPSG:3794"})
    unclear = {pid for pid, p in plots.items() if shapely.transform(
        p.shape, lambda xy: _apply(from_3035, xy)).distance(inside_3794.boundary) < 20}
    assert found - unclear == expected - unclear


def _apply(transformer, xy):
    import numpy as np

    x, y = transformer.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y])


@pytest.mark.parametrize("sort", ["id", "area", "-area", "price", "-price", "last_verified",
                                  "-last_verified", "distance"])
def test_paging_returns_every_plot_exactly_once_in_order(client, plots, nearest_km, sort):
    features = all_pages(client, {"sort": sort, "limit": 37})
    found = ids_of(features)
    assert len(found) == len(set(found)) == len(plots)
    assert set(found) == set(plots)
    name = sort.lstrip("-")
    value = {
        "id": lambda p: p.id, "area": lambda p: p.area, "price": lambda p: p.price,
        "last_verified": lambda p: p.last_verified,
        "distance": lambda p: nearest_km["motorway_km"][p.id],
    }[name]
    known = [value(plots[i]) for i in found if value(plots[i]) is not None]
    unknown_positions = [n for n, i in enumerate(found) if value(plots[i]) is None]
    # Plots with no value come last, whichever the direction.
    assert unknown_positions == list(range(len(known), len(found)))
    if sort.startswith("-"):
        known = [-v if name != "last_verified" else -v.toordinal() for v in known]
    elif name == "last_verified":
        known = [v.toordinal() for v in known]
    # Areas come from shapely here and from PostGIS there: equal to far below a square millimetre.
    assert all(a <= b + 1e-6 for a, b in itertools.pairwise(known))


def test_count_only_when_asked(client, plots):
    body = client.get("/plots", params={"status": "available", "limit": 5}).json()
    assert "numberMatched" not in body
    counted = client.get("/plots", params={"status": "available", "limit": 5, "count": "true"}).json()
    assert counted["numberMatched"] == len(expect(plots, lambda p: p.status == "available"))
    assert counted["numberReturned"] == 5


def test_features_carry_facts_and_names(client, plots):
    feature = client.get("/plots", params={"limit": 1, "municipality": "Kranj"}).json()["features"][0]
    plot = plots[feature["id"]]
    properties = feature["properties"]
    assert properties["municipality_name"] == "Kranj"
    assert properties["zone_name"]
    assert properties["area_m2"] == pytest.approx(plot.area, abs=0.1)
    assert properties["status"] == plot.status
    geometry = shapely.geometry.shape(feature["geometry"])
    assert geometry.symmetric_difference(plot.lonlat).area < 1e-9


def test_post_search_within_a_polygon(client, plots):
    kranj = box(14.33, 46.22, 14.40, 46.26)
    expected = {pid for pid, p in plots.items() if p.lonlat.within(kranj)}
    near_edge = {pid for pid, p in plots.items() if p.lonlat.intersects(kranj.boundary.buffer(0.0001))}
    assert expected
    response = client.post("/plots/search", json={"geometry": mapping(kranj), "limit": 1000})
    assert response.status_code == 200, response.text
    found = set(ids_of(response.json()["features"]))
    assert found - near_edge == expected - near_edge


def test_post_search_within_a_distance_of_a_point(client, plots):
    to_3035 = Transformer.from_crs(4326, 3035, always_xy=True)
    lon, lat = 15.4908, 46.9242  # Werndorf
    point = shapely.Point(*to_3035.transform(lon, lat))
    expected = expect(plots, lambda p: p.shape.distance(point) <= 3000)
    unclear = {pid for pid, p in plots.items() if abs(p.shape.distance(point) - 3000) < 5}
    body = {"geometry": {"type": "Point", "coordinates": [lon, lat]}, "within_m": 3000,
            "status": ["available", "reserved", "under_negotiation", "sold", "occupied",
                       "not_for_sale"], "limit": 20}
    found: set[int] = set()
    while True:
        response = client.post("/plots/search", json=body)
        assert response.status_code == 200, response.text
        page = response.json()
        new = set(ids_of(page["features"]))
        assert not new & found
        found |= new
        following = [link for link in page["links"] if link["rel"] == "next"]
        if not following:
            break
        body = following[0]["body"]
    assert found - unclear == expected - unclear


def test_post_search_with_the_same_filters_as_get(client, plots):
    body = {"region": ["SI032"], "min_area_m2": 8000, "limit": 1000}
    response = client.post("/plots/search", json=body)
    assert set(ids_of(response.json()["features"])) == expect(
        plots, lambda p: p.region == "SI032" and p.area >= 8000)


BAD_GET = [
    ({"colour": "red"}, "colour"),
    ({"limit": "5000"}, "limit"),
    ({"limit": "0"}, "limit"),
    ({"limit": "many"}, "limit"),
    ({"min_area_m2": "big"}, "min_area_m2"),
    ({"status": "bought"}, "status"),
    ({"bbox": "14,46,15"}, "bbox"),
    ({"bbox": "a,b,c,d"}, "bbox"),
    ({"bbox": "15,46,14,47"}, "bbox"),
    ({"bbox": "14,46,15,47", "bbox-crs": "EPSG:999999"}, "bbox-crs"),
    ({"region": "Gorenjska"}, "region"),
    ({"region": "XX1"}, "region"),
    ({"municipality": "Atlantis"}, "municipality"),
    ({"readiness": "perfect"}, "readiness"),
    ({"broadband": "5g"}, "broadband"),
    ({"sort": "colour"}, "sort"),
    ({"cursor": "not-a-cursor"}, "cursor"),
    ({"f": "pdf"}, "f"),
    ({"gas": "maybe"}, "gas"),
    ({"max_motorway_km": "-1"}, "max_motorway_km"),
]


@pytest.mark.parametrize(("params", "field"), BAD_GET, ids=[str(p) for p, _ in BAD_GET])
def test_bad_input_is_a_4xx_naming_the_parameter(client, params, field):
    response = client.get("/plots", params=params)
    assert response.status_code in (400, 422), response.text
    assert field in response.json()["detail"]


def test_a_cursor_of_another_sort_is_refused(client):
    cursor = client.get("/plots", params={"limit": 2, "sort": "area"}).json()["links"][1]["href"]
    token = cursor.split("cursor=")[1]
    response = client.get("/plots", params={"limit": 2, "sort": "price", "cursor": token})
    assert response.status_code == 400
    assert "cursor" in response.json()["detail"]


@pytest.mark.parametrize("body", [
    {"geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]}},
    {"geometry": {"type": "Blob"}},
    {"geometry": {"type": "Polygon", "coordinates": [[[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]]]}},
    {"geometry": {"type": "Point", "coordinates": [500000, 100000]}},
    {"within_m": 100},
    {"colour": "red"},
    {"limit": 100000},
    {"status": ["bought"]},
])
def test_bad_post_bodies_are_4xx(client, body):
    response = client.post("/plots/search", json=body)
    assert response.status_code in (400, 422), response.text


INJECTIONS = ["'; DROP TABLE plot; --", "1 OR 1=1", "SI042' OR '1'='1", "\" OR \"\"=\"",
              "%' --", "1); SELECT pg_sleep(5); --", "nul\x00byte", "🙂"]


@pytest.mark.parametrize("attack", INJECTIONS)
def test_injection_strings_give_4xx_or_nothing_and_never_an_error(client, engine, attack):
    for name in ("region", "municipality", "zone", "status", "use", "min_area_m2", "bbox",
                 "bbox-crs", "sort", "cursor", "f", "ownership", "readiness", "limit"):
        response = client.get("/plots", params={name: attack})
        assert response.status_code < 500, (name, attack, response.text)
        if response.status_code == 200:
            assert response.json()["features"] == []
        else:  # the message names what was wrong, and tells nothing of the SQL behind it
            detail = response.json()["detail"]
            assert not any(leak in detail for leak in ("psycopg2", "FROM plot", "syntax error", "LINE 1"))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM plot")).scalar_one() > 300


def test_anonymous_responses_never_show_internal_fields(client):
    for response in (client.get("/plots", params={"limit": 1000}),
                     client.post("/plots/search", json={"limit": 1000})):
        for feature in response.json()["features"]:
            assert "owner_contact" not in feature["properties"]
            assert "internal_note" not in feature["properties"]
    csv = client.get("/plots", params={"limit": 1000, "f": "csv"}).text
    assert "owner_contact" not in csv and "internal_note" not in csv
    assert "owner_contact" not in client.get("/plots/1").json()["properties"]


def test_data_keepers_see_internal_fields(fresh_client, fresh_engine):
    from locations.accounts import create_account

    with fresh_engine.begin() as conn:
        noted = conn.execute(text(
            "SELECT p.id, p.owner_contact, m.name FROM plot p JOIN zone z ON z.id = p.zone_id "
            "JOIN municipality m ON m.id = z.municipality_id "
            "WHERE p.owner_contact IS NOT NULL ORDER BY p.id LIMIT 1")).one()
        token = create_account(conn, "editor", "municipality", municipalities=[noted.name])
        investor = create_account(conn, "investor", "investor")
    headers = {"Authorization": f"Bearer {token}"}
    found = fresh_client.get("/plots", params={"limit": 1000}, headers=headers).json()
    by_id = {f["id"]: f for f in found["features"]}
    assert by_id[noted.id]["properties"]["owner_contact"] == noted.owner_contact
    one = fresh_client.get(f"/plots/{noted.id}", headers=headers)
    assert one.json()["properties"]["owner_contact"] == noted.owner_contact
    assert one.headers["ETag"]
    as_investor = fresh_client.get(f"/plots/{noted.id}",
                                   headers={"Authorization": f"Bearer {investor}"}).json()
    assert "owner_contact" not in as_investor["properties"]
    bad = fresh_client.get("/plots", headers={"Authorization": "Bearer wrong"})
    assert bad.status_code == 401


def test_internal_fields_are_filled_only_within_the_readers_reach(fresh_client, fresh_engine):
    """An owner contact is often a private person's: an editor sees those of its own
    municipality's plots, an analyst those of its region's, an admin all; in the same
    answer other plots carry the fields empty. Search, one plot and the export agree."""
    from locations.accounts import create_account

    with fresh_engine.begin() as conn:
        contacts = {row.id: row for row in conn.execute(text(
            "SELECT p.id, p.owner_contact, m.name AS municipality, r.code AS region "
            "FROM plot p JOIN zone z ON z.id = p.zone_id "
            "JOIN municipality m ON m.id = z.municipality_id JOIN region r ON r.id = m.region_id "
            "WHERE p.owner_contact IS NOT NULL"))}
        own = next(iter(contacts.values()))
        editor = create_account(conn, "kranj-editor", "municipality",
                                municipalities=[own.municipality])
        analyst = create_account(conn, "analyst", "agency", regions=[own.region])
        admin = create_account(conn, "admin", "admin")
    assert {c.municipality for c in contacts.values()} - {own.municipality}, "demo too small"
    assert {c.region for c in contacts.values()} - {own.region}, "demo too small"

    def seen(token: str) -> dict[int, str | None]:
        headers = {"Authorization": f"Bearer {token}"}
        found = fresh_client.get("/plots", params={"limit": 1000}, headers=headers).json()
        return {f["id"]: f["properties"]["owner_contact"] for f in found["features"]}

    expected = {
        editor: lambda c: c.municipality == own.municipality,
        analyst: lambda c: c.region == own.region,
        admin: lambda c: True,
    }
    for token, within in expected.items():
        shown = seen(token)
        for plot_id, contact in contacts.items():
            assert shown[plot_id] == (contact.owner_contact if within(contact) else None)

    other = next(c for c in contacts.values() if c.municipality != own.municipality)
    headers = {"Authorization": f"Bearer {editor}"}
    assert fresh_client.get(f"/plots/{other.id}", headers=headers).json()[
        "properties"]["owner_contact"] is None
    assert fresh_client.get(f"/plots/{own.id}", headers=headers).json()[
        "properties"]["owner_contact"] == own.owner_contact
    exported = fresh_client.get("/exports/plots", params={"f": "csv"}, headers=headers)
    assert exported.status_code == 200
    rows = {int(r["id"]): r for r in csv.DictReader(io.StringIO(exported.text))}
    assert rows[own.id]["owner_contact"] == own.owner_contact
    assert rows[other.id]["owner_contact"] == ""


def test_plot_by_id_keeps_its_etag(client):
    response = client.get("/plots/1")
    assert response.status_code == 200
    assert response.headers["ETag"] == f'"{response.json()["properties"]["version"]}"'
    assert client.get("/plots/99999999").status_code == 404


def test_limit_default_and_maximum(client, plots):
    assert client.get("/plots").json()["numberReturned"] == min(50, len(plots))
    assert client.get("/plots", params={"limit": 1000}).json()["numberReturned"] == min(
        1000, len(plots))


def test_retired_plots_are_not_found_by_search(fresh_client, fresh_engine):
    with fresh_engine.begin() as conn:
        conn.execute(text("UPDATE plot SET retired_at = now() WHERE id = 1"))
    found = search_ids(fresh_client, {})
    assert 1 not in found and 2 in found


def test_empty_result_is_an_empty_collection(client):
    body = client.get("/plots", params={"min_area_m2": 1e12}).json()
    assert body["features"] == [] and body["numberReturned"] == 0
    assert [link["rel"] for link in body["links"]] == ["self"]
    assert not math.isnan(body["numberReturned"])


def test_a_world_wide_bbox_finds_every_plot(client, plots):
    assert search_ids(client, {"bbox": "-180,-90,180,90"}) == set(plots)
    assert search_ids(client, {"bbox": "100,10,120,20"}) == set()  # South-East Asia


def test_bbox_in_epsg_4326_is_lat_lon_as_ogc_has_it(client):
    lon_lat = search_ids(client, {"bbox": "14.25,46.15,14.45,46.30"})
    lat_lon = search_ids(client, {"bbox": "46.15,14.25,46.30,14.45", "bbox-crs": "EPSG:4326"})
    assert lon_lat and lat_lon == lon_lat


@pytest.mark.parametrize("params", [
    {"bbox": "-1e300,-1e300,1e300,1e300", "bbox-crs": "EPSG:3794"},
    {"bbox": "0,0,1e9,1e9", "bbox-crs": "EPSG:3035"},
    {"bbox": "14,46,15,47", "bbox-crs": "EPSG:99999"},
    {"bbox": "14,46,15,47", "bbox-crs": "WGS84 please"},
])
def test_a_bbox_its_crs_cannot_hold_is_a_400(client, params):
    response = client.get("/plots", params=params)
    assert response.status_code == 400
    assert response.json()["field"] in ("bbox", "bbox-crs")
