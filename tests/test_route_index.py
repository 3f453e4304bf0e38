"""Routing by a path's shape (api/route_index.py) answers exactly as FastAPI's own matching:
every top-level route says the same of every path, whatever its method or root path; and
the routes that read their parameters from the request (the OGC tile, the items) answer as
when FastAPI read them."""

from __future__ import annotations

import math
import re

import pytest
from fastapi.routing import APIRoute, _IncludedRouter
from sqlalchemy import create_engine, text
from starlette.routing import Match

from api.app import create_app
from api.route_index import path_shape, route_shapes, template_shape


@pytest.fixture(scope="module")
def app():
    # Matching reads the routes alone: the engine is never connected.
    return create_app(create_engine("postgresql+psycopg2://unused@localhost/unused"))


def _templates(app) -> list[str]:
    found = []
    for route in app.router.routes:
        contexts = route.effective_route_contexts() if isinstance(route, _IncludedRouter) \
            else [route]
        for context in contexts:
            template = getattr(context, "path_format", None) or getattr(context, "path", None)
            if template:
                found.append(template)
    return found


def _sample_paths(app) -> list[str]:
    """Each route's template filled in, and near misses of each: a segment more or fewer,
    a trailing slash, another first segment; and paths no route serves."""
    paths = {"/", "//", "/nothing-here", "/static", "/static/", "/static/a/b/c.js",
             "/maps", "/maps/", "/collections/", "/collections/plots/tiles/WebMercatorQuad/1/2",
             "/collections/plots/tiles/WebMercatorQuad/1/2/3/4", "/tiles/plots/1/2/3.pbf/x"}
    for template in _templates(app):
        for value in ("1", "plots", "x.y"):
            filled = re.sub(r"\{[^}]+\}", value, template)
            paths |= {filled, filled + "/", filled + "/extra", filled.rsplit("/", 1)[0] or "/",
                      "/other" + filled}
    return sorted(paths)


def _scope(app, path: str, method: str, root_path: str = "") -> dict:
    return {"type": "http", "method": method, "path": root_path + path, "root_path": root_path,
            "headers": [], "query_string": b"", "app": app}


def test_every_route_matches_each_path_as_fastapi_does(app):
    routes = app.router.routes
    assert any("matches" in vars(route) for route in routes), "no router was indexed"
    checked = 0
    for path in _sample_paths(app):
        for method in ("GET", "POST", "HEAD", "DELETE"):
            for root_path in ("", "/behind-a-proxy"):
                for route in routes:
                    indexed = route.matches(_scope(app, path, method, root_path))
                    # FastAPI's own method, as the class has it (the index only shadows it).
                    plain = type(route).matches(route, _scope(app, path, method, root_path))
                    assert indexed[0] == plain[0], (path, method, root_path, route)
                    checked += 1
    assert checked > 10_000


def test_every_route_is_answered_by_the_route_it_was(app):
    """Through the whole stack: each listed GET route's filled-in path reaches the same
    endpoint FastAPI's unindexed matching chooses."""
    for template in _templates(app):
        path = re.sub(r"\{[^}]+\}", "1", template)
        scope = _scope(app, path, "GET")
        chosen = next((r for r in app.router.routes
                       if type(r).matches(r, scope)[0] is Match.FULL), None)
        indexed = next((r for r in app.router.routes if r.matches(scope)[0] is Match.FULL), None)
        assert chosen is indexed, path


def test_shapes_of_templates_and_paths():
    assert path_shape("/collections/plots/items") == ("collections", 3)
    assert path_shape("/") == ("", 1)
    assert template_shape("/collections/{collection_id}/items") == ("collections", 3)
    assert template_shape("/{anything}") is None
    assert template_shape("/files/{rest:path}") == ("files", None)
    assert template_shape("/static", prefix_only=True) == ("static", None)
    # A route of no fixed first segment makes its whole router be tried for every path.
    loose = APIRoute("/{name}", endpoint=lambda name: name)
    assert route_shapes([APIRoute("/a/{b}", endpoint=lambda b: b), loose]) is None


def _tile_address(engine, z: int) -> tuple[int, int]:
    with engine.connect() as conn:
        lon, lat = conn.execute(text(
            "SELECT ST_X(c), ST_Y(c) FROM plot p, ST_Transform(ST_PointOnSurface(p.boundary), "
            "4326) c ORDER BY p.id LIMIT 1")).one()
    x = int((lon + 180) / 360 * (1 << z))
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * (1 << z))
    return x, y


def test_the_ogc_tile_reads_its_parameters_as_fastapi_did(client, engine):
    x, y = _tile_address(engine, 16)
    url = f"/collections/plots/tiles/WebMercatorQuad/16/{y}/{x}"
    tile = client.get(url)
    assert tile.status_code == 200 and tile.content
    assert tile.content == client.get(f"/tiles/plots/16/{x}/{y}.pbf").content
    # The last f given counts, as for any declared query parameter.
    assert client.get(url, params=[("f", "png"), ("f", "mvt")]).content == tile.content
    refused = client.get(url, params=[("f", "mvt"), ("f", "png")])
    assert refused.status_code == 400 and refused.json()["field"] == "f"
    assert client.get(url, params={"f": ""}).status_code == 400
    # If-None-Match: the same ETag is a 304, another one the tile.
    etag = tile.headers["etag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert client.get(url, headers={"If-None-Match": f'"x", {etag}'}).status_code == 304
    assert client.get(url, headers={"If-None-Match": '"other"'}).content == tile.content
    assert client.get(url.replace("/16/", "/1x/")).json()["field"] == "tileMatrix"
    assert client.get(url.replace("/plots/", "/regions/")).status_code == 404
    # A control character in a path parameter is refused before the route reads it.
    assert client.get(url.replace("/plots/", "/plo%00ts/")).status_code == 400


def test_the_ogc_tile_documents_the_parameters_it_reads(app):
    operation = app.openapi()["paths"][
        "/collections/{collection_id}/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}"
    ]["get"]
    assert [(p["name"], p["in"], p["required"]) for p in operation["parameters"]] == [
        ("collection_id", "path", True), ("tileMatrix", "path", True), ("tileRow", "path", True),
        ("tileCol", "path", True), ("f", "query", False), ("if-none-match", "header", False)]


def test_items_with_and_without_a_token_reach_the_engine(client):
    anonymous = client.get("/collections/plots/items", params={"limit": 2})
    assert anonymous.status_code == 200 and anonymous.json()["numberReturned"] == 2
    wrong = client.get("/collections/plots/items", params={"limit": 2},
                       headers={"Authorization": "Bearer not-a-token"})
    assert wrong.status_code == 401
    one = anonymous.json()["features"][0]["id"]
    assert client.get(f"/collections/plots/items/{one}").json()["id"] == one
