"""Authorised writes to plots and zones (If-Match required), plot history, bulk plot updates.

The bodies of plot and zone changes are built from the field catalogue (``locations.fields``).
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, create_model
from starlette.concurrency import run_in_threadpool

from api.auth import CurrentAccount, Editor
from api.deps import EngineDep, PlotId, ZoneId
from api.responses import AUTH_ERRORS, WRITE_ERRORS, GeoJSONResponse, error_responses
from api.routes.imports import receive_form
from locations import bulk_updates, features, history, plot_updates
from locations import fields as catalogue
from locations.accounts import EVERYWHERE
from locations.errors import InvalidInput, PreconditionRequired
from locations.values import PlainText

router = APIRouter(tags=["plot updates"])
WRITE = error_responses(*WRITE_ERRORS)

IfMatch = Annotated[
    str | None,
    Header(description='The ETag you read, e.g. "3"; a stale one gives 412, none gives 428'),
]
NOTE = Field(default=None, max_length=2000, description="Why: kept in the audit trail")
EFFECTIVE_DATE = Field(
    default=None,
    description="The day the change happened, when it is recorded later (default today; "
                "not in the future, not before the plot's latest recorded change). "
                "Land-supply monitoring counts the change in this day's month.",
)




def _one_of(values: tuple[str, ...]) -> Any:
    """Text documented as one of ``values``. The field rules refuse any other value (400
    naming the field), as they do for bulk files and the CLI."""
    return Annotated[PlainText, WithJsonSchema({"type": "string", "enum": list(values)})]


def _within(minimum: float, maximum: float) -> Any:
    """A number within the database's bounds: above ``maximum`` refused here (422), below
    ``minimum`` by the field rules (400 naming the field), as it always was."""
    return Annotated[float, Field(le=maximum),
                     WithJsonSchema({"type": "number", "minimum": minimum, "maximum": maximum})]


Use = _one_of(plot_updates.USES)


def _annotation(field: catalogue.Field) -> Any:
    """The request type of a catalogued field."""
    if field.kind == "enum":
        return _one_of(field.choices)
    if field.kind == "number":
        return _within(field.minimum, field.maximum)
    return {"date": dt.date, "bool": bool, "uses": list[Use], "text": PlainText}[field.kind]


def _changes(collection: catalogue.Collection) -> dict[str, Any]:
    """Each editable field of ``collection`` as an optional member of a change's body."""
    return {f.name: (_annotation(f) | None,
                     Field(default=None, description=f.description, max_length=f.max_chars))
            for f in collection.editable}


_PlotFields = create_model("_PlotFields", __config__=ConfigDict(extra="forbid"),
                           **_changes(catalogue.PLOTS))
_ZoneFields = create_model("_ZoneFields", __config__=ConfigDict(extra="forbid"),
                           **_changes(catalogue.ZONES))


class PlotChange(_PlotFields):
    """Fields to change; leave out what stays, send null to clear an optional value."""

    geometry: dict[str, Any] | None = Field(
        default=None, description="New outline: GeoJSON Polygon or MultiPolygon in `crs`"
    )
    crs: PlainText | None = Field(default=None,
                                  description="CRS of `geometry`, default CRS84 (lon/lat)")
    note: PlainText | None = NOTE
    effective_date: dt.date | None = EFFECTIVE_DATE


class NewPlot(PlotChange):
    """A new plot in the zone: its cadastral reference and outline, and any plot field."""

    cadastral_ref: PlainText = Field(min_length=1, max_length=100)
    geometry: dict[str, Any] = Field(description="GeoJSON Polygon or MultiPolygon in `crs`")


class ZoneChange(_ZoneFields):
    """Zone facts, infrastructure and manager contact to change."""

    note: PlainText | None = NOTE


