"""Plots: search with combined filters and cursor paging (GET and POST), downloads, one plot by id."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError

from api.auth import OptionalAccount
from api.deps import ConnectionDep, EngineDep, PlotId, read_connection
from api.responses import AUTH_ERRORS, DOWNLOADS, OPTIONAL_TOKEN, GeoJSONResponse, error_responses
from locations import features, formats, search
from locations.errors import InvalidInput

# Every plot route takes an optional bearer token: a wrong one is refused, never anonymous.
router = APIRouter(tags=["plots"], responses=error_responses(*AUTH_ERRORS))

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
