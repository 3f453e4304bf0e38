"""The investor's shortlist: up to five plots compared side by side, and the same as Excel."""

from __future__ import annotations

import io
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import ConnectionDep
from api.responses import error_responses
from api.routes.pages import PageDep, _html
from api.routes.plot_pages import expose_pdf
from locations.errors import InvalidInput
from maps import queries
from maps.shortlist_page import (
    build_shortlist_page,
    parse_plot_ids,
    read_sheets,
    shortlist_workbook,
)

router = APIRouter(tags=["pages"])

Plots = Annotated[str | None, Query(max_length=200, description="Plot ids, e.g. 1,2,3 (at most 5)")]
Profile = Annotated[str | None, Query(max_length=40, description="Scoring profile")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF = "application/pdf"


def _profile(conn, profile: str | None) -> tuple[list[str], str | None]:
    """The scored profiles and the one to compare by: the asked one, else the first (as the
    search page and the plot page choose it), so the figures are theirs."""
    profiles = queries.profiles(conn)
    if profile and profile not in profiles:
        raise InvalidInput("profile", f"no scores for profile {profile!r}")
    return profiles, profile or next(iter(profiles), None)


@router.get("/maps/shortlist", response_class=HTMLResponse, summary="Shortlisted plots side by side",
            responses=error_responses(400, 404))
def shortlist_page(
    request: Request,
    conn: ConnectionDep,
    page: PageDep,
    plots: Plots = None,
    profile: Profile = None,
) -> HTMLResponse:
    profiles, profile = _profile(conn, profile)
    sheets = read_sheets(conn, parse_plot_ids(plots), profile)
    return _html(build_shortlist_page(page.t, page, sheets=sheets, profiles=profiles,
                                      profile=profile))


@router.get("/maps/shortlist.xlsx", summary="Shortlisted plots as an Excel file",
            responses=error_responses(400, 404) | {200: {"content": {XLSX: {}}}})
def shortlist_xlsx(
    request: Request,
    conn: ConnectionDep,
    page: PageDep,
    plots: Plots = None,
    profile: Profile = None,
) -> Response:
    _, profile = _profile(conn, profile)
    ids = parse_plot_ids(plots)
    if not ids:
        raise InvalidInput("plots", "name at least one plot, e.g. plots=1,2")
    content = shortlist_workbook(read_sheets(conn, ids, profile), page.t)
    return Response(content, media_type=XLSX, headers={
        "Content-Disposition": 'attachment; filename="shortlist.xlsx"', "Cache-Control": "no-cache"})


@router.get("/maps/shortlist.pdf", summary="Shortlisted plots as one PDF: each plot's exposé",
            responses=error_responses(400, 404) | {200: {"content": {PDF: {}}}})
def shortlist_pdf(
    request: Request,
    conn: ConnectionDep,
    page: PageDep,
    plots: Plots = None,
    profile: Profile = None,
) -> Response:
    """The exposés of the shortlisted plots, in the shortlist's order, as one file to hand to
    a board: the same sheets as each plot's own exposé, scored by the same profile."""
    from pypdf import PdfWriter

    _, profile = _profile(conn, profile)
    ids = parse_plot_ids(plots)
    if not ids:
        raise InvalidInput("plots", "name at least one plot, e.g. plots=1,2")
    writer = PdfWriter()
    for sheet in read_sheets(conn, ids, profile, surroundings=True):
        writer.append(io.BytesIO(expose_pdf(request, conn, page, sheet)))
    out = io.BytesIO()
    writer.write(out)
    return Response(out.getvalue(), media_type=PDF, headers={
        "Content-Disposition": f'attachment; filename="shortlist-{page.t.lang}.pdf"',
        "Cache-Control": "no-cache"})