class Note(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: PlainText | None = NOTE


class Retirement(Note):
    effective_date: dt.date | None = EFFECTIVE_DATE


def expected_version(if_match: str | None) -> int:
    """The version named by an If-Match header.

    Raises:
        PreconditionRequired: no header, or '*' (which would overwrite blindly).
        InvalidInput: not an ETag this API hands out.
    """
    if if_match is None or not if_match.strip():
        raise PreconditionRequired(
            'this write needs an If-Match header with the ETag you read, e.g. If-Match: "3"'
        )
    if if_match.strip() == "*":
        raise PreconditionRequired('If-Match: * would overwrite blindly; send the ETag you read')
    match = re.fullmatch(r'\s*(?:W/)?"?(\d{1,9})"?\s*', if_match)
    if match is None:
        raise InvalidInput("If-Match", f"{if_match[:40]!r} is not an ETag of this API, e.g. \"3\"")
    return int(match.group(1))


def _plot_response(conn, plot_id: int, status_code: int = 200) -> GeoJSONResponse:
    # Only an account that may edit the plot gets here, so the plot is within its reach.
    plot = features.get_plot(conn, plot_id, internal=EVERYWHERE)
    headers = {"ETag": f'"{plot["properties"]["version"]}"'}
    if status_code == 201:
        headers["Location"] = f"/plots/{plot_id}"
    return GeoJSONResponse(plot, status_code=status_code, headers=headers)


@router.patch("/plots/{plot_id}", response_class=GeoJSONResponse, summary="Change a plot",
              responses=WRITE)
def patch_plot(
    engine: EngineDep, account: Editor, plot_id: PlotId, change: PlotChange, if_match: IfMatch = None
) -> GeoJSONResponse:
    """Status (checked against the state machine), price, offer, dates, facts, outline."""
    values = change.model_dump(exclude_unset=True)
    note = values.pop("note", None)
    geometry = values.pop("geometry", None)
    crs = values.pop("crs", None)
    effective_date = values.pop("effective_date", None)
    with engine.begin() as conn:
        plot_updates.update_plot(
            conn, account, plot_id, expected_version(if_match), values,
            note=note, geometry=geometry, crs=crs, effective_date=effective_date,
        )
        return _plot_response(conn, plot_id)


@router.post("/plots/{plot_id}/verify", response_class=GeoJSONResponse,
             summary="Confirm a plot's facts unchanged (resets its freshness)",
             responses=WRITE)
def verify_plot(
    engine: EngineDep, account: Editor, plot_id: PlotId, body: Note | None = None,
    if_match: IfMatch = None,
) -> GeoJSONResponse:
    with engine.begin() as conn:
        plot_updates.verify_plot(conn, account, plot_id, expected_version(if_match),
                                 body.note if body else None)
        return _plot_response(conn, plot_id)


@router.post("/plots/{plot_id}/retire", response_class=GeoJSONResponse,
             summary="Retire a plot (soft: kept with its history)",
             responses=WRITE)
def retire_plot(
    engine: EngineDep, account: Editor, plot_id: PlotId, body: Retirement | None = None,
    if_match: IfMatch = None,
) -> GeoJSONResponse:
    with engine.begin() as conn:
        plot_updates.retire_plot(conn, account, plot_id, expected_version(if_match),
                                 body.note if body else None,
                                 effective_date=body.effective_date if body else None)
        return _plot_response(conn, plot_id)


@router.post("/zones/{zone_id}/plots", response_class=GeoJSONResponse, status_code=201,
             summary="Add a plot to a zone (If-Match: the zone's ETag)",
             responses=WRITE)
def create_plot(
    engine: EngineDep, account: Editor, zone_id: ZoneId, new_plot: NewPlot, if_match: IfMatch = None
) -> GeoJSONResponse:
    values = new_plot.model_dump(exclude_unset=True)
    for key in ("note", "geometry", "crs", "cadastral_ref", "effective_date"):
        values.pop(key, None)
    with engine.begin() as conn:
        plot_id = plot_updates.create_plot(
            conn, account, zone_id, expected_version(if_match), new_plot.cadastral_ref,
            new_plot.geometry, crs=new_plot.crs, values=values, note=new_plot.note,
            effective_date=new_plot.effective_date,
        )
        return _plot_response(conn, plot_id, status_code=201)


@router.patch("/zones/{zone_id}", response_class=GeoJSONResponse, summary="Change a zone's facts",
              responses=WRITE)
def patch_zone(
    engine: EngineDep, account: Editor, zone_id: ZoneId, change: ZoneChange, if_match: IfMatch = None
) -> GeoJSONResponse:
    values = change.model_dump(exclude_unset=True)
    note = values.pop("note", None)
    with engine.begin() as conn:
        plot_updates.update_zone(conn, account, zone_id, expected_version(if_match), values,
                                 note=note)
        zone = features.get_zone(conn, zone_id)
    return GeoJSONResponse(zone, headers={"ETag": f'"{zone["properties"]["version"]}"'})


@router.get("/plots/{plot_id}/history", summary="A plot's audit trail, oldest first",
            responses=error_responses(*AUTH_ERRORS, 403, 404))
def plot_history(engine: EngineDep, account: CurrentAccount, plot_id: PlotId) -> dict[str, Any]:
    with engine.connect() as conn:
        return history.plot_history(conn, account, plot_id)


#: The bulk file as OpenAPI states it; the route reads the body itself, after the caller.
_BULK_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"], "properties": {"file": {
        "type": "string", "contentMediaType": "application/octet-stream",
        "description": "CSV or XLSX keyed by cadastral_ref"}}}}}}}


@router.post("/imports/plot-updates", summary="Bulk plot updates from CSV or XLSX",
             responses=error_responses(*AUTH_ERRORS, 403, 412), openapi_extra=_BULK_BODY)
async def import_plot_updates(
    request: Request,
    engine: EngineDep,
    account: Editor,
    dry_run: Annotated[bool, Query(description="Only report what would change")] = False,
    note: Annotated[PlainText | None, Query(max_length=2000, description="Audit note")] = None,
) -> dict[str, Any]:
    """A dry run reports each row's changes and problems; applying is all or nothing.

    The caller's token and role are checked before the body is read (an anonymous upload
    is refused at once), and the file streams to a folder removed on every path."""
    folder = Path(await run_in_threadpool(tempfile.mkdtemp, prefix="locations-bulk-"))
    try:
        fields, upload = await receive_form(request, folder, suffixes=None)
        if upload is None:
            raise InvalidInput("file", "send the CSV or XLSX as the form field 'file'")
        content = await run_in_threadpool(upload.path.read_bytes)
        rows = await run_in_threadpool(bulk_updates.read_table, content, upload.name)
        del content  # the rows are what the update needs; the bytes can go now
    finally:
        await run_in_threadpool(shutil.rmtree, folder, True)

    def write() -> dict[str, Any]:
        with engine.begin() as conn:
            if dry_run:
                return bulk_updates.plan_updates(conn, account, rows)
            return bulk_updates.apply_updates(conn, account, rows, note=note or upload.name)

    return await run_in_threadpool(write)
