"""HTML pages: the investor's start (search form), overview, zone, search results; map assets."""

from __future__ import annotations

import gzip
from functools import lru_cache
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import QueryParams

from api.deps import ConnectionDep, ZoneId
from api.responses import error_responses
from locations.errors import InvalidInput, NotFound
from locations.values import BIGINT_MAX
from maps import composer, queries
from maps.assets import NODE_MODULES, STATIC_DIR, STATIC_URL, VENDOR_URL
from maps.countries import check_window, country_context_json
from maps.i18n import Translator, negotiate
from maps.page import PageContext
from maps.search_page import build_start_page

router = APIRouter(tags=["pages"])
# Leaflet and its plugins come from maps/node_modules (npm, at setup), never from a CDN.
router.mount(VENDOR_URL, StaticFiles(directory=NODE_MODULES, check_dir=False), name="vendor")
router.mount(STATIC_URL, StaticFiles(directory=STATIC_DIR, check_dir=False), name="static")

Lang = Annotated[Literal["en", "sl", "de"] | None, Query(description="Page language; default from Accept-Language")]
AcceptLanguage = Annotated[str | None, Header()]
#: The countries around the regions, cut out of Natural Earth once per window (maps/countries.py).
CountryWindow = Annotated[str, Query(
    description="west,south,east,north in whole degrees (at most 40 each way), as the pages ask",
    pattern=r"^-?[0-9]{1,3},-?[0-9]{1,2},-?[0-9]{1,3},-?[0-9]{1,2}$", max_length=20)]


def _page(request: Request, lang: str | None, accept_language: str | None,
          leave_out: tuple[str, ...] = ("lang",)) -> PageContext:
    """The page in the visitor's language (``lang``, else Accept-Language), with its path and
    its query but for ``leave_out`` (for the language links and coming back after signing in)."""
    query = {k: v for k, v in request.query_params.multi_items() if k not in leave_out}
    multi: dict[str, str | list[str]] = {}
    for key, value in query.items():
        values = request.query_params.getlist(key)
        multi[key] = values if len(values) > 1 else value
    return PageContext(t=Translator(negotiate(lang, accept_language)), path=request.url.path,
                       query=multi)


def page_of(request: Request, lang: Lang = None,
            accept_language: AcceptLanguage = None) -> PageContext:
    """The page's language (``lang``, else Accept-Language), path and query."""
    return _page(request, lang, accept_language)


#: The page a route answers with, in the visitor's language: each page route's first step.
PageDep = Annotated[PageContext, Depends(page_of)]


def _html(content: str) -> HTMLResponse:
    # Pages hold live availability: revalidate rather than cache for long.
    return HTMLResponse(content, headers={"Cache-Control": "no-cache"})


@router.get("/", response_class=HTMLResponse, summary="Start: search form for investors")
def start_page(request: Request, conn: ConnectionDep, page: PageDep) -> HTMLResponse:
    profiles = queries.profiles(conn)
    # An investor starts from what is on offer; a profile chosen earlier is kept.
    start = QueryParams({"status": "available", "profile": request.query_params.get("profile", "")})
    form = queries.read_search_form(start, profiles[0] if profiles else None)
    return _html(build_start_page(page.t, page, filters=form, regions=queries.regions(conn),
                                  profiles=profiles, municipalities=queries.municipality_names(conn)))


@router.get("/maps/overview", response_class=HTMLResponse, summary="Overview map of all zones")
def overview_page(
    request: Request,
    conn: ConnectionDep,
    page: PageDep,
    measure: Annotated[Literal["occupancy", "available", "score"], Query()] = "occupancy",
    profile: Annotated[str | None, Query(description="Scoring profile for measure=score")] = None,
) -> HTMLResponse:
    return _html(composer.overview_page(conn, page, measure=measure, profile=profile))


@router.get("/maps/context/countries.geojson", summary="Countries and state borders around the regions",
            responses={200: {"content": {"application/json": {}}}, **error_responses(400, 404)})
def country_outlines(conn: ConnectionDep, bbox: CountryWindow,
                     accept_encoding: Annotated[str | None, Header()] = None) -> Response:
    """Natural Earth's countries clipped to ``bbox`` and the borders between them (GeoJSON in
    ``countries`` and ``borders``), simplified for maps at region scale; what every map page
    draws under its data. Made once per window and cached by the browser for a day.

    Only the window around the platform's regions is served (the one its pages name): each
    other window would cost the server a second's work, for anybody who asked."""
    window = tuple(int(part) for part in bbox.split(","))
    try:
        check_window(window)
    except ValueError as exc:
        raise InvalidInput("bbox", str(exc)) from None
    served = queries.context_window(conn)
    if window != served:
        raise InvalidInput("bbox", "the maps of this platform draw the countries within "
                                   + ",".join(map(str, served)))
    try:
        body = country_context_json(window)
    except FileNotFoundError as exc:
        # The npm assets were not installed: the maps draw without the countries.
        raise NotFound(str(exc)) from None
    headers = {"Cache-Control": "public, max-age=86400", "Vary": "Accept-Encoding"}
    if "gzip" in (accept_encoding or ""):
        body = _gzipped(window)
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type="application/json", headers=headers)


@lru_cache(maxsize=8)
def _gzipped(window: tuple[int, ...]) -> bytes:
    # About a quarter of the size: the outlines are the biggest thing a map page fetches.
    return gzip.compress(country_context_json(window), mtime=0)


@router.get("/maps/zones/{zone_id}", response_class=HTMLResponse, summary="A zone's page",
            responses=error_responses(404))
def zone_page(
    request: Request,
    conn: ConnectionDep,
    zone_id: ZoneId,
    page: PageDep,
    plot: Annotated[int | None, Query(ge=1, le=BIGINT_MAX,
                                      description="Open this plot's popup")] = None,
    profile: Annotated[str | None, Query(description="Scoring profile for plot scores")] = None,
) -> HTMLResponse:
    return _html(composer.zone_page(conn, page, zone_id, focus_plot=plot, profile=profile))


@router.get("/maps/search", response_class=HTMLResponse, summary="Plot search: map and table",
            responses=error_responses(400))
def search_page(request: Request, conn: ConnectionDep, page: PageDep) -> HTMLResponse:
    """Every filter of GET /plots (area in hectares in the form), read by the search's own
    filter model (``maps.queries.read_search_form``); a bad value is answered beside its field."""
    profiles = queries.profiles(conn)
    form = queries.read_search_form(request.query_params, profiles[0] if profiles else None)
    response = _html(composer.search_page(conn, page, form, profiles))
    if form.errors:
        response.status_code = 400
    return response
