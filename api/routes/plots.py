"""Plots: search with combined filters and cursor paging (GET and POST), downloads, one plot
by id; its authorised writes (If-Match required), a new plot in a zone, its audit trail, and
bulk updates from a file.

The reads are documented under "plots", the writes under "plot updates": ``router`` and
``updates``. The bodies of the writes come from the field catalogue (``api.changes``).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from api.auth import CurrentAccount, Editor, OptionalAccount
from api.changes import WRITE, IfMatch, NewPlot, Note, PlotChange, Retirement, expected_version
from api.deps import ConnectionDep, EngineDep, PlotId, ZoneId, read_connection
from api.responses import AUTH_ERRORS, DOWNLOADS, OPTIONAL_TOKEN, GeoJSONResponse, error_responses
from api.routes.imports import receive_form
from locations import bulk_updates, features, formats, history, plot_updates, search, transactions
from locations.accounts import EVERYWHERE
from locations.errors import InvalidInput
from locations.values import PlainText

# Every plot read takes an optional bearer token: a wrong one is refused, never anonymous.
router = APIRouter(tags=["plots"], responses=error_responses(*AUTH_ERRORS))
updates = APIRouter(tags=["plot updates"])

#: Query parameters of GET /plots; anything else is refused, so a typo never widens a search.
QUERY_PARAMETERS = (set(search.PlotFilter.model_fields) - {"geometry", "within_m", "bbox_crs"}) | {
    "bbox-crs", "f"
}


class PlotSearch(search.PlotFilter):
    """The body of POST /plots/search: the same filters as GET /plots, plus a geometry."""


def _reply(page: search.PlotPage, fmt: formats.Format, self_link: dict[str, Any],
           next_link: dict[str, Any] | None) -> Response:
    links = [self_link] + ([next_link] if next_link else [])
    if fmt.name == "geojson":
        return Response(page.geojson(links), media_type=fmt.media_type)
    headers = {"Content-Disposition": f'attachment; filename="{formats.file_name("plots", fmt)}"'}
    if next_link and "body" not in next_link:
        headers["Link"] = f'<{next_link["href"]}>; rel="next"'
    collection = page.collection()
    collection.pop("next_cursor")
    return Response(formats.render(collection, fmt), media_type=fmt.media_type, headers=headers)


def query_parameter_docs() -> list[dict[str, Any]]:
    """OpenAPI entries for GET /plots's query string, from PlotFilter's own JSON schema."""
    properties = search.PlotFilter.model_json_schema()["properties"]
    documented = []
    for field, schema in properties.items():
        name = "bbox-crs" if field == "bbox_crs" else field
        if name not in QUERY_PARAMETERS:
            continue
        schema = {k: v for k, v in schema.items() if k != "title"}
        if field == "bbox":
            schema = {"type": "string", "description": "minx,miny,maxx,maxy (CRS84 unless bbox-crs)"}
        documented.append({"name": name, "in": "query", "required": False,
                           "description": schema.pop("description", ""), "schema": schema,
                           "explode": True})
    documented.append({"name": "f", "in": "query", "required": False, "schema": {"type": "string"},
                       "description": "geojson (default), csv, gpkg or xlsx; or use Accept"})
    return documented


#: Filters given once per value (``status=available&status=reserved``).
LIST_PARAMETERS = {name for name, field in search.PlotFilter.model_fields.items()
                   if getattr(field.annotation, "__origin__", None) is list} - {"bbox"}


def filters_from_query(request: Request, also: frozenset[str] = frozenset()) -> search.PlotFilter:
    """The query string of GET /plots as a PlotFilter (``also``: further parameters the
    route reads itself, e.g. an export's ``lang``).

    Validated by the model in one call rather than by FastAPI parameter by parameter:
    with some thirty parameters that took about 1.5 ms of every search. Errors are
    still 400/422 naming the parameter.
    """
    query = request.query_params
    allowed = QUERY_PARAMETERS | also
    unknown = sorted(set(query) - allowed)
    if unknown:
        raise InvalidInput(unknown[0], f"unknown parameter; allowed: {', '.join(sorted(allowed))}")
    values: dict[str, Any] = {}
    for name in query:
        if name == "f" or name in also:
            continue
        if name in LIST_PARAMETERS:
            values[name] = query.getlist(name)
        elif name == "bbox":
            values[name] = search.parse_bbox(query[name])
        else:
            values["bbox_crs" if name == "bbox-crs" else name] = query[name]
    try:
        return search.PlotFilter.model_validate(values)
    except ValidationError as exc:
        raise RequestValidationError(
            [error | {"loc": ("query", *error["loc"])} for error in exc.errors()]) from None


@router.get("/plots", response_class=GeoJSONResponse, summary="Search plots", responses=DOWNLOADS,
            openapi_extra={"parameters": query_parameter_docs()} | OPTIONAL_TOKEN)
def search_plots(request: Request, engine: EngineDep, account: OptionalAccount) -> Response:
    """Plots meeting every filter given (AND), one page at a time: follow the ``next`` link.
    ``count=true`` adds ``numberMatched`` (it reads every match)."""
    filters = filters_from_query(request)
    fmt = formats.choose_format(request.query_params.get("f"), request.headers.get("accept"))
    internal = account.internal_reach if account else None
    # The connection is taken here, in the endpoint's worker thread: as a dependency it
    # would cost two more trips through the thread pool on every search.
    with read_connection(engine) as conn:
        page = search.search_plot_page(conn, filters, internal=internal)
    self_link = {"rel": "self", "href": str(request.url), "type": fmt.media_type}
    next_link = None
    if page.next_cursor:
        href = str(request.url.include_query_params(cursor=page.next_cursor))
        next_link = {"rel": "next", "href": href, "type": fmt.media_type}
    return _reply(page, fmt, self_link, next_link)


@router.post("/plots/search", response_class=GeoJSONResponse, summary="Search plots (JSON body)",
             responses=DOWNLOADS, openapi_extra=OPTIONAL_TOKEN)
def search_plots_by_body(
    request: Request,
    engine: EngineDep,
    account: OptionalAccount,
    body: PlotSearch,
    f: Annotated[str | None, Query(description="geojson, csv, gpkg or xlsx")] = None,
) -> Response:
    """The filters of GET /plots as JSON, plus ``geometry`` (GeoJSON, CRS84): plots within it,
    or within ``within_m`` metres of it. The next page is the same body with ``cursor`` set
    from the ``next`` link's ``body``."""
    fmt = formats.choose_format(f, request.headers.get("accept"))
    internal = account.internal_reach if account else None
    with read_connection(engine) as conn:
        page = search.search_plot_page(conn, body, internal=internal)
    self_link = {"rel": "self", "href": str(request.url), "type": fmt.media_type, "method": "POST"}
    next_link = None
    if page.next_cursor:
        next_body = body.model_dump(exclude_defaults=True) | {"cursor": page.next_cursor}
        next_link = {"rel": "next", "href": str(request.url), "type": fmt.media_type,
                     "method": "POST", "body": next_body}
    return _reply(page, fmt, self_link, next_link)


@router.get("/plots/{plot_id}", response_class=GeoJSONResponse, summary="One plot",
            responses=error_responses(404), openapi_extra=OPTIONAL_TOKEN)
def get_plot(conn: ConnectionDep, account: OptionalAccount, plot_id: PlotId) -> GeoJSONResponse:
    internal = account.internal_reach if account else None
    plot = features.get_plot(conn, plot_id, internal=internal)
    return GeoJSONResponse(plot, headers={"ETag": f'"{plot["properties"]["version"]}"'})


# -- writes ---------------------------------------------------------------------------------------

def written_plot(conn, plot_id: int, status_code: int = 200) -> GeoJSONResponse:
    """The plot as a write left it, with its new ETag (and its address when created)."""
    # Only an account that may edit the plot gets here, so the plot is within its reach.
    plot = features.get_plot(conn, plot_id, internal=EVERYWHERE)
    headers = {"ETag": f'"{plot["properties"]["version"]}"'}
    if status_code == 201:
        headers["Location"] = f"/plots/{plot_id}"
    return GeoJSONResponse(plot, status_code=status_code, headers=headers)


@updates.patch("/plots/{plot_id}", response_class=GeoJSONResponse, summary="Change a plot",
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
    def write(conn: Connection) -> GeoJSONResponse:
        plot_updates.update_plot(
            conn, account, plot_id, expected_version(if_match), values,
            note=note, geometry=geometry, crs=crs, effective_date=effective_date,
        )
        return written_plot(conn, plot_id)

    return transactions.write(engine, write)


@updates.post("/plots/{plot_id}/verify", response_class=GeoJSONResponse,
              summary="Confirm a plot's facts unchanged (resets its freshness)",
              responses=WRITE)
def verify_plot(
    engine: EngineDep, account: Editor, plot_id: PlotId, body: Note | None = None,
    if_match: IfMatch = None,
) -> GeoJSONResponse:
    def write(conn: Connection) -> GeoJSONResponse:
        plot_updates.verify_plot(conn, account, plot_id, expected_version(if_match),
                                 body.note if body else None)
        return written_plot(conn, plot_id)

    return transactions.write(engine, write)


@updates.post("/plots/{plot_id}/retire", response_class=GeoJSONResponse,
              summary="Retire a plot (soft: kept with its history)",
              responses=WRITE)
def retire_plot(
    engine: EngineDep, account: Editor, plot_id: PlotId, body: Retirement | None = None,
    if_match: IfMatch = None,
) -> GeoJSONResponse:
    def write(conn: Connection) -> GeoJSONResponse:
        plot_updates.retire_plot(conn, account, plot_id, expected_version(if_match),
                                 body.note if body else None,
                                 effective_date=body.effective_date if body else None)
        return written_plot(conn, plot_id)

    return transactions.write(engine, write)


@updates.post("/zones/{zone_id}/plots", response_class=GeoJSONResponse, status_code=201,
              summary="Add a plot to a zone (If-Match: the zone's ETag)",
              responses=WRITE)
def create_plot(
    engine: EngineDep, account: Editor, zone_id: ZoneId, new_plot: NewPlot, if_match: IfMatch = None
) -> GeoJSONResponse:
    values = new_plot.model_dump(exclude_unset=True)
    for key in ("note", "geometry", "crs", "cadastral_ref", "effective_date"):
        values.pop(key, None)
    def write(conn: Connection) -> GeoJSONResponse:
        plot_id = plot_updates.create_plot(
            conn, account, zone_id, expected_version(if_match), new_plot.cadastral_ref,
            new_plot.geometry, crs=new_plot.crs, values=values, note=new_plot.note,
            effective_date=new_plot.effective_date,
        )
        return written_plot(conn, plot_id, status_code=201)

    return transactions.write(engine, write)


@updates.get("/plots/{plot_id}/history", summary="A plot's audit trail, oldest first",
             responses=error_responses(*AUTH_ERRORS, 403, 404))
def plot_history(engine: EngineDep, account: CurrentAccount, plot_id: PlotId) -> dict[str, Any]:
    with engine.connect() as conn:
        return history.plot_history(conn, account, plot_id)


#: The bulk file as OpenAPI states it; the route reads the body itself, after the caller.
_BULK_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"], "properties": {"file": {
        "type": "string", "contentMediaType": "application/octet-stream",
        "description": "CSV or XLSX keyed by cadastral_ref"}}}}}}}


@updates.post("/imports/plot-updates", summary="Bulk plot updates from CSV or XLSX",
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
        _fields, upload = await receive_form(request, folder, suffixes=None)
        if upload is None:
            raise InvalidInput("file", "send the CSV or XLSX as the form field 'file'")
        content = await run_in_threadpool(upload.path.read_bytes)
        rows = await run_in_threadpool(bulk_updates.read_table, content, upload.name)
        del content  # the rows are what the update needs; the bytes can go now
    finally:
        await run_in_threadpool(shutil.rmtree, folder, True)

    def write(conn: Connection) -> dict[str, Any]:
        if dry_run:
            return bulk_updates.plan_updates(conn, account, rows)
        return bulk_updates.apply_updates(conn, account, rows, note=note or upload.name)

    return await run_in_threadpool(transactions.write, engine, write)
