"""Replacing a plot's outline in the browser: /maps/my/plots/{id}/outline.

The editor uploads the new outline as a file (GeoPackage, zipped Shapefile, GeoJSON, in any
CRS the import reader understands), previews it beside the current one with both areas
(nothing written), then saves it with a reason through ``locations.plot_outline``, the core
of PATCH /plots/{id} with a geometry. Every POST needs a signed-in person who may edit the
plot and the form's CSRF token; nothing changes on a GET.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Connection

from api.deps import EngineDep, PlotId
from api.routes.shape_forms import shape_form, shape_post
from api.routes.workspace import FormPageDep
from api.sessions import PersonDep
from locations import plot_outline, transactions
from locations.errors import Conflict, InvalidInput, NotFound, PreconditionFailed
from locations.values import INT_MAX, parse_id
from maps.outline_page import build_outline_page

router = APIRouter(tags=["pages"])


@router.get("/maps/my/plots/{plot_id}/outline", response_class=HTMLResponse,
            include_in_schema=False)
def outline_form(request: Request, engine: EngineDep, person: PersonDep, plot_id: PlotId,
                 page: FormPageDep) -> HTMLResponse:
    return shape_form(request, engine, person, plot_id, page, build_outline_page)


@router.post("/maps/my/plots/{plot_id}/outline", response_class=HTMLResponse,
             include_in_schema=False)
async def outline_post(request: Request, engine: EngineDep, person: PersonDep, plot_id: PlotId,
                       page: FormPageDep) -> HTMLResponse:
    """action=preview: both outlines and areas, nothing written; action=replace: the save.
    The previewed outline travels in CRS84 (crs None); a file sent again wins."""
    return await shape_post(request, engine, person, plot_id, page, build_outline_page,
                            drawn="outline", upload="outline_file", reader=plot_outline.read_outline_file,
                            max_fields=20, save=_replace)


def _replace(engine, person, plot_id: int, fields: dict[str, str], shape: Any, crs: str | None,
             problem: InvalidInput | None) -> str | tuple[int, dict[str, Any]]:
    """Where to go once saved, or the page's status and what it shows."""
    context: dict[str, Any] = {"note": str(fields.get("note") or "")}
    if problem is not None:
        return 400, context | {"problem": problem}
    if shape is None:
        return 400, context | {"problem": InvalidInput("outline_file", "choose the file with "
                                                                       "the new outline")}
    version = parse_id(str(fields.get("version") or ""), INT_MAX) or 0
    context["version"] = version

    def replace(conn: Connection) -> tuple[int, dict[str, Any]] | None:
        context["new"] = plot_outline.preview_outline(conn, plot_id, shape, crs)
        if fields.get("action") != "replace":
            return 200, context
        # Saved as given (the file's own CRS), not as the rounded preview.
        plot_outline.replace_outline(conn, person, plot_id, version, shape, crs,
                                     context["note"])
        return None

    try:
        preview = transactions.write(engine, replace)
    except (InvalidInput, Conflict, NotFound, PreconditionFailed) as exc:
        return 400 if isinstance(exc, InvalidInput) else 409, context | {"problem": exc}
    return preview or f"/maps/plots/{plot_id}/history"
