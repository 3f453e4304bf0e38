"""Business zones: list with aggregates, one zone."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ConnectionDep
from api.responses import GeoJSONResponse
from locations import features

router = APIRouter(tags=["zones"])


@router.get("/zones", response_class=GeoJSONResponse, summary="Zones with occupancy aggregates")
def list_zones(
    conn: ConnectionDep,
    region: Annotated[str | None, Query(description="Region code, e.g. SI042")] = None,
    municipality: Annotated[str | None, Query(description="Municipality name or id")] = None,
    kind: Annotated[str | None, Query(description="Zone kind")] = None,
) -> GeoJSONResponse:
    return GeoJSONResponse(
        features.list_zones(conn, region=region, municipality=municipality, kind=kind)
    )


@router.get("/zones/{zone_id}", response_class=GeoJSONResponse, summary="One zone")
def get_zone(conn: ConnectionDep, zone_id: int) -> GeoJSONResponse:
    zone = features.get_zone(conn, zone_id)
    return GeoJSONResponse(zone, headers={"ETag": f'"{zone["properties"]["version"]}"'})
