"""Plots: search with combined filters and cursor paging (GET and POST), downloads, one plot by id."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.auth import OptionalAccount
from api.deps import ConnectionDep
from api.responses import GeoJSONResponse
from locations import features, formats, search
from locations.errors import InvalidInput

router = APIRouter(tags=["plots"])

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


@router.get("/plots", response_class=GeoJSONResponse, summary="Search plots")
def search_plots(
    request: Request,
    conn: ConnectionDep,
    account: OptionalAccount,
    region: Annotated[list[str] | None, Query(description="Region code or NUTS prefix (AT22 = Styria)")] = None,
    municipality: Annotated[list[str] | None, Query(description="Municipality name or id")] = None,
    zone: Annotated[list[int] | None, Query(description="Zone id")] = None,
    status: Annotated[list[search.Status] | None, Query(description="Any of these statuses")] = None,
    min_area_m2: Annotated[float | None, Query(ge=0)] = None,
    max_area_m2: Annotated[float | None, Query(ge=0)] = None,
    max_price_eur_m2: Annotated[float | None, Query(ge=0)] = None,
    use: Annotated[list[search.Use] | None, Query(description="Uses the plot must all allow")] = None,
    readiness: Annotated[search.Readiness | None, Query(description="Minimum readiness")] = None,
    ownership: Annotated[list[search.Ownership] | None, Query()] = None,
    brownfield: bool | None = None,
    min_power_mw: Annotated[float | None, Query(ge=0)] = None,
    broadband: Annotated[search.Broadband | None, Query(description="Minimum broadband")] = None,
    gas: bool | None = None,
    rail_siding: bool | None = None,
    max_motorway_km: Annotated[float | None, Query(ge=0)] = None,
    max_airport_km: Annotated[float | None, Query(ge=0)] = None,
    max_rail_km: Annotated[float | None, Query(ge=0, description="To the nearest rail station")] = None,
    max_rail_freight_km: Annotated[float | None, Query(ge=0)] = None,
    max_public_transport_km: Annotated[float | None, Query(ge=0)] = None,
    bbox: Annotated[str | None, Query(description="minx,miny,maxx,maxy (CRS84 unless bbox-crs)")] = None,
    bbox_crs: Annotated[str | None, Query(alias="bbox-crs")] = None,
    sort: Annotated[search.Sort, Query(description="Sort key; '-' for descending")] = "id",
    profile: Annotated[str | None, Query(description="With sort=score: the scoring profile",
                                         pattern=r"^[a-z][a-z_]*$", max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=search.MAX_LIMIT)] = search.DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(description="From the 'next' link")] = None,
    count: Annotated[bool, Query(description="Count every match (costs a full scan)")] = False,
    distances: Annotated[bool, Query(description="Return distances to infrastructure")] = False,
    f: Annotated[str | None, Query(description="geojson, csv, gpkg or xlsx")] = None,
) -> Response:
    unknown = sorted(set(request.query_params) - QUERY_PARAMETERS)
    if unknown:
        raise InvalidInput(unknown[0], f"unknown parameter; allowed: {', '.join(sorted(QUERY_PARAMETERS))}")
    fmt = formats.choose_format(f, request.headers.get("accept"))
    filters = search.PlotFilter(
        region=region or [], municipality=municipality or [], zone=zone or [], status=status or [],
        min_area_m2=min_area_m2, max_area_m2=max_area_m2, max_price_eur_m2=max_price_eur_m2,
        use=use or [], readiness=readiness, ownership=ownership or [], brownfield=brownfield,
        min_power_mw=min_power_mw, broadband=broadband, gas=gas, rail_siding=rail_siding,
        max_motorway_km=max_motorway_km, max_airport_km=max_airport_km, max_rail_km=max_rail_km,
        max_rail_freight_km=max_rail_freight_km, max_public_transport_km=max_public_transport_km,
        bbox=search.parse_bbox(bbox) if bbox is not None else None, bbox_crs=bbox_crs,
        sort=sort, profile=profile, limit=limit, cursor=cursor, count=count, distances=distances,
    )
    internal = account is not None and account.sees_internal_fields
    page = search.search_plot_page(conn, filters, internal=internal)
    self_link = {"rel": "self", "href": str(request.url), "type": fmt.media_type}
    next_link = None
    if page.next_cursor:
        href = str(request.url.include_query_params(cursor=page.next_cursor))
        next_link = {"rel": "next", "href": href, "type": fmt.media_type}
    return _reply(page, fmt, self_link, next_link)


@router.post("/plots/search", response_class=GeoJSONResponse, summary="Search plots (JSON body)")
def search_plots_by_body(
    request: Request,
    conn: ConnectionDep,
    account: OptionalAccount,
    body: PlotSearch,
    f: Annotated[str | None, Query(description="geojson, csv, gpkg or xlsx")] = None,
) -> Response:
    """The filters of GET /plots as JSON, plus ``geometry`` (GeoJSON, CRS84): plots within it,
    or within ``within_m`` metres of it. The next page is the same body with ``cursor`` set
    from the ``next`` link's ``body``."""
    fmt = formats.choose_format(f, request.headers.get("accept"))
    internal = account is not None and account.sees_internal_fields
    page = search.search_plot_page(conn, body, internal=internal)
    self_link = {"rel": "self", "href": str(request.url), "type": fmt.media_type, "method": "POST"}
    next_link = None
    if page.next_cursor:
        next_body = body.model_dump(exclude_defaults=True) | {"cursor": page.next_cursor}
        next_link = {"rel": "next", "href": str(request.url), "type": fmt.media_type,
                     "method": "POST", "body": next_body}
    return _reply(page, fmt, self_link, next_link)


@router.get("/plots/{plot_id}", response_class=GeoJSONResponse, summary="One plot")
def get_plot(conn: ConnectionDep, account: OptionalAccount, plot_id: int) -> GeoJSONResponse:
    internal = account is not None and account.sees_internal_fields
    plot = features.get_plot(conn, plot_id, internal=internal)
    return GeoJSONResponse(plot, headers={"ETag": f'"{plot["properties"]["version"]}"'})
