"""Agencies' figures: a region's dashboard (any level) and two to four regions side by side."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from api.deps import ConnectionDep
from api.responses import error_responses
from locations import dashboard

router = APIRouter(tags=["dashboard"])

RegionCode = Annotated[str, Path(description="Region code or NUTS prefix: SI042 Gorenjska, "
                                             "AT22 all of Styria", max_length=10)]
Profiles = Annotated[list[str] | None, Query(
    description="Score distributions of these profiles (default: every scored one)",
    max_length=10)]


Month = Annotated[str | None, Query(description="Land supply from/to this month, 2025-01 "
                                             "(default: the last 36 months)", max_length=7)]


def _profiles(profile: list[str] | None) -> list[str] | None:
    return list(dict.fromkeys(profile)) if profile else None


@router.get("/dashboard/{region}", summary="A region's figures: land, occupancy, freshness, scores",
            responses=error_responses(400, 404))
def region_dashboard(conn: ConnectionDep, region: RegionCode, profile: Profiles = None,
                     from_: Annotated[Month, Query(alias="from")] = None,
                     to: Month = None) -> dict[str, Any]:
    """Plots and area by status, available area by readiness, occupancy (area sold or
    occupied over all plot area), brownfield share, freshness (live plots verified in the
    last 12 months) and, per profile, the distribution of the ranked plots' scores with the
    standard version they are by; per inhabitant only where every municipality's
    population is known; ``land_supply``: the monthly series from the audit trail (as
    ``GET /regions/{code}/supply``) for the period."""
    start, end = dashboard.parse_period(from_, to)
    return dashboard.region_figures(conn, region, profiles=_profiles(profile), start=start,
                                    end=end)


@router.get("/comparison", summary="Two to four regions side by side, differences in words",
            responses=error_responses(400, 404))
def compare(conn: ConnectionDep,
            region: Annotated[list[str], Query(description="2 to 4 region codes or NUTS "
                                                           "prefixes", max_length=4)],
            profile: Profiles = None,
            from_: Annotated[Month, Query(alias="from")] = None,
            to: Month = None) -> dict[str, Any]:
    """Each region's dashboard figures on the same standard version, and the differences
    that matter: area ratios (1.5x or more), shares 10 points apart, median scores 5 points
    apart."""
    start, end = dashboard.parse_period(from_, to)
    return dashboard.compare(conn, region, profiles=_profiles(profile), start=start, end=end)
