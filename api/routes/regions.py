"""Regions (NUTS-3 style) as GeoJSON."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ConnectionDep
from api.responses import GeoJSONResponse
from locations import features

router = APIRouter(tags=["regions"])


@router.get("/regions", response_class=GeoJSONResponse, summary="All regions with their boundaries")
def list_regions(conn: ConnectionDep) -> GeoJSONResponse:
    return GeoJSONResponse(features.list_regions(conn))
