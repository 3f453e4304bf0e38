"""Replacing a plot's outline in the browser: /maps/my/plots/{id}/outline.

The editor uploads the new outline as a file (GeoPackage, zipped Shapefile, GeoJSON, in any
CRS the import reader understands), previews it beside the current one with both areas
(nothing written), then saves it with a reason through ``locations.plot_outline``, the core
of PATCH /plots/{id} with a geometry. Every POST needs a signed-in person who may edit the
plot and the form's CSRF token; nothing changes on a GET.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api.deps import EngineDep, PlotId, read_connection
from api.routes.lineage_pages import _read_upload
from api.routes.workspace import AcceptLanguage, Lang, _html, _out_of_reach, _page, _see_other
from api.sessions import PersonDep, check_csrf, csrf_token
from locations import plot_lineage, plot_outline, workspace
from locations.errors import Conflict, Forbidden, InvalidInput, NotFound, PreconditionFailed
from locations.values import INT_MAX, parse_id
from maps.outline_page import build_outline_page

router = APIRouter(tags=["pages"])


@router.get("/maps/my/plots/{plot_id}/outline", response_class=HTMLResponse,
            include_in_schema=False)
def outline_form(request: Request, engine: EngineDep, person: PersonDep, plot_id: PlotId,
                 lang: Lang = None, accept_language: AcceptLanguage = None) -> HTMLResponse:
    page = _page(request, lang, accept_language)
    with read_connection(engine) as conn:
        try:
            current = workspace.plot_for_form(conn, person, plot_id)
            outline = plot_lineage.plot_outline(conn, plot_id)
        except Forbidden as refusal:
            return _out_of_reach(page, refusal)
    return _html(build_outline_page(page, current=current, outline=outline,
                                    csrf=csrf_token(request)))


@router.post("/maps/my/plots/{plot_id}/outline", response_class=HTMLResponse,
             include_in_schema=False)
async def outline_post(request: Request, engine: EngineDep, person: PersonDep, plot_id: PlotId,
                       lang: Lang = None, accept_language: AcceptLanguage = None) -> HTMLResponse:
    """action=preview: both outlines and areas, nothing written; action=replace: the save."""
    page = _page(request, lang, accept_language)
    with read_connection(engine) as conn:
        try:
            current = workspace.plot_for_form(conn, person, plot_id)
            outline = plot_lineage.plot_outline(conn, plot_id)
        except Forbidden as refusal:
            return _out_of_reach(page, refusal)
    # The person may edit the plot before the body (and its file) is read; its size is
    # limited as it arrives (BodySizeLimit).
    form = await request.form(max_files=1, max_fields=20)
    try:
        await check_csrf(request, form)
    except Forbidden:
        return _html(build_outline_page(page, current=current, outline=outline,
                                        csrf=csrf_token(request),
                                        problem=page.t("ws_refused_csrf")), 403)
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    # The previewed outline travels in CRS84 (crs None); a file sent again wins.
    shape, crs, problem = _kept(fields), None, None
    upload = form.get("outline_file")
    if isinstance(upload, UploadFile) and upload.filename:
        content = await upload.read()
        shape, crs, problem = await run_in_threadpool(
            _read_upload, upload.filename, content, plot_outline.read_outline_file)
    answer = await run_in_threadpool(_replace, engine, person, plot_id, fields, shape, crs,
                                     problem)
    if isinstance(answer, str):
        return _see_other(page.url(answer))
    status, context = answer
    return _html(build_outline_page(page, current=current, outline=outline,
                                    csrf=csrf_token(request), **context), status)


def _kept(fields: dict[str, str]) -> Any:
    raw = str(fields.get("outline") or "").strip()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw  # PostGIS names what is wrong with it


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
    try:
        with engine.begin() as conn:
            context["new"] = plot_outline.preview_outline(conn, plot_id, shape, crs)
            if fields.get("action") != "replace":
                return 200, context
            # Saved as given (the file's own CRS), not as the rounded preview.
            plot_outline.replace_outline(conn, person, plot_id, version, shape, crs,
                                         context["note"])
    except (InvalidInput, Conflict, NotFound, PreconditionFailed) as exc:
        return 400 if isinstance(exc, InvalidInput) else 409, context | {"problem": exc}
    return f"/maps/plots/{plot_id}/history"
