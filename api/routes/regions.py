"""Regions of every level (country, NUTS-1/2/3, districts) as GeoJSON, and each region's
land supply over time."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from api.deps import ConnectionDep
from api.responses import GeoJSONResponse, error_responses
from locations import features, land_supply
from locations.vocabulary import REGION_LEVEL

router = APIRouter(tags=["regions"])

Level = Literal[REGION_LEVEL.codes]


@router.get("/regions", response_class=GeoJSONResponse,
            summary="Regions of every level with their level, parent and boundaries")
def list_regions(
    conn: ConnectionDep,
    level: Annotated[Level | None, Query(description="Only regions of this level")] = None,
) -> GeoJSONResponse:
    return GeoJSONResponse(features.list_regions(conn, level=level))


class AvailableByTier(BaseModel):
    """Available area (status available) by readiness tier, m²."""

    registered: float
    serviced: float
    shovel_ready: float
    unknown: float = Field(description="Plots with no readiness recorded")


class SupplyMonth(BaseModel):
    month: dt.date = Field(description="First day of the month; stocks are at its end")
    available_m2: AvailableByTier
    available_total_m2: float
    on_market_m2: float = Field(description="Available, reserved or under negotiation")
    opening_stock_m2: float = Field(
        description="Area on the market brought by municipalities' first loads this month")
    new_supply_m2: float = Field(
        description="Net area entering the market or taken from outside it (new plots after "
                    "the first load, plots published again), less area leaving it "
                    "(withdrawn, retired)")
    take_up_m2: float = Field(
        description="Net area entering sold or occupied, less reversals (can be negative)")
    reversed_m2: float = Field(description="Area whose sale was reversed this month")
    years_of_supply: float | None = Field(
        description="Available area over the average annual take-up of the last 3 years; "
                    "null when not determinable")
    years_of_supply_reason: str | None = Field(
        description="Why not determinable: no_take_up, short_history (under 12 months of "
                    "trail), no_data")


class SupplySummary(BaseModel):
    as_of: dt.date
    available_m2: AvailableByTier
    available_total_m2: float
    on_market_m2: float
    take_up_last_12_months_m2: float
    new_supply_last_12_months_m2: float
    take_up_averaged_m2: float
    months_averaged: int
    average_annual_take_up_m2: float | None
    years_of_supply: float | None
    years_of_supply_reason: str | None
    opening_stock_m2: float
    trail_start: dt.date | None = Field(description="First month of the region's audit trail")


class SupplySeries(BaseModel):
    region: str
    region_names: list[str]
    start: dt.date
    end: dt.date
    months: list[SupplyMonth]
    summary: SupplySummary


RegionCode = Annotated[str, Path(
    description="Region code of any level, any case: SI042 Gorenjska, AT22 all of Styria, "
                "AT-D-601 the district Graz (Stadt)",
    pattern=r"^[A-Za-z]{2}([0-9A-Za-z]{1,3}|-[A-Za-z]-[0-9A-Za-z]{1,12})?$", max_length=18)]
_MONTH = r"^\d{4}-\d{1,2}$"


@router.get("/regions/{code}/supply", response_model=SupplySeries,
            summary="Land supply per month from the audit trail: available area by readiness, "
                    "take-up, new supply, years of supply",
            responses=error_responses(400, 404))
def region_supply(
    conn: ConnectionDep,
    code: RegionCode,
    start: Annotated[str | None, Query(
        alias="from", description="First month, e.g. 2022-01", pattern=_MONTH, max_length=7)] = None,
    end: Annotated[str | None, Query(
        alias="to", description="Last month, e.g. 2025-12", pattern=_MONTH, max_length=7)] = None,
) -> dict:
    """Each change counts in the month of its effective date (the day it happened), whoever
    recorded it and however; a municipality's first load is opening stock. The months run
    from ``from`` (default: the region's first load) to ``to`` (default: this month), at
    most 240. See the README's *Land-supply monitoring* for every term."""
    series = land_supply.supply_series(
        conn, code, land_supply.parse_month("from", start), land_supply.parse_month("to", end))
    return series.as_dict()
