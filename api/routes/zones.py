"""Business zones: search with per-zone plot aggregates, downloads, one zone; changing a zone's
facts (If-Match required), documented with the other writes under "plot updates" (``updates``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy import Connection

from api.auth import Editor
from api.changes import WRITE, IfMatch, ZoneChange, expected_version
from api.deps import ConnectionDep, EngineDep, ZoneId
from api.responses import DOWNLOADS, GeoJSONResponse, error_responses
from locations import features, formats, transactions, zone_search, zone_updates
from locations.errors import InvalidInput
from locations.geojson import Window
from locations.search import ZoneKind

router = APIRouter(tags=["zones"])
updates = APIRouter(tags=["plot updates"])

QUERY_PARAMETERS = set(zone_search.ZoneFilter.model_fields) | {"f", "limit", "offset"}


def zone_filter(
    request: Request,
    region: Annotated[list[str] | None, Query(description="Region codes of any level, any case: SI042, AT22 (Styria), AT-D-601")] = None,
    municipality: Annotated[list[str] | None, Query(description="Municipality name or id")] = None,
    kind: Annotated[list[ZoneKind] | None, Query(description="Zone kind")] = None,
    has_available: Annotated[bool | None, Query(description="Has available plot area")] = None,
    min_available_area_m2: Annotated[float | None, Query(ge=0)] = None,
    profile: Annotated[str | None, Query(
        description="Scoring profile: adds each zone's median and best plot score "
                    "(score_median, score_best, best_plot_id) and the distance to the "
                    "nearest motorway junction (motorway_km)",
        pattern=r"^[a-z][a-z_]*$", max_length=40)] = None,
    sort: Annotated[zone_search.ZoneSort | None, Query(
        description="name, score (median), best, available (area), occupancy, power, "
                    "motorway (distance); - in front for descending; unknown values last")] = None,
) -> zone_search.ZoneFilter:
    """The zone search a query string asks for (GET /zones, GET /exports/zones); an unknown
    parameter is refused, so a typo never widens a search."""
    unknown = sorted(set(request.query_params) - QUERY_PARAMETERS)
    if unknown:
        raise InvalidInput(unknown[0], f"unknown parameter; allowed: {', '.join(sorted(QUERY_PARAMETERS))}")
    return zone_search.ZoneFilter(
        region=region or [], municipality=municipality or [], kind=kind or [],
        has_available=has_available, min_available_area_m2=min_available_area_m2,
        profile=profile, sort=sort)


ZoneSearch = Annotated[zone_search.ZoneFilter, Depends(zone_filter)]


@router.get("/zones", response_class=GeoJSONResponse, summary="Zones with occupancy aggregates",
            responses=DOWNLOADS | error_responses(404))
def list_zones(
    request: Request,
    conn: ConnectionDep,
    filters: ZoneSearch,
    f: Annotated[str | None, Query(description="geojson, csv, gpkg or xlsx")] = None,
    limit: Annotated[int | None, Query(
        ge=1, le=zone_search.MAX_LIMIT,
        description=f"Zones per page (GeoJSON: default {zone_search.DEFAULT_LIMIT}; "
                    "a download holds every zone unless a limit is given)")] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000,
                                 description="Zones to skip: follow the next link")] = 0,
) -> Response:
    """Per zone: total plot area, available area, plots by status and the occupancy share
    (plot area sold or occupied over all plot area); with ``profile``, the median and best
    plot score of the profile's current run and the standard they are by; in the order of
    ``sort``. GeoJSON comes a page at a time with ``numberMatched`` and a ``next`` link; a
    download (CSV, GeoPackage, XLSX) is the whole list in one file."""
    fmt = formats.choose_format(f, request.headers.get("accept"))
    if fmt.name != "geojson":
        page = zone_search.search_zones(conn, filters, window=Window(limit=limit, offset=offset))
        headers = {"Content-Disposition":
                   f'attachment; filename="{formats.file_name("zones", fmt)}"'}
        return Response(formats.render(page.collection(), fmt, layer="zones"),
                        media_type=fmt.media_type, headers=headers)
    limit = limit or zone_search.DEFAULT_LIMIT
    page = zone_search.search_zones(conn, filters, window=Window(limit=limit, offset=offset))
    links = [{"rel": "self", "href": str(request.url), "type": fmt.media_type}]
    if page.number_matched is not None and offset + limit < page.number_matched:
        links.append({"rel": "next", "type": fmt.media_type, "title": "The next page",
                      "href": str(request.url.include_query_params(offset=offset + limit))})
    if offset:
        links.append({"rel": "prev", "type": fmt.media_type, "title": "The previous page",
                      "href": str(request.url.include_query_params(
                          offset=max(offset - limit, 0)))})
    return Response(page.geojson(links), media_type=fmt.media_type)


@router.get("/zones/{zone_id}", response_class=GeoJSONResponse, summary="One zone",
            responses=error_responses(404))
def get_zone(conn: ConnectionDep, zone_id: ZoneId) -> GeoJSONResponse:
    zone = features.get_zone(conn, zone_id)
    return GeoJSONResponse(zone, headers={"ETag": f'"{zone["properties"]["version"]}"'})


@updates.patch("/zones/{zone_id}", response_class=GeoJSONResponse, summary="Change a zone's facts",
               responses=WRITE)
def patch_zone(
    engine: EngineDep, account: Editor, zone_id: ZoneId, change: ZoneChange, if_match: IfMatch = None
) -> GeoJSONResponse:
    values = change.model_dump(exclude_unset=True)
    note = values.pop("note", None)
    def write(conn: Connection) -> dict:
        zone_updates.update_zone(conn, account, zone_id, expected_version(if_match), values,
                                 note=note)
        return features.get_zone(conn, zone_id)

    zone = transactions.write(engine, write)
    return GeoJSONResponse(zone, headers={"ETag": f'"{zone["properties"]["version"]}"'})
