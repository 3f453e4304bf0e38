"""The agencies' pages: a region's dashboard, regions compared, zone rankings, and the
reports (PDF, XLSX) of a region or a comparison."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import text

from api.deps import ConnectionDep
from api.responses import ERROR_BODY, error_responses
from api.routes.pages import AcceptLanguage, Lang, _html, _page
from api.sessions import SignedInDep
from locations import dashboard, zone_search
from locations.errors import InvalidInput, NotFound
from maps import queries
from maps.compare import compare_maps
from maps.dashboard_page import (
    build_comparison_page,
    build_dashboard_page,
    build_rankings_page,
)
from maps.figures import region_name
from maps.rankings_file import rankings_csv, rankings_workbook
from maps.report import build_pdf, build_xlsx, make_report
from maps.search_page import region_choices

router = APIRouter(tags=["pages"])

RegionPath = Annotated[str, Path(description="Region code or NUTS prefix (AT22: all of Styria)",
                                 max_length=10)]
Regions = Annotated[list[str] | None, Query(description="2 to 4 region codes", max_length=4)]
Month = Annotated[str | None, Query(description="A month, 2025-01", max_length=7)]
#: Most zones the ranking page lists (the download holds every one).
RANKING_PAGE_LIMIT = 200
#: How many regions the comparison shows before an agency chooses.
DEFAULT_COMPARED = 3
MEDIA_TYPES = {"pdf": "application/pdf", "csv": "text/csv; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
REPORT_RESPONSE = {200: {"description": "The report: PDF (charts and tables) or XLSX (figures)",
                         "content": {media: {"schema": {"type": "string", "format": "binary"}}
                                     for media in MEDIA_TYPES.values()}}}


def _choices(conn, t) -> list[dict]:
    return region_choices(t, queries.regions(conn))


#: A value the page cannot use: the page again, saying so (HTML); a refusal made before the
#: page (a control character in the query) is JSON.
PAGE_REFUSAL = {400: {"description": "A value the page cannot use",
                      "content": {"text/html": {}, "application/json": {"schema": ERROR_BODY}}}}

@router.get("/maps/dashboard", summary="A region's dashboard: choose the region",
            response_class=RedirectResponse, status_code=303,
            responses={303: {"description": "To the region's dashboard"},
                       **error_responses(400, 404)})
def dashboard_chooser(request: Request, conn: ConnectionDep, person: SignedInDep,
                      region: Annotated[str | None, Query(max_length=10)] = None,
                      lang: Lang = None, accept_language: AcceptLanguage = None):
    page = _page(request, lang, accept_language)
    if not region and person is not None and person.role == "agency" and person.region_ids:
        # An agency's analyst opens the dashboard of a region of their own, not the first
        # region of the list.
        region = conn.execute(text("SELECT code FROM region WHERE id = ANY(:ids) ORDER BY code "
                                   "LIMIT 1"), {"ids": sorted(person.region_ids)}).scalar()
    if not region:
        choices = _choices(conn, page.t)
        region = choices[0]["code"] if choices else None
    if not region:
        raise NotFound("no region is loaded yet")
    code = dashboard.resolve_area(conn, region).code
    return RedirectResponse(page.url(f"/maps/dashboard/{code}"), status_code=303)


@router.get("/maps/dashboard/{region}", response_class=HTMLResponse,
            summary="A region's dashboard: land, occupancy, freshness, scores",
            responses=error_responses(400))
def dashboard_page(request: Request, conn: ConnectionDep, region: RegionPath,
                   from_: Annotated[str | None, Query(alias="from", max_length=7)] = None,
                   to: Month = None, lang: Lang = None,
                   accept_language: AcceptLanguage = None) -> HTMLResponse:
    page = _page(request, lang, accept_language)
    try:
        start, end, period_error = *dashboard.parse_period(from_, to), None
    except InvalidInput:
        # A period that is no period (the first month after the last): the dashboard as it
        # stands, with the months as typed and the reason beside them, not an error page.
        start, end, period_error = None, None, page.t("report_error_period")
    figures = dashboard.region_figures(conn, region, start=start, end=end)
    response = _html(build_dashboard_page(page.t, page, figures=figures,
                                          choices=_choices(conn, page.t),
                                          period=(from_ or "", to or ""),
                                          period_error=period_error))
    if period_error:
        response.status_code = 400
    return response


def _report(request: Request, conn, codes: list[str], fmt: str, start: str | None,
            end: str | None, lang: str | None, accept_language: str | None) -> Response:
    page = _page(request, lang, accept_language)
    first, last = dashboard.parse_period(start, end)
    report = make_report(conn, page.t, codes, start=first, end=last,
                         page_url=str(request.url.remove_query_params(["from", "to"])
                                      ).rsplit("/report.", 1)[0])
    body = build_pdf(page.t, report) if fmt == "pdf" else build_xlsx(page.t, report)
    name = "-".join(codes).lower()
    stamp = dt.date.today().isoformat()
    return Response(body, media_type=MEDIA_TYPES[fmt], headers={
        "Content-Disposition": f'attachment; filename="report-{name}-{page.t.lang}-{stamp}.{fmt}"'})


@router.get("/maps/dashboard/{region}/report.{fmt}", summary="A region's report: PDF or XLSX",
            response_class=Response, responses={**REPORT_RESPONSE, **error_responses(400)})
def region_report(request: Request, conn: ConnectionDep, region: RegionPath,
                  fmt: Literal["pdf", "xlsx"],
                  from_: Annotated[str | None, Query(alias="from", max_length=7)] = None,
                  to: Month = None, lang: Lang = None,
                  accept_language: AcceptLanguage = None) -> Response:
    """The dashboard's charts and tables (PDF), or the figures behind each chart (XLSX)."""
    return _report(request, conn, [region], fmt, from_, to, lang, accept_language)


