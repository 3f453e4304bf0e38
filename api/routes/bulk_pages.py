"""Bulk plot updates in the browser (/maps/my/bulk): upload a CSV or XLSX, read the dry run's
preview row by row, then apply it all or nothing.

The file stays on the server between preview and apply (``locations.staged_uploads``),
under a token bound to the person's session; applying reads the very file previewed
again and runs the same engine as ``POST /imports/plot-updates`` and ``locations plots
update``, which checks every row again and writes nothing if any has a problem.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from api.deps import EngineDep
from api.routes.desk import (
    checked_form,
    html,
    refusal,
    session_key,
    shown_name,
)
from api.routes.imports import receive_form
from api.routes.pages import PageDep
from api.sessions import PersonDep, check_csrf, csrf_token
from locations import bulk_updates, staged_uploads, transactions
from locations.accounts import authorise
from locations.errors import InvalidInput, LocationsError
from maps.desk_pages import build_bulk_page

router = APIRouter(tags=["pages"])
PATH = "/maps/my/bulk"


@router.get(PATH, response_class=HTMLResponse, summary="Bulk plot updates: the upload form",
            include_in_schema=False)
def bulk_form(request: Request, person: PersonDep, page: PageDep) -> HTMLResponse:
    try:
        authorise(person, "edit")
    except LocationsError as exc:
        return refusal(page, exc)
    return html(build_bulk_page(page.t, page, csrf=csrf_token(request)))


@router.post(PATH, response_class=HTMLResponse, summary="Bulk plot updates: the preview",
             include_in_schema=False)
async def bulk_preview(
    request: Request,
    engine: EngineDep,
    person: PersonDep,
    page: PageDep,
) -> HTMLResponse:
    csrf = csrf_token(request)
    try:
        # The role before the body: nobody else's upload is read at all.
        authorise(person, "edit")
        folder = Path(await run_in_threadpool(tempfile.mkdtemp, prefix="locations-bulk-page-"))
        try:
            fields, upload = await receive_form(request, folder, suffixes=None)
            await check_csrf(request, fields)
            if upload is None:
                raise InvalidInput("file", "choose a CSV or XLSX file")
            content = await run_in_threadpool(upload.path.read_bytes)
            upload.name = shown_name(upload.name)
        finally:
            await run_in_threadpool(shutil.rmtree, folder, True)
    except LocationsError as exc:
        if not isinstance(exc, InvalidInput):
            return refusal(page, exc)
        return html(build_bulk_page(page.t, page, csrf=csrf, error=str(exc)), 400)

    def preview() -> tuple[dict[str, Any], str | None]:
        rows = bulk_updates.read_table(content, upload.name)
        with engine.begin() as conn:
            report = bulk_updates.plan_updates(conn, person, rows)
            token = None
            # Kept only when it can be applied: a file with problems is corrected and sent again.
            if report["plots_changed"] and not report["rows_with_problems"]:
                token = staged_uploads.stage(conn, person, session_key(request),
                                             "plot_updates", upload.name, content)
        return report, token

    try:
        report, token = await run_in_threadpool(preview)
    except InvalidInput as exc:
        return html(build_bulk_page(page.t, page, csrf=csrf, error=str(exc),
                                    file_name=upload.name), 400)
    except LocationsError as exc:
        return refusal(page, exc)
    return html(build_bulk_page(page.t, page, csrf=csrf, report=report, token=token,
                                file_name=upload.name))


@router.post(PATH + "/apply", response_class=HTMLResponse,
             summary="Bulk plot updates: apply the file previewed", include_in_schema=False)
async def bulk_apply(
    request: Request,
    engine: EngineDep,
    person: PersonDep,
    page: PageDep,
) -> HTMLResponse:
    csrf = csrf_token(request)
    try:
        authorise(person, "edit")
        form = await checked_form(request)
    except LocationsError as exc:
        return refusal(page, exc)
    key = session_key(request)

    def apply(conn: Connection) -> tuple[dict[str, Any], str]:
        staged = staged_uploads.take(conn, person, key, "plot_updates",
                                     str(form.get("token", "")))
        rows = bulk_updates.read_table(staged["content"], staged["file_name"])
        note = str(form.get("note") or "").strip() or staged["file_name"]
        report = bulk_updates.apply_updates(conn, person, rows, note=note)
        staged_uploads.discard(conn, staged["id"])
        return report, staged["file_name"]

    try:
        report, file_name = await run_in_threadpool(transactions.write, engine, apply)
    except InvalidInput as exc:
        # Rows changed meanwhile so that one no longer applies: said, nothing written.
        return html(build_bulk_page(page.t, page, csrf=csrf, error=str(exc)), 400)
    except LocationsError as exc:
        return refusal(page, exc)
    return html(build_bulk_page(page.t, page, csrf=csrf, report=report, file_name=file_name,
                                applied=True))
