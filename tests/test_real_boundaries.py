"""The demo on real boundaries: Styrian Gemeinden with their real codes, districts and NUTS-3
regions built from them, GURS's statistical regions, zones in their real municipalities
(some shared by two), and a re-import of the published Gemeinden that moves and renames
nothing. The boundary files are the project's own copies (data/demo/boundaries)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pyproj import Geod
from shapely.geometry import Point, shape
from sqlalchemy import text

from locations.importer import import_file

BOUNDARIES = Path(__file__).resolve().parent.parent / "data" / "demo" / "boundaries"
GEMEINDEN = BOUNDARIES / "at-styria-gemeinden.geojson"
WGS84 = Geod(ellps="WGS84")


def _published_gemeinden() -> dict[str, str]:
    features = json.loads(GEMEINDEN.read_text(encoding="utf-8"))["features"]
    return {f["properties"]["iso"]: f["properties"]["name"] for f in features}


def test_graz_contains_its_centre(client):
    graz = [f for f in client.get("/municipalities", params={"region": "AT221"}).json()["features"]
            if f["properties"]["code"] == "60101"]
    assert len(graz) == 1 and graz[0]["properties"]["name"] == "Graz"
    assert shape(graz[0]["geometry"]).contains(Point(15.4420, 47.0673))
    assert graz[0]["properties"]["boundary_approximate"] is False
    # Its area is the boundary's, not a placeholder (official: 127.57 km²).
    assert graz[0]["properties"]["area_km2"] == pytest.approx(127.57, rel=0.01)


def test_gorenjska_area_from_the_api_geometry(client):
    gorenjska = next(f for f in client.get("/regions").json()["features"]
                     if f["properties"]["code"] == "SI042")
    area_m2, _ = WGS84.geometry_area_perimeter(shape(gorenjska["geometry"]))
    # Positive: outer rings counter-clockwise, as RFC 7946 has them.
    assert area_m2 / 1e6 == pytest.approx(2136.63, rel=0.01)
    assert gorenjska["properties"]["area_km2"] == pytest.approx(2136.63, rel=0.001)
    assert gorenjska["properties"]["official_area_km2"] == pytest.approx(2136.63)
    assert gorenjska["properties"]["level"] == "nuts3"
    assert gorenjska["properties"]["parent_code"] == "SI04"


def test_styria_holds_the_286_gemeinden_with_their_real_codes(client):
    styria = client.get("/municipalities", params={"region": "AT22"}).json()["features"]
    found = {f["properties"]["code"]: f["properties"]["name"] for f in styria}
    assert len(styria) == 286
    assert found == _published_gemeinden()
    # The demo's towns are the real Gemeinden: Kapfenberg is 62140, not a placeholder.
    assert found["62140"] == "Kapfenberg" and found["60655"] == "Werndorf"
    # Each Gemeinde is in the district its code names, and in one region per level.
    for feature in styria:
        regions = feature["properties"]["regions"]
        assert regions["district"] == f"AT-D-{feature['properties']['code'][:3]}"
        assert set(regions) == {"country", "nuts1", "nuts2", "nuts3", "district"}


def test_slovenian_municipalities_are_approximate_and_inside_their_real_region(client):
    slovenian = client.get("/municipalities", params={"region": "SI"}).json()["features"]
    regions = {f["properties"]["code"]: shape(f["geometry"])
               for f in client.get("/regions", params={"level": "nuts3"}).json()["features"]}
    assert len(slovenian) == 11
    for feature in slovenian:
        assert feature["properties"]["boundary_approximate"] is True
        outline = shape(feature["geometry"])
        region = regions[feature["properties"]["region_code"]]
        assert outline.difference(region.buffer(1e-6)).area < 1e-9, feature["properties"]["name"]


def test_the_state_border_is_one_line(client):
    countries = {f["properties"]["code"]: shape(f["geometry"])
                 for f in client.get("/regions", params={"level": "country"}).json()["features"]}
    assert set(countries) == {"AT", "SI"}
    border = countries["AT"].intersection(countries["SI"])
    assert border.area < 1e-8  # they touch, they do not overlap
    assert countries["AT"].distance(countries["SI"]) == 0
    assert countries["AT"].contains(Point(15.4420, 47.0673))
    assert countries["SI"].contains(Point(14.3556, 46.2389))


@pytest.mark.parametrize("district", ["AT-D-606", "AT-D-610", "AT-D-621", "AT-D-611",
                                      "AT-D-601"])
def test_a_district_returns_exactly_the_plots_in_its_gemeinden(client, engine, district):
    # Where each plot lies, from the geometry alone: the municipality holding most of it.
    with engine.connect() as conn:
        expected = set(conn.execute(text("""
            SELECT p.id FROM plot p
            CROSS JOIN LATERAL (
                SELECT m.code, m.country FROM municipality m
                WHERE ST_Intersects(m.boundary, p.boundary)
                ORDER BY ST_Area(ST_Intersection(m.boundary, p.boundary)) DESC LIMIT 1) m
            WHERE p.retired_at IS NULL AND m.country = 'AT' AND left(m.code, 3) = :iso
        """), {"iso": district[-3:]}).scalars())
    found, url, params = set(), "/plots", {"region": district.lower(), "limit": 1000}
    while url:
        body = client.get(url, params=params).json()
        found |= {f["id"] for f in body["features"]}
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
        params = None
    assert found == expected
    assert expected or district == "AT-D-601"  # the city of Graz has no demo zone


def test_shared_zones_name_their_municipalities_and_plots_count_where_they_lie(client):
    zones = {f["properties"]["name"]: f["properties"]
             for f in client.get("/zones", params={"region": "AT22"}).json()["features"]}
    assert zones["Cargo Center Graz"]["municipality_name"] == "Werndorf"
    assert zones["Cargo Center Graz"]["municipalities"] == ["Werndorf", "Wundschuh"]
    assert zones["Impulspark Lang-Lebring"]["municipalities"] == [
        "Lebring-Sankt Margarethen", "Lang"]
    assert zones["Leoben-West"]["municipalities"] == ["Leoben"]
    from_wundschuh = client.get("/zones", params={"municipality": "Wundschuh"}).json()
    assert [f["properties"]["name"] for f in from_wundschuh["features"]] == ["Cargo Center Graz"]
    werndorf = client.get("/plots", params={"municipality": "Werndorf", "limit": 1000}).json()
    wundschuh = client.get("/plots", params={"municipality": "Wundschuh", "limit": 1000}).json()
    cargo = client.get("/plots", params={"zone": zones["Cargo Center Graz"]["id"],
                                         "limit": 1000}).json()
    ids = {name: {f["id"] for f in body["features"]}
           for name, body in (("werndorf", werndorf), ("wundschuh", wundschuh), ("all", cargo))}
    assert ids["werndorf"] and ids["wundschuh"]
    assert ids["werndorf"] | ids["wundschuh"] == ids["all"]
    assert not ids["werndorf"] & ids["wundschuh"]
    assert {f["properties"]["municipality_name"] for f in wundschuh["features"]} == {"Wundschuh"}


def test_editors_of_each_municipality_edit_the_plots_in_their_part(fresh_client, fresh_engine):
    from locations.accounts import create_account

    with fresh_engine.begin() as conn:
        wundschuh = create_account(conn, "wundschuh editor", "municipality",
                                   municipalities=["Wundschuh"])
        werndorf = create_account(conn, "werndorf editor", "municipality",
                                  municipalities=["Werndorf"])
    plots = {name: client_plots for name, client_plots in (
        (name, fresh_client.get("/plots", params={"municipality": name, "limit": 1}).json())
        for name in ("Wundschuh", "Werndorf"))}
    in_wundschuh = plots["Wundschuh"]["features"][0]
    in_werndorf = plots["Werndorf"]["features"][0]
    assert in_wundschuh["properties"]["zone_name"] == "Cargo Center Graz"

    def patch(plot, token):
        return fresh_client.patch(f"/plots/{plot['id']}", json={"price_eur_m2": 88},
                                  headers={"Authorization": f"Bearer {token}",
                                           "If-Match": f'"{plot["properties"]["version"]}"'})

    assert patch(in_wundschuh, wundschuh).status_code == 200
    assert patch(in_wundschuh, werndorf).status_code in (403, 412)
    refused = patch(in_werndorf, wundschuh)
    assert refused.status_code == 403 and "Werndorf" in refused.json()["detail"]


def test_reimporting_the_published_gemeinden_moves_and_renames_nothing(fresh_engine, tmp_path):
    mapping = tmp_path / "gemeinden-iso.yaml"
    mapping.write_text("name: gemeinden-iso\ntarget: municipalities\n"
                       "fields:\n  code: iso\n  name: name\nconstants:\n  country: AT\n",
                       encoding="utf-8")

    def state() -> dict[str, object]:
        with fresh_engine.connect() as conn:
            return {
                "names": sorted(conn.execute(text(
                    "SELECT country, code, name, region_id FROM municipality")).all()),
                "zones": sorted(conn.execute(text(
                    "SELECT id, municipality_id FROM zone")).all()),
                "shared": sorted(conn.execute(text(
                    "SELECT zone_id, municipality_id FROM zone_municipality")).all()),
                "plots": sorted(conn.execute(text(
                    "SELECT id, plot_municipality(zone_id, boundary) FROM plot")).all()),
                "levels": sorted(conn.execute(text(
                    "SELECT municipality_id, level, region_id FROM municipality_region")).all()),
            }

    before = state()
    report = import_file(fresh_engine, "municipalities", GEMEINDEN, mapping=str(mapping))
    assert not report.problems, report.describe_problems()
    assert report.created == 0 and report.updated + report.unchanged == 286
    assert state() == before


#: A hole smaller than this in a region is a sliver of a union, not an enclave: Graz, the
#: one enclave (in Graz-Umgebung), is 128 km².
SLIVER_M2 = 1e6


def test_regions_built_from_gemeinden_have_no_sliver_holes_and_their_area(engine):
    """Styria, its NUTS-3 regions and its districts are unions of Gemeinden: no hole a
    union's rounding leaves, no sliver part, and the area of their Gemeinden."""
    with engine.connect() as conn:
        rows = conn.execute(text(
            """
            SELECT r.code, ST_Area(r.boundary) AS area,
                   (SELECT sum(ST_Area(m.boundary)) FROM municipality m
                    JOIN municipality_region mr ON mr.municipality_id = m.id
                    WHERE mr.region_id = r.id) AS gemeinden,
                   (SELECT array_agg(ST_Area(ST_MakePolygon(ST_InteriorRingN(d.geom, n))))
                    FROM ST_Dump(r.boundary) d,
                         generate_series(1, ST_NumInteriorRings(d.geom)) n) AS holes,
                   (SELECT min(ST_Area(d.geom)) FROM ST_Dump(r.boundary) d) AS smallest_part
            FROM region r
            WHERE r.country = 'AT' AND r.level IN ('nuts2', 'nuts3', 'district')
            ORDER BY r.code
            """)).all()
    assert {r.code for r in rows} >= {"AT22", "AT221", "AT226", "AT-D-601", "AT-D-623"}
    assert len([r for r in rows if r.code.startswith("AT-D-")]) == 13
    for row in rows:
        assert [h for h in row.holes or [] if h < SLIVER_M2] == [], row.code
        assert row.smallest_part >= SLIVER_M2, row.code
        assert row.area == pytest.approx(row.gemeinden, rel=0.001), row.code
    holes = {r.code: r.holes for r in rows if r.holes}
    assert list(holes) == ["AT-D-606"] and holes["AT-D-606"][0] == pytest.approx(127.6e6, rel=0.01)


