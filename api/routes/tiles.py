"""Vector tiles of plots and zones (Mapbox Vector Tile, EPSG:3857) with ETag and Cache-Control."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from api.deps import EngineDep, read_connection
from locations import tiles

router = APIRouter(prefix="/tiles", tags=["tiles"])

MVT_MEDIA_TYPE = "application/vnd.mapbox-vector-tile"


def respond(tile: tiles.Tile, if_none_match: str | None) -> Response:
    """The tile with its ETag and caching headers, or 304 when the client has it."""
    headers = {
        "ETag": tile.etag,
        "Cache-Control": f"public, max-age={tiles.CACHE_SECONDS}",
        "X-Tile-Layer": tile.layer,
    }
    if if_none_match and tile.etag in [tag.strip() for tag in if_none_match.split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(tile.content, media_type=MVT_MEDIA_TYPE, headers=headers)


@router.get(
    "/plots/{z}/{x}/{y}.pbf",
    summary="Plots as a vector tile (zones below zoom 13)",
    response_class=Response,
    responses={200: {"content": {MVT_MEDIA_TYPE: {}}}, 304: {"description": "Not modified"}},
)
def plot_tile(
    engine: EngineDep,
    z: int,
    x: int,
    y: int,
    profile: Annotated[str | None, Query(description="Scoring profile: adds each plot's score")] = None,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    # The connection is taken in the endpoint's worker thread: as a dependency it would
    # cost two more trips through the thread pool per tile, and a map asks for dozens.
    with read_connection(engine) as conn:
        tile = tiles.plot_tile(conn, z, x, y, profile=profile)
    return respond(tile, if_none_match)


@router.get(
    "/zones/{z}/{x}/{y}.pbf",
    summary="Zones as a vector tile",
    response_class=Response,
    responses={200: {"content": {MVT_MEDIA_TYPE: {}}}, 304: {"description": "Not modified"}},
)
def zone_tile(
    engine: EngineDep,
    z: int,
    x: int,
    y: int,
    profile: Annotated[str | None, Query(description="Scoring profile: adds each zone's score")] = None,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    with read_connection(engine) as conn:
        tile = tiles.zone_tile(conn, z, x, y, profile=profile)
    return respond(tile, if_none_match)
