"""Rankings of available plots (with what-if weights) and the comparison of regions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import ConnectionDep
from api.routes.scores import ProfileQuery
from locations import scoring

router = APIRouter(tags=["scoring"])


@router.get("/rankings", summary="Available plots passing the gates, best first; what-if weights")
def rankings(
    conn: ConnectionDep,
    profile: ProfileQuery,
    region: Annotated[str | None, Query(description="Region code, e.g. SI042", max_length=10)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    weights: Annotated[
        str | None,
        Query(description="What-if group weights, e.g. accessibility:50,infrastructure:30 "
                          "(renormalised to 100; nothing is stored)", max_length=500),
    ] = None,
) -> dict[str, Any]:
    scoring.check_profile(conn, profile)
    return scoring.rankings(conn, profile, region=region, limit=limit, weights=weights)


@router.get("/regions/compare", summary="Per region: score distribution, median, best, area above 60")
def compare_regions(conn: ConnectionDep, profile: ProfileQuery) -> dict[str, Any]:
    scoring.check_profile(conn, profile)
    return scoring.compare_regions(conn, profile)
