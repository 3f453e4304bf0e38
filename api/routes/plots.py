"""Plots: one plot by id (search comes with the search module)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ConnectionDep
from api.responses import GeoJSONResponse
from locations import features

router = APIRouter(tags=["plots"])


@router.get("/plots/{plot_id}", response_class=GeoJSONResponse, summary="One plot")
def get_plot(conn: ConnectionDep, plot_id: int) -> GeoJSONResponse:
    plot = features.get_plot(conn, plot_id)
    return GeoJSONResponse(plot, headers={"ETag": f'"{plot["properties"]["version"]}"'})
