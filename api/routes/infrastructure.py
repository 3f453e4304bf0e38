"""Infrastructure that matters for location: junctions, stations, terminals, airports ..."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ConnectionDep
from api.responses import GeoJSONResponse
from locations import features

router = APIRouter(tags=["infrastructure"])


@router.get("/infrastructure", response_class=GeoJSONResponse, summary="Infrastructure by kind")
def list_infrastructure(
    conn: ConnectionDep,
    kind: Annotated[
        list[str] | None,
        Query(description="One or more of: " + ", ".join(features.INFRASTRUCTURE_KINDS)),
    ] = None,
) -> GeoJSONResponse:
    return GeoJSONResponse(features.list_infrastructure(conn, kind))
