"""OGC API - Tiles for plots and zones in WebMercatorQuad, with tile-set metadata and TileJSON.

A tile here is the tile of /tiles/plots/{z}/{x}/{y}.pbf or /tiles/zones/...: the same
route function answers both (api/routes/tiles.py), ETag and Cache-Control included;
OGC's {tileMatrix}/{tileRow}/{tileCol} is z/y/x.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.deps import EngineDep, read_connection
from api.ogc.common import JSON, base_url, json_answer, link
from api.responses import error_responses
from api.routes import tiles as tile_routes
from locations import loop_reads, ogc, replicas, tiles
from locations.errors import InvalidInput, NotFound

TMS_ID = "WebMercatorQuad"
TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
WEB_MERCATOR = "http://www.opengis.net/def/crs/EPSG/0/3857"
MVT = tile_routes.MVT_MEDIA_TYPE
TILEJSON = "application/vnd.mapbox.tile+json"
HALF_WORLD = 20037508.3427892
TILE_SIZE = 256
#: The scale denominator's standard pixel: 0.28 mm.
PIXEL_METRES = 0.00028

#: What each tile set holds: its layers and the zooms each appears at.
TILESETS = {
    "plots": {"title": "Plots (zones below zoom 13)", "layers": [
        {"id": "plots", "minzoom": tiles.PLOT_MIN_ZOOM, "maxzoom": tiles.MAX_ZOOM,
         "fields": {"plot_id": "Number", "status": "String"}},
        {"id": "zones", "minzoom": 0, "maxzoom": tiles.PLOT_MIN_ZOOM - 1,
         "fields": {"zone_id": "Number", "name": "String", "kind": "String"}},
    ], "tile": tile_routes.plot_tile, "read": tiles.plot_tile},
    "zones": {"title": "Business zones", "layers": [
        {"id": "zones", "minzoom": 0, "maxzoom": tiles.MAX_ZOOM,
         "fields": {"zone_id": "Number", "name": "String", "kind": "String",
                    "available_area_m2": "Number", "occupancy": "Number"}},
        {"id": "zone_points", "minzoom": 0, "maxzoom": tiles.PLOT_MIN_ZOOM - 1,
         "fields": {"zone_id": "Number", "name": "String"}},
    ], "tile": tile_routes.zone_tile, "read": tiles.zone_tile},
}

router = APIRouter(tags=["OGC API - Tiles"])


def _tileset(collection_id: str) -> dict[str, Any]:
    try:
        return TILESETS[collection_id]
    except KeyError:
        raise NotFound(f"no tiles of {collection_id!r}; there are: "
                       f"{', '.join(TILESETS)}") from None


def _tile_matrix(z: int) -> dict[str, Any]:
    cell = 2 * HALF_WORLD / TILE_SIZE / (1 << z)
    return {"id": str(z), "scaleDenominator": cell / PIXEL_METRES, "cellSize": cell,
            "cornerOfOrigin": "topLeft", "pointOfOrigin": [-HALF_WORLD, HALF_WORLD],
            "tileWidth": TILE_SIZE, "tileHeight": TILE_SIZE,
            "matrixWidth": 1 << z, "matrixHeight": 1 << z}


@router.get("/tileMatrixSets", summary="The tile matrix sets tiles are offered in")
def tile_matrix_sets(request: Request) -> Response:
    root = base_url(request)
    return json_answer({"tileMatrixSets": [{
        "id": TMS_ID, "title": "Google Maps Compatible for the World", "uri": TMS_URI,
        "links": [link(f"{root}/tileMatrixSets/{TMS_ID}", "self", JSON, "The definition")]}]})


@router.get(f"/tileMatrixSets/{TMS_ID}", summary="WebMercatorQuad, defined")
def web_mercator_quad(request: Request) -> Response:
    return json_answer({
        "id": TMS_ID, "title": "Google Maps Compatible for the World", "uri": TMS_URI,
        "crs": WEB_MERCATOR, "orderedAxes": ["X", "Y"],
        "wellKnownScaleSet": "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",
        "tileMatrices": [_tile_matrix(z) for z in range(tiles.MAX_ZOOM + 1)],
        "links": [link(str(request.url), "self", JSON, "This definition")]})


def _template(root: str, collection_id: str) -> str:
    return f"{root}/collections/{collection_id}/tiles/{TMS_ID}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}"


def _tileset_summary(root: str, collection_id: str) -> dict[str, Any]:
    here = f"{root}/collections/{collection_id}/tiles/{TMS_ID}"
    return {"title": TILESETS[collection_id]["title"], "dataType": "vector", "crs": WEB_MERCATOR,
            "tileMatrixSetURI": TMS_URI, "links": [
                link(here, "self", JSON, "The tile set"),
                link(f"{root}/tileMatrixSets/{TMS_ID}",
                     "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme", JSON, TMS_ID),
                link(_template(root, collection_id), "item", MVT, "A tile", templated=True)]}


@router.get("/collections/{collection_id}/tiles", summary="The tile sets of a collection",
            responses=error_responses(404))
def tilesets(request: Request, collection_id: str) -> Response:
    _tileset(collection_id)
    root = base_url(request)
    return json_answer({
        "links": [link(str(request.url), "self", JSON, "These tile sets"),
                  link(f"{root}/collections/{collection_id}", "collection", JSON,
                       "The collection")],
        "tilesets": [_tileset_summary(root, collection_id)]})


@router.get(f"/collections/{{collection_id}}/tiles/{TMS_ID}",
            summary="A collection's tile set in WebMercatorQuad", responses=error_responses(404))
def tileset(request: Request, collection_id: str) -> Response:
    info = _tileset(collection_id)
    root = base_url(request)
    summary = _tileset_summary(root, collection_id)
    summary["links"] += [
        link(f"{root}/collections/{collection_id}/tiles/{TMS_ID}/tilejson.json", "describedby",
             TILEJSON, "TileJSON"),
        link(f"{root}/collections/{collection_id}", "collection", JSON, "The collection")]
    return json_answer(summary | {
        "layers": [{"id": layer["id"], "dataType": "vector", "geometryDimension": 2,
                    "minTileMatrix": str(layer["minzoom"]), "maxTileMatrix": str(layer["maxzoom"]),
                    "propertiesSchema": {"type": "object", "properties": {
                        name: {"type": "number" if kind == "Number" else "string"}
                        for name, kind in layer["fields"].items()}}}
                   for layer in info["layers"]],
        "centerPoint": {"coordinates": [15.0, 46.5], "tileMatrix": "9", "crs": ogc.CRS84_URI}})


@router.get(f"/collections/{{collection_id}}/tiles/{TMS_ID}/tilejson.json",
            summary="TileJSON 3.0 of a collection's tiles", responses=error_responses(404))
def tilejson(request: Request, engine: EngineDep, collection_id: str) -> Response:
    info = _tileset(collection_id)
    root = base_url(request)
    with read_connection(engine) as conn:
        bounds = ogc.extents(conn)[collection_id]["spatial"]["bbox"]
    url = f"{root}/collections/{collection_id}/tiles/{TMS_ID}/{{z}}/{{y}}/{{x}}"
    return json_answer({
        "tilejson": "3.0.0", "name": info["title"], "scheme": "xyz", "tiles": [url],
        "minzoom": 0, "maxzoom": tiles.MAX_ZOOM,
        # The collection's own extent; the whole world while it holds nothing.
        "bounds": bounds[0] if bounds else [-180, -85.05, 180, 85.05],
        "center": [15.0, 46.5, 9],
        "vector_layers": [{"id": layer["id"], "fields": layer["fields"],
                           "minzoom": layer["minzoom"], "maxzoom": layer["maxzoom"]}
                          for layer in info["layers"]]}, TILEJSON)


def _coordinate(value: str, name: str) -> int:
    if not (value.isascii() and value.isdigit()) or len(value) > 8:
        raise InvalidInput(name, f"{value!r} is not a tile {name} number")
    return int(value)


def _path_parameter(name: str, title: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True,
            "schema": {"type": "string", "title": title}}


_MAYBE_TEXT = {"anyOf": [{"type": "string"}, {"type": "null"}]}
_F_DESCRIPTION = "mvt, the only encoding; GDAL's MVT driver opens a URL ending in mvt or pbf"
#: The tile's parameters as FastAPI wrote them when the endpoint declared each one: it
#: reads them from the request itself instead, since resolving six declared parameters
#: (and the engine) cost about as much CPU as the database's work on a z16 tile.
TILE_PARAMETERS = [
    _path_parameter("collection_id", "Collection Id"),
    _path_parameter("tileMatrix", "Tilematrix"),
    _path_parameter("tileRow", "Tilerow"),
    _path_parameter("tileCol", "Tilecol"),
    {"name": "f", "in": "query", "required": False,
     "schema": _MAYBE_TEXT | {"description": _F_DESCRIPTION, "title": "F"},
     "description": _F_DESCRIPTION},
    {"name": "if-none-match", "in": "header", "required": False,
     "schema": _MAYBE_TEXT | {"title": "If-None-Match"}},
]


@router.get(f"/collections/{{collection_id}}/tiles/{TMS_ID}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}",
            summary="A vector tile (MVT) of a collection", response_class=Response,
            responses={200: {"content": {MVT: {}}}, 304: {"description": "Not modified"},
                       **error_responses(400, 404)},
            openapi_extra={"parameters": TILE_PARAMETERS})
async def tile(request: Request) -> Response:
    """An empty tile is a 200 with the tile's layers and no features, never zero bytes."""
    path = request.path_params
    # As FastAPI read them: the last ``f`` given, the first If-None-Match.
    f = request.query_params.get("f")
    if f not in (None, "mvt"):
        raise InvalidInput("f", "tiles are Mapbox Vector Tiles only: f=mvt")
    info = _tileset(path["collection_id"])
    z = _coordinate(path["tileMatrix"], "tileMatrix")
    y = _coordinate(path["tileRow"], "tileRow")
    x = _coordinate(path["tileCol"], "tileCol")
    # Outside the tile matrix set there is no such tile: 404, naming the part.
    if z > tiles.MAX_ZOOM:
        raise NotFound(f"tileMatrix {z} is not in {TMS_ID} (0 to {tiles.MAX_ZOOM})")
    for name, value in (("tileRow", y), ("tileCol", x)):
        if value >= 1 << z:
            raise NotFound(f"{name} {value} is outside tileMatrix {z} (0 to {(1 << z) - 1})")
    engine = request.app.state.engine
    if_none_match = request.headers.get("if-none-match")
    # Read on the event loop (locations.loop_reads), the same read and tile; in a worker
    # thread when replicas serve reads or the read needs more than its statement (a kept
    # tile made afresh).
    if replicas.pool_for(engine) is None:
        try:
            made = await loop_reads.run_read(engine, info["read"], z, x, y)
            return tile_routes.respond(made, if_none_match)
        except loop_reads.NeedsConnection:
            pass
    return await run_in_threadpool(info["tile"], engine, z, x, y, profile=None,
                                   if_none_match=if_none_match)