def test_slovenian_regions_have_no_sliver_holes(engine):
    with engine.connect() as conn:
        rows = conn.execute(text(
            """
            SELECT r.code, r.level, ST_Area(r.boundary) AS area,
                   (SELECT sum(ST_Area(s.boundary)) FROM region s
                    WHERE s.level = 'nuts3' AND s.code LIKE r.code || '%') AS statistical,
                   (SELECT count(*) FROM ST_Dump(r.boundary) d,
                         generate_series(1, ST_NumInteriorRings(d.geom)) n
                    WHERE ST_Area(ST_MakePolygon(ST_InteriorRingN(d.geom, n))) < :sliver)
                       AS sliver_holes
            FROM region r WHERE r.country = 'SI' ORDER BY r.code
            """), {"sliver": SLIVER_M2}).all()
    assert len(rows) == 16
    for row in rows:
        assert row.sliver_holes == 0, row.code
        # Slovenia and its halves are the union of the statistical regions, as they are.
        assert row.area == pytest.approx(row.statistical, rel=0.001), row.code


def test_every_seat_lies_in_its_municipality(engine):
    with engine.connect() as conn:
        outside = conn.execute(text(
            "SELECT name, round(ST_Distance(boundary, seat)) FROM municipality "
            "WHERE seat IS NOT NULL AND NOT ST_Intersects(boundary, seat)")).all()
        weiz = conn.execute(text(
            "SELECT ST_Distance(ST_Boundary(boundary), seat) FROM municipality "
            "WHERE code = '61766'")).scalar_one()
    assert outside == []
    assert weiz > 300  # the town square, well inside: not a point on the border