@router.get("/maps/compare/report.{fmt}", summary="A comparison's report: PDF or XLSX",
            response_class=Response, responses={**REPORT_RESPONSE, **error_responses(400)})
def comparison_report(request: Request, conn: ConnectionDep, fmt: Literal["pdf", "xlsx"],
                      region: Regions = None,
                      from_: Annotated[str | None, Query(alias="from", max_length=7)] = None,
                      to: Month = None, lang: Lang = None,
                      accept_language: AcceptLanguage = None) -> Response:
    codes = [c for c in (region or []) if c.strip()]
    return _report(request, conn, codes, fmt, from_, to, lang, accept_language)


#: The comparison's municipalities shade whole regions: simplified by 25 m, an outline stays
#: within a pixel up to zoom 12, and Styria's 286 Gemeinden cost a third fewer bytes.
COMPARE_TOLERANCE_M = 25.0


@router.get("/maps/compare", response_class=HTMLResponse, summary="Regions side by side",
            responses=PAGE_REFUSAL)
def compare_page(
    request: Request,
    conn: ConnectionDep,
    region: Regions = None,
    from_: Annotated[str | None, Query(alias="from", max_length=7)] = None,
    to: Month = None,
    measure: Annotated[Literal["available", "score"], Query()] = "available",
    profile: Annotated[str | None, Query(max_length=40)] = None,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    """Two to four regions of any level: differences in words, the dashboard's figures side
    by side, a report, and their municipalities on maps."""
    page = _page(request, lang, accept_language)
    t = page.t
    choices = _choices(conn, t)
    if region is None:
        # First the platform's regions as wholes (Styria as one, not its six parts).
        region = [c["code"] for c in choices if not c.get("part_of")][:DEFAULT_COMPARED]
    # A region chosen twice is compared once: the form preselects three regions, and a
    # person who sets two of them to the third's region asked for two, not for an error.
    selected = list(dict.fromkeys(c.strip().upper() for c in region if c and c.strip()))
    profiles = queries.profiles(conn)
    if measure == "score" and not profile and profiles:
        profile = profiles[0]
    comparison, error = None, None
    try:
        # One region (from a dashboard's link) is a start: the form asks for the others.
        start, end = dashboard.parse_period(from_, to)
        if len(selected) >= dashboard.MIN_COMPARED:
            comparison = dashboard.compare(conn, selected, start=start, end=end)
    except InvalidInput as exc:
        # The page's own words; the reason is added only where it names what to mend (an
        # unknown region's code), since it is in English.
        if exc.field == "region":
            error = t("cmp_too_few")
        elif exc.field in ("from", "to"):
            error = t("report_error_period")
        else:
            error = t("dash_error_region") + f" ({exc.field}: {exc.reason})"
    if comparison:
        areas = [(region_name(t, f), tuple(f["regions"])) for f in comparison["regions"]]
    else:
        areas = None
    # Zones come from the zone tiles: the page carries their counts, not their outlines.
    maps = compare_maps(t, municipalities=queries.municipality_supply(
                            conn, profile=profile, tolerance_m=COMPARE_TOLERANCE_M),
                        zone_counts=queries.zone_counts(conn),
                        zone_tiles_url="/tiles/zones/{z}/{x}/{y}.pbf", areas=areas,
                        measure=measure, profiles=profiles, profile=profile,
                        # The municipalities are the maps' own data there, shaded by the
                        # measure; each map's context is cut to its own frame.
                        context_for=lambda frame: queries.map_context(
                            conn, t, frame, municipalities=False))
    response = _html(build_comparison_page(t, page, comparison=comparison, selected=selected,
                                           choices=choices, maps=maps,
                                           period=(from_ or "", to or ""), error=error))
    if error:
        response.status_code = 400
    return response


class RankingAsked:
    """What a zone ranking is asked for, the page's and its download's the same: the profile
    is the one asked when it has a finished run, else the first that has; the order is by
    score when there is a profile, else by name."""

    def __init__(
        self,
        conn: ConnectionDep,
        region: Annotated[str | None, Query(max_length=10)] = None,
        kind: Annotated[str | None, Query(max_length=40)] = None,
        profile: Annotated[str | None, Query(max_length=40)] = None,
        sort: Annotated[str | None, Query(max_length=20)] = None,
    ) -> None:
        self.profiles = queries.profiles(conn)
        self.region, self.kind = region, kind
        self.profile = profile if profile in self.profiles else (
            self.profiles[0] if self.profiles else None)
        self.sort = sort or ("-score" if self.profile else "name")

    def filters(self) -> zone_search.ZoneFilter:
        """The ranking's filter.

        Raises:
            InvalidInput: an unknown kind or order, named.
        """
        try:
            return zone_search.ZoneFilter(region=[self.region] if self.region else [],
                                          kind=[self.kind] if self.kind else [],
                                          profile=self.profile, sort=self.sort)
        except ValidationError as exc:
            raise InvalidInput(str(exc.errors()[0]["loc"][0]),
                               "not one the ranking knows") from None


@router.get("/maps/rankings.{fmt}", summary="The zone ranking's table as CSV or XLSX",
            response_class=Response, responses={**REPORT_RESPONSE, **error_responses(400)})
def rankings_file(
    request: Request,
    conn: ConnectionDep,
    fmt: Literal["csv", "xlsx"],
    asked: Annotated[RankingAsked, Depends()],
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> Response:
    """The ranking page's table in its language, every zone it ranks (the page shows the
    first 200), in its order."""
    t = _page(request, lang, accept_language).t
    zones = zone_search.zone_ranking(conn, asked.filters(), count=False)["zones"]
    body = rankings_workbook(t, zones) if fmt == "xlsx" else rankings_csv(t, zones)
    # Only letters, digits and dashes of what was asked reach the header.
    name = re.sub(r"[^a-z0-9-]", "", "-".join(
        part for part in ("zones", asked.region, asked.profile, t.lang) if part).lower())
    return Response(body, media_type=MEDIA_TYPES[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'})


@router.get("/maps/rankings", response_class=HTMLResponse, summary="Zones ranked for a profile",
            responses=PAGE_REFUSAL)
def rankings_page(
    request: Request,
    conn: ConnectionDep,
    asked: Annotated[RankingAsked, Depends()],
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    """A sortable table of zones: median and best plot score, land, occupancy, power and the
    distance to a motorway junction; downloadable as the page reads it (CSV, XLSX) and with
    the zones' outlines (GeoPackage, ``GET /zones``)."""
    page = _page(request, lang, accept_language)
    t = page.t
    sort = asked.sort
    ranking, error = None, None
    try:
        ranking = zone_search.zone_ranking(conn, asked.filters(), limit=RANKING_PAGE_LIMIT)
    except (InvalidInput, ValueError) as exc:
        error = t("error_invalid") + f" ({getattr(exc, 'field', 'filters')})"
        sort = "name"
    response = _html(build_rankings_page(t, page, ranking=ranking, choices=_choices(conn, t),
                                         profiles=asked.profiles, region=asked.region,
                                         kind=asked.kind, profile=asked.profile, sort=sort,
                                         error=error))
    if error:
        response.status_code = 400
    return response
