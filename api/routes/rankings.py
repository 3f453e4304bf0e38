"""Rankings of available plots (with what-if weights) and of zones, and the comparison of
regions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from api.deps import ConnectionDep
from api.routes.scores import ProfileQuery
from locations import rankings as score_rankings
from locations import regions, scoring, search, zone_search

router = APIRouter(tags=["scoring"])


# The answers are plain JSON values (str, int, float, bool, None, lists and dicts, as the
# driver reads them): sent as JSONResponse, they skip FastAPI's jsonable_encoder, which walked
# every value of a ranking's 100 rows in Python (2-5 ms of a 15-20 ms answer at a million
# plots, more than json.dumps itself). The documented answer stays an object.
@router.get("/rankings", response_model=dict[str, Any],
            summary="Available plots passing the gates, best first; what-if weights")
def rankings(
    conn: ConnectionDep,
    profile: ProfileQuery,
    region: Annotated[str | None, Query(
        description="Region code of any level, any case: SI042, AT22 (Styria), AT-D-601",
        max_length=20)] = None,
    kind: Annotated[list[search.ZoneKind] | None, Query(description="Zone kind (zones only)")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    weights: Annotated[
        str | None,
        Query(description="What-if group weights, e.g. accessibility:50,infrastructure:30 "
                          "(renormalised to 100; nothing is stored)", max_length=500),
    ] = None,
) -> JSONResponse:
    """``plots``: available plots passing the gates, best first (``weights``: a what-if).
    ``zones``: the zones of the region, by their median plot score of the stored scores
    (a what-if reorders plots only), with their best plot, available area and occupancy."""
    scoring.check_profile(conn, profile)
    # The region and the run are read once for both parts (each read is a round trip).
    selection = regions.resolve_one(conn, region)
    run = score_rankings.ranking_run(conn, profile)
    ranking = score_rankings.rankings(conn, profile, region=selection, limit=limit,
                                      weights=weights, run=run)
    zones = zone_search.zone_ranking(
        conn, zone_search.ZoneFilter(region=list(selection.codes) if selection else [],
                                     kind=kind or [], profile=profile, sort="-score"),
        limit=limit, count=False, run=run, selection=selection)
    ranking["zones"] = zones["zones"]
    return JSONResponse(ranking)


@router.get("/regions/compare", response_model=dict[str, Any],
            summary="Per region: score distribution, median, best, area above 60")
def compare_regions(
    conn: ConnectionDep,
    profile: ProfileQuery,
    region: Annotated[list[Annotated[str, Query(max_length=20)]] | None, Query(
        description="Regions to compare, of any level (AT22 is all of Styria); "
                    "default: every NUTS-3 region", max_length=50)] = None,
) -> dict[str, Any]:
    scoring.check_profile(conn, profile)
    return score_rankings.compare_regions(conn, profile, codes=region)
