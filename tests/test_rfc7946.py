"""RFC 7946's right-hand rule on every GeoJSON answer and export: outer rings
counter-clockwise, holes clockwise.

Official boundaries come either way round (most of GURS's statistical regions are
clockwise). Here every stored polygon is turned clockwise, its holes counter-clockwise,
and one plot, zone, municipality and region gets a hole; then every operation that the
OpenAPI document says answers GeoJSON is called, and the exports written, and each
polygon checked. An operation answering GeoJSON that the test does not know fails it.
"""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

GEOJSON = "application/geo+json"


def _signed_area(ring: list[list[float]]) -> float:
    """Twice the ring's signed area in lon/lat: positive when counter-clockwise."""
    return sum(x0 * y1 - x1 * y0 for (x0, y0, *_), (x1, y1, *_) in pairwise(ring))


def _polygons(geometry: dict[str, Any] | None) -> list[list[list[list[float]]]]:
    if not geometry:
        return []
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"]]
    if geometry["type"] == "MultiPolygon":
        return geometry["coordinates"]
    if geometry["type"] == "GeometryCollection":
        return [p for g in geometry["geometries"] for p in _polygons(g)]
    return []


#: A ring whose area, at the 7 decimals written, is below this (deg², about 0.01 m²) has no
#: orientation to speak of: a sliver hole a union of differently simplified borders left,
#: collapsed to a line by the rounding.
DEGENERATE_DEG2 = 1e-12


def _wrong_rings(document: dict[str, Any]) -> tuple[int, list[str]]:
    """How many polygons the document holds, and each ring against the rule."""
    features = document.get("features") or ([document] if document.get("type") == "Feature"
                                            else [])
    count, wrong = 0, []
    for feature in features:
        for polygon in _polygons(feature.get("geometry")):
            count += 1
            if _signed_area(polygon[0]) < DEGENERATE_DEG2:
                wrong.append(f"feature {feature.get('id')}: outer ring clockwise")
            wrong += [f"feature {feature.get('id')}: hole {i} counter-clockwise"
                      for i, hole in enumerate(polygon[1:], 1)
                      if _signed_area(hole) > DEGENERATE_DEG2]
    return count, wrong


@pytest.fixture
def turned(fresh_engine: Engine) -> dict[str, int]:
    """Every polygon of the demo turned against the rule, and one of each kind with a hole.
    Returns the ids of the features with a hole."""
    with fresh_engine.begin() as conn:
        ids = dict(conn.execute(text(
            """
            SELECT 'plot', min(id) FROM plot WHERE retired_at IS NULL
            UNION ALL SELECT 'zone', min(z.id) FROM zone z
                      WHERE EXISTS (SELECT 1 FROM plot p WHERE p.zone_id = z.id)
            UNION ALL SELECT 'municipality', min(id) FROM municipality
            UNION ALL SELECT 'region', min(id) FROM region
            UNION ALL SELECT 'constraint', min(id) FROM constraint_area
            """)).all())
        # A hole of 2 m around a point inside: small enough to leave every plot's rules be.
        hole = "ST_Difference(boundary, ST_Buffer(ST_PointOnSurface(boundary), 2))"
        for table, kind in (("plot", "plot"), ("zone", "zone"), ("municipality", "municipality"),
                            ("region", "region"), ("constraint_area", "constraint")):
            conn.execute(text(
                f"UPDATE {table} SET boundary = ST_Multi(ST_ForcePolygonCW("
                f"CASE WHEN id = :id THEN {hole} ELSE boundary END)) WHERE boundary IS NOT NULL"),
                {"id": ids[kind]})
        clockwise = conn.execute(text(
            "SELECT count(*) FROM region WHERE ST_IsPolygonCW(boundary)")).scalar_one()
        assert clockwise == conn.execute(text("SELECT count(*) FROM region")).scalar_one()
    return ids


def _geojson_operations(app) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, operations in app.openapi()["paths"].items()
            for method, operation in operations.items()
            if GEOJSON in operation.get("responses", {}).get("200", {}).get("content", {})}


