"""Health: is the database reachable, and which PostGIS does it run."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import EngineDep
from api.errors import OUTAGE_DETAIL, RETRY_AFTER_SECONDS, logger
from locations.db import check_connection
from locations.errors import DatabaseUnavailable, SchemaNotReady

router = APIRouter(tags=["health"])


@router.get("/health", summary="Database reachable, PostGIS version")
def health(engine: EngineDep) -> JSONResponse:
    try:
        postgis = check_connection(engine)
    except DatabaseUnavailable as exc:
        detail = str(exc)
        if not isinstance(exc, SchemaNotReady):
            # The reason names host and port: the log keeps it, the client learns the fact.
            logger.warning("health: %s", detail)
            detail = OUTAGE_DETAIL
        return JSONResponse({"status": "unavailable", "detail": detail}, status_code=503,
                            headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    return JSONResponse({"status": "ok", "database": "reachable", "postgis": postgis})
