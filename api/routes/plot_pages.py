"""A plot's page (the property sheet) and its printable exposé (PDF)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import ConnectionDep, PlotId
from api.responses import error_responses
from api.routes.pages import PageDep, _html
from api.sessions import SignedInDep
from locations import attachments
from locations.accounts import may
from maps import queries
from maps.plot_page import (
    build_plot_page,
    default_profile,
    municipality_outline,
    read_plot_sheet,
)
from maps.style import bounds_of

router = APIRouter(tags=["pages"])
#: Photos the exposé shows at most (the plot's first ones): it keeps to two pages.
EXPOSE_PHOTOS = 3

Profile = Annotated[
    str | None,
    Query(description="Scoring profile of the score shown (default: the first scored profile, "
                      "as on the zone page and the overview)",
          pattern=r"^([a-z][a-z_]*)?$", max_length=40),
]

PDF_RESPONSE = {200: {"description": "The exposé, A4, at most two pages",
                      "content": {"application/pdf": {"schema": {"type": "string",
                                                                 "format": "binary"}}}}}


@router.get("/maps/plots/{plot_id}", response_class=HTMLResponse,
            summary="A plot's page: facts, constraints, distances, score, map, contact",
            responses=error_responses(400, 404))
def plot_page(
    request: Request,
    conn: ConnectionDep,
    person: SignedInDep,
    plot_id: PlotId,
    page: PageDep,
    profile: Profile = None,
) -> HTMLResponse:
    sheet = read_plot_sheet(conn, plot_id, profile or default_profile(conn))
    # The plot's own editors find its form from its page.
    editable = may(person, "edit", sheet.facts["municipality_id"]) and not sheet.facts.get("retired_at")
    context = queries.map_context(conn, page.t, bounds_of([{"features": [sheet.zone]}]))
    return _html(build_plot_page(page.t, page, sheet=sheet, profiles=queries.profiles(conn),
                                 context=context, editable=editable))


def expose_pdf(request: Request, conn, page, sheet) -> bytes:
    """The exposé of the plot ``sheet`` describes, in the page's language, as PDF bytes."""
    from maps.expose import build_expose

    plot_id = sheet.facts["id"]
    municipality = municipality_outline(conn, sheet.facts["municipality_id"])
    path = page.url(f"/maps/plots/{plot_id}", profile=sheet.profile)
    page_url = str(request.base_url).rstrip("/") + path
    photos = attachments.images(conn, plot_id, EXPOSE_PHOTOS)
    return build_expose(page.t, sheet=sheet, municipality=municipality, today=dt.date.today(),
                        page_url=page_url, photos=photos)


@router.get("/maps/plots/{plot_id}/expose.pdf", response_class=Response,
            summary="A plot's exposé: A4 PDF with facts, score breakdown, map and contact",
            responses={**PDF_RESPONSE, **error_responses(400, 404)})
def plot_expose(
    request: Request,
    conn: ConnectionDep,
    plot_id: PlotId,
    page: PageDep,
    profile: Profile = None,
):
    sheet = read_plot_sheet(conn, plot_id, profile or default_profile(conn))
    pdf = expose_pdf(request, conn, page, sheet)
    # Only safe characters in the header: a cadastral reference is data.
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", sheet.facts["cadastral_ref"]).strip("-")[:60] or "plot"
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="expose-{name}-{page.t.lang}.pdf"',
        "Cache-Control": "no-cache",
    })
