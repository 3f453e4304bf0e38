"""Health: is the database reachable, which PostGIS does it run, and how its replicas stand."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import EngineDep
from api.errors import OUTAGE_DETAIL, RETRY_AFTER_SECONDS, logger
from locations import replicas
from locations.db import check_connection
from locations.errors import DatabaseUnavailable, SchemaNotReady

router = APIRouter(tags=["health"])


@router.get("/health", summary="Database reachable, PostGIS version, replicas and their lag")
def health(engine: EngineDep) -> JSONResponse:
    """``nodes`` lists the primary and each read replica: its role, whether it is reachable,
    its lag in seconds and whether reads go to it (healthy), as of its last check (every
    second). With the primary down and a replica healthy, reads go on: the status is then
    ``degraded`` (200), and writes answer 503."""
    pool = replicas.pool_for(engine)
    try:
        postgis = check_connection(engine)
    except DatabaseUnavailable as exc:
        if pool is not None and any(r.healthy(pool.max_lag_s) for r in pool.replicas):
            logger.warning("health: primary unavailable, replicas serve reads: %s", exc)
            return JSONResponse({"status": "degraded", "database": "primary unavailable",
                                 "nodes": _nodes(pool, primary_reachable=False)})
        detail = str(exc)
        if not isinstance(exc, SchemaNotReady):
            # The reason names host and port: the log keeps it, the client learns the fact.
            logger.warning("health: %s", detail)
            detail = OUTAGE_DETAIL
        return JSONResponse({"status": "unavailable", "detail": detail}, status_code=503,
                            headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    answer = {"status": "ok", "database": "reachable", "postgis": postgis}
    if pool is not None:
        answer["nodes"] = _nodes(pool, primary_reachable=True)
    return JSONResponse(answer)


@router.get("/health/live", summary="The process answers (for orchestrators; no database)")
async def live() -> dict:
    return {"status": "alive"}


@router.get("/health/ready", summary="Ready to serve: the database answers with its schema")
def ready(engine: EngineDep) -> JSONResponse:
    """200 when the primary answers with the schema this version needs, else 503: an
    orchestrator sends no traffic until then, and stops while the database is away."""
    try:
        check_connection(engine)
    except DatabaseUnavailable:
        return JSONResponse({"status": "not ready", "detail": OUTAGE_DETAIL}, status_code=503,
                            headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    return JSONResponse({"status": "ready"})


def _nodes(pool: replicas.ReadPool, primary_reachable: bool) -> list[dict]:
    return [{"name": "primary", "role": "primary", "reachable": primary_reachable,
             "lag_s": 0.0, "healthy": primary_reachable, "reads": pool.primary_reads},
            *pool.states()]
