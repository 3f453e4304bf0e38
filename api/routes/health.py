"""Health: is the database reachable, and which PostGIS does it run."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import EngineDep
from locations.db import check_connection
from locations.errors import DatabaseUnavailable

router = APIRouter(tags=["health"])


@router.get("/health", summary="Database reachable, PostGIS version")
def health(engine: EngineDep) -> JSONResponse:
    try:
        postgis = check_connection(engine)
    except DatabaseUnavailable as exc:
        return JSONResponse({"status": "unavailable", "detail": str(exc)}, status_code=503)
    return JSONResponse({"status": "ok", "database": "reachable", "postgis": postgis})
