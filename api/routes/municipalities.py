"""Municipalities as GeoJSON."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ConnectionDep
from api.responses import GeoJSONResponse
from locations import features

router = APIRouter(tags=["municipalities"])


@router.get("/municipalities", response_class=GeoJSONResponse, summary="Municipalities")
def list_municipalities(
    conn: ConnectionDep,
    region: Annotated[str | None, Query(description="Region code, e.g. SI042")] = None,
) -> GeoJSONResponse:
    return GeoJSONResponse(features.list_municipalities(conn, region=region))
