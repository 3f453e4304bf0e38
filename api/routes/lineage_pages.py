"""Splitting and merging plots in the browser: /maps/my/plots/{id}/split and /maps/my/merge.

A split is drawn on the map (clicks) or uploaded as a line file, previewed (the parts and
their areas, nothing written), then saved with a cadastral reference per part. A merge
ticks neighbouring plots of the zone. Both write through ``locations.plot_lineage``, the
core of POST /plots/{id}/split and POST /plots/merge; every POST needs a signed-in person
and the form's CSRF token, and nothing changes on a GET.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from api.deps import EngineDep, PlotId, read_connection
from api.routes.shape_forms import shape_form, shape_post
from api.routes.workspace import FormPageDep, _html, _out_of_reach, _see_other, editable_plot
from api.sessions import PersonDep, check_csrf, csrf_token
from locations import plot_lineage, transactions
from locations.errors import Conflict, Forbidden, InvalidInput, NotFound, PreconditionFailed
from locations.values import BIGINT_MAX, INT_MAX, parse_id
from maps.lineage_page import build_merge_page, build_split_page, zone_plots

router = APIRouter(tags=["pages"])
#: The plot whose merge page it is (its zone's plots are listed).
MergedFrom = Annotated[int | None, Query(ge=1, le=BIGINT_MAX, description="A plot's id")]


@router.get("/maps/my/plots/{plot_id}/split", response_class=HTMLResponse, include_in_schema=False)
def split_form(request: Request, engine: EngineDep, person: PersonDep, plot_id: PlotId,
               page: FormPageDep) -> HTMLResponse:
    return shape_form(request, engine, person, plot_id, page, build_split_page)


@router.post("/maps/my/plots/{plot_id}/split", response_class=HTMLResponse,
             include_in_schema=False)
async def split_post(request: Request, engine: EngineDep, person: PersonDep, plot_id: PlotId,
                     page: FormPageDep) -> HTMLResponse:
    """action=preview: the parts, nothing written; action=split: the split itself."""
    return await shape_post(request, engine, person, plot_id, page, build_split_page,
                            drawn="line", upload="line_file", reader=plot_lineage.read_line_file,
                            max_fields=50, save=_split)


def _split(engine, person, plot_id: int, fields: dict[str, str], line: Any, crs: str | None,
           problem: InvalidInput | None) -> str | tuple[int, dict[str, Any]]:
    """Where to go once split, or the page's status and what it shows."""
    refs = [str(fields.get(f"ref_{n}") or "").strip() for n in range(1, 21)]
    note = str(fields.get("note") or "")
    context: dict[str, Any] = {"refs": refs, "note": note,
                               "line": json.dumps(line) if isinstance(line, dict) else line or ""}
    if problem is not None:
        return 400, context | {"problem": problem}
    if line is None:
        return 400, context | {"problem": InvalidInput("line", "draw the line on the map or "
                                                               "upload a line file")}
    version = parse_id(str(fields.get("version") or ""), INT_MAX)

    def split(conn: Connection) -> tuple[int, dict[str, Any]] | None:
        parts = plot_lineage.split_parts(conn, plot_id, line, crs)
        # The line as stored for the next step: in CRS84, whatever the file's CRS was.
        context["line"] = json.dumps(plot_lineage.line_in_crs84(conn, line, crs))
        context["parts"] = parts
        if fields.get("action") != "split":
            return 200, context
        given = [ref for ref in refs[:len(parts)]]
        plot_lineage.split_plot(conn, person, plot_id, version or 0, context["line"], given,
                                note)
        return None

    try:
        preview = transactions.write(engine, split)
    except (InvalidInput, Conflict, NotFound, PreconditionFailed) as exc:
        if crs not in (None, "EPSG:4326") and "parts" not in context:
            context["line"] = ""  # a file's line in its own CRS: not for the map to draw
        return 400 if isinstance(exc, InvalidInput) else 409, context | {"problem": exc}
    return preview or f"/maps/plots/{plot_id}/history"


# -- merge -----------------------------------------------------------------------------------


@router.get("/maps/my/merge", response_class=HTMLResponse, include_in_schema=False)
def merge_form(request: Request, engine: EngineDep, person: PersonDep, page: FormPageDep,
               plot: MergedFrom = None) -> HTMLResponse:
    """The live plots of the zone of ``plot``, those bordering it first, to tick."""
    if plot is None:
        return _see_other(page.url("/maps/my/plots"))
    current = editable_plot(engine, person, plot, page)
    if isinstance(current, HTMLResponse):
        return current
    with read_connection(engine) as conn:
        plots = zone_plots(conn, current)
    return _html(build_merge_page(page, current=current, plots=plots, ticked={plot},
                                  csrf=csrf_token(request)))


@router.post("/maps/my/merge", response_class=HTMLResponse, include_in_schema=False)
async def merge_post(request: Request, engine: EngineDep, person: PersonDep, page: FormPageDep,
                     plot: MergedFrom = None) -> HTMLResponse:
    if plot is None:
        return _see_other(page.url("/maps/my/plots"))
    form = await request.form()
    current = editable_plot(engine, person, plot, page)
    if isinstance(current, HTMLResponse):
        return current
    with read_connection(engine) as conn:
        plots = zone_plots(conn, current)
    try:
        await check_csrf(request, form)
    except Forbidden:
        return _html(build_merge_page(page, current=current, plots=plots, ticked={plot},
                                      csrf=csrf_token(request),
                                      problem=page.t("ws_refused_csrf")), 403)
    ticked = [parse_id(str(value), BIGINT_MAX) for value in form.getlist("plots")]
    versions = {row["id"]: row["version"] for row in plots}
    # Each ticked plot with the version the form was opened at (a stale one: 409).
    chosen = [(plot_id, parse_id(str(form.get(f"version_{plot_id}") or ""), INT_MAX) or 0)
              for plot_id in ticked if plot_id in versions]
    reference, note = str(form.get("cadastral_ref") or ""), str(form.get("note") or "")

    def merge() -> int:
        return transactions.write(engine, lambda conn: plot_lineage.merge_plots(
            conn, person, chosen, reference, note))

    try:
        new_id = await run_in_threadpool(merge)
    except (InvalidInput, Conflict, NotFound, PreconditionFailed) as exc:
        return _html(build_merge_page(page, current=current, plots=plots,
                                      ticked={i for i, _ in chosen}, reference=reference,
                                      note=note, csrf=csrf_token(request), problem=exc),
                     400 if isinstance(exc, InvalidInput) else 409)
    except Forbidden as refusal:
        return _out_of_reach(page, refusal)
    return _see_other(page.url(f"/maps/plots/{new_id}/history"))