def test_every_geojson_answer_and_export_follows_the_right_hand_rule(
        fresh_engine: Engine, fresh_client, turned: dict[str, int], tmp_path: Path) -> None:
    from locations.accounts import create_account
    from locations.imports.exports import select, write

    with fresh_engine.begin() as conn:
        token = create_account(conn, "rfc7946-admin", "admin")
    auth = {"Authorization": f"Bearer {token}"}
    plot, zone = turned["plot"], turned["zone"]
    accept = {"Accept": GEOJSON}

    def version(path: str) -> str:
        return fresh_client.get(path, headers=accept).headers["ETag"]

    calls = {
        ("GET", "/regions"): lambda: fresh_client.get("/regions"),
        ("GET", "/municipalities"): lambda: fresh_client.get("/municipalities"),
        ("GET", "/zones"): lambda: fresh_client.get("/zones"),
        ("GET", "/zones/{zone_id}"): lambda: fresh_client.get(f"/zones/{zone}"),
        ("GET", "/plots"): lambda: fresh_client.get("/plots", params={"limit": 1000}),
        ("POST", "/plots/search"): lambda: fresh_client.post("/plots/search", json={
            "zone": [zone]}),
        ("GET", "/plots/{plot_id}"): lambda: fresh_client.get(f"/plots/{plot}"),
        ("GET", "/infrastructure"): lambda: fresh_client.get("/infrastructure"),
        ("PATCH", "/zones/{zone_id}"): lambda: fresh_client.patch(
            f"/zones/{zone}", json={"manager_name": "Right Hand"},
            headers=auth | {"If-Match": version(f"/zones/{zone}")}),
        ("PATCH", "/plots/{plot_id}"): lambda: fresh_client.patch(
            f"/plots/{plot}", json={"internal_note": "right hand"},
            headers=auth | {"If-Match": version(f"/plots/{plot}")}),
        ("POST", "/plots/{plot_id}/verify"): lambda: fresh_client.post(
            f"/plots/{plot}/verify", headers=auth | {"If-Match": version(f"/plots/{plot}")}),
        ("GET", "/exports/plots"): lambda: fresh_client.get("/exports/plots",
                                                            params={"f": "geojson"}),
        ("POST", "/exports/plots"): lambda: fresh_client.post(
            "/exports/plots", params={"f": "geojson"}, json={"zone": [zone]}),
        ("GET", "/exports/zones"): lambda: fresh_client.get("/exports/zones",
                                                            params={"f": "geojson"}),
    }
    collections = {"plots": plot, "zones": zone, "municipalities": turned["municipality"],
                   "regions": turned["region"], "constraint_areas": turned["constraint"],
                   "infrastructure": None}
    for name, feature_id in collections.items():
        calls[("GET", f"/collections/{name}/items")] = (
            lambda name=name: fresh_client.get(f"/collections/{name}/items",
                                               params={"limit": 1000}, headers=accept))
        calls[("GET", f"/collections/{name}/items/{{feature_id}}")] = (
            lambda name=name, feature_id=feature_id: fresh_client.get(
                f"/collections/{name}/items/{feature_id or 1}", headers=accept))
    # Retiring a plot answers with it too: last, the plot is gone from the lists after it.
    calls[("POST", "/plots/{plot_id}/retire")] = lambda: fresh_client.post(
        f"/plots/{plot}/retire", json={"note": "right-hand rule"},
        headers=auth | {"If-Match": version(f"/plots/{plot}")})

    assert _geojson_operations(fresh_client.app) <= set(calls), (
        "an operation answers GeoJSON that this test does not call: "
        f"{sorted(_geojson_operations(fresh_client.app) - set(calls))}")
    polygons = {}
    for operation, call in calls.items():
        answer = call()
        assert answer.status_code == 200, (operation, answer.text[:300])
        count, wrong = _wrong_rings(json.loads(answer.content))
        assert wrong == [], (operation, wrong[:5])
        polygons[operation] = count
    # Each answer with polygons had some to check (the holes' features among them).
    for operation in [("GET", "/regions"), ("GET", "/municipalities"), ("GET", "/zones"),
                      ("GET", "/plots/{plot_id}"), ("GET", "/exports/plots"),
                      ("GET", "/collections/constraint_areas/items")]:
        assert polygons[operation] > 0, operation

    # The command line's exports (`locations export ... -o x.geojson`).
    with fresh_engine.connect() as conn:
        for kind in ("plots", "zones"):
            frame = select(conn, kind, {}, internal=None)
            [path, _] = write(frame, tmp_path / f"{kind}.geojson", kind)
            count, wrong = _wrong_rings(json.loads(path.read_text(encoding="utf-8")))
            assert count > 0 and wrong == [], (kind, wrong[:5])
