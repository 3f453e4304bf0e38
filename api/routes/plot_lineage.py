"""Splitting a plot along a line and merging neighbouring plots (``locations.plot_lineage``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection

from api.auth import Editor
from api.changes import WRITE, IfMatch, expected_version
from api.deps import EngineDep, PlotId
from api.responses import GeoJSONResponse
from api.routes.plots import written_plot
from locations import features, plot_lineage, transactions
from locations.accounts import EVERYWHERE
from locations.limits import MAX_LINEAGE_PLOTS, MAX_REFERENCE_CHARS
from locations.values import BIGINT_MAX, PlainText

router = APIRouter(tags=["plot updates"])
REASON = Field(min_length=1, max_length=2000,
               description="Why (a sale, a new survey ...): kept in the audit trail")
Reference = Field(min_length=1, max_length=MAX_REFERENCE_CHARS)


class Split(BaseModel):
    """A line across the plot, and the cadastral reference of each part it cuts off."""

    model_config = ConfigDict(extra="forbid")

    line: dict[str, Any] = Field(
        description="GeoJSON LineString (or MultiLineString) in `crs`, crossing the plot "
                    "from one edge to another")
    crs: PlainText | None = Field(default=None, description="CRS of `line`, default CRS84")
    cadastral_refs: list[PlainText] = Field(
        min_length=2, max_length=MAX_LINEAGE_PLOTS,
        description="One new cadastral reference per part, largest part first")
    note: PlainText = REASON


class MergedPlot(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int = Field(ge=1, le=BIGINT_MAX)
    version: int = Field(ge=1, le=2**31 - 1, description="The plot's ETag as you read it")


class Merge(BaseModel):
    """Neighbouring plots of one zone (sharing an edge) to become one plot."""

    model_config = ConfigDict(extra="forbid")

    plots: list[MergedPlot] = Field(min_length=2, max_length=MAX_LINEAGE_PLOTS)
    cadastral_ref: PlainText = Reference
    note: PlainText = REASON


@router.post("/plots/{plot_id}/split", response_class=GeoJSONResponse, status_code=201,
             summary="Split a plot along a line into parts (the plot is retired)",
             responses=WRITE)
def split_plot(engine: EngineDep, account: Editor, plot_id: PlotId, split: Split,
               if_match: IfMatch = None) -> GeoJSONResponse:
    """The parts cover the plot exactly and take over its facts; each event of the history
    names the plots on its other side ("split into 123, 124", "split from 122")."""
    def write(conn: Connection) -> list[dict]:
        part_ids = plot_lineage.split_plot(
            conn, account, plot_id, expected_version(if_match), split.line, split.cadastral_refs,
            split.note, crs=split.crs)
        return [features.get_plot(conn, part, internal=EVERYWHERE) for part in part_ids]

    parts = transactions.write(engine, write)
    return GeoJSONResponse({"type": "FeatureCollection", "features": parts}, status_code=201)


@router.post("/plots/merge", response_class=GeoJSONResponse, status_code=201,
             summary="Merge neighbouring plots of a zone into one (they are retired)",
             responses=WRITE)
def merge_plots(engine: EngineDep, account: Editor, merge: Merge) -> GeoJSONResponse:
    """Each plot names the version you read (as If-Match does for one plot). The new plot
    takes over the facts the plots agree on; their status must be the same."""
    def write(conn: Connection) -> GeoJSONResponse:
        new_id = plot_lineage.merge_plots(
            conn, account, [(plot.id, plot.version) for plot in merge.plots],
            merge.cadastral_ref, merge.note)
        return written_plot(conn, new_id, status_code=201)

    return transactions.write(engine, write)
