"""A plot's photos and documents: the editors' page to add and remove them
(/maps/my/plots/{id}/files). Everybody sees them through ``api.routes.plot_files``."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path as FilePath
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from api.deps import EngineDep, PlotId
from api.routes.desk import back_to, checked_form, html, refusal
from api.routes.imports import receive_form
from api.routes.pages import PageDep
from api.sessions import PersonDep, check_csrf, csrf_token
from locations import attachments, transactions
from locations.accounts import Account
from locations.errors import InvalidInput, LocationsError
from locations.values import BIGINT_MAX
from maps.desk_pages import build_attachments_page, file_size
from maps.page import PageContext

router = APIRouter(tags=["pages"])
FileId = Annotated[int, Path(ge=1, le=BIGINT_MAX, description="A file's id")]
MANAGE = "/maps/my/plots/{plot_id}/files"


def _manage_page(request: Request, engine, person: Account, page: PageContext, plot_id: int,
                 *, error: str | None = None, notice: str | None = None,
                 status_code: int = 200) -> HTMLResponse:
    with engine.connect() as conn:
        plot = attachments.check_editor(conn, person, plot_id)
        files = attachments.list_for_plot(conn, plot_id)
    for found in files:
        found["size_text"] = file_size(page.t, found["byte_size"])
    return html(build_attachments_page(
        page.t, page, plot=plot, files=files,
        csrf=csrf_token(request), error=error, notice=notice), status_code)


@router.get(MANAGE, response_class=HTMLResponse, include_in_schema=False)
def manage(
    request: Request,
    engine: EngineDep,
    person: PersonDep,
    plot_id: PlotId,
    page: PageDep,
    done: Annotated[Literal["added", "removed"] | None, Query()] = None,
) -> HTMLResponse:
    notice = {"added": page.t("desk_files_added"),
              "removed": page.t("desk_files_removed")}.get(done or "")
    try:
        return _manage_page(request, engine, person, page, plot_id, notice=notice)
    except LocationsError as exc:
        return refusal(page, exc)


@router.post(MANAGE, include_in_schema=False)
async def upload(
    request: Request,
    engine: EngineDep,
    person: PersonDep,
    plot_id: PlotId,
    page: PageDep,
) -> Response:
    try:
        # Who asks, before a byte of the body is read.
        await run_in_threadpool(_check_editor, engine, person, plot_id)
        folder = FilePath(await run_in_threadpool(tempfile.mkdtemp, prefix="locations-file-"))
        try:
            fields, sent = await receive_form(request, folder, suffixes=None)
            await check_csrf(request, fields)
            if sent is None:
                raise InvalidInput("file", "choose a PDF, JPEG or PNG file")
            content = await run_in_threadpool(sent.path.read_bytes)
        finally:
            await run_in_threadpool(shutil.rmtree, folder, True)

        def add(conn: Connection) -> None:
            attachments.add(conn, person, plot_id, content, sent.name, fields.get("title"))

        await run_in_threadpool(transactions.write, engine, add)
    except InvalidInput as exc:
        message = str(exc)
        try:
            return await run_in_threadpool(
                lambda: _manage_page(request, engine, person, page, plot_id,
                                     error=message, status_code=400))
        except LocationsError as again:
            return refusal(page, again)
    except LocationsError as exc:
        return refusal(page, exc)
    return back_to(page, MANAGE.format(plot_id=plot_id), done="added")


def _check_editor(engine, person: Account, plot_id: int) -> None:
    with engine.connect() as conn:
        attachments.check_editor(conn, person, plot_id)


@router.post(MANAGE + "/{file_id}/delete", include_in_schema=False)
async def delete(
    request: Request,
    engine: EngineDep,
    person: PersonDep,
    plot_id: PlotId,
    file_id: FileId,
    page: PageDep,
) -> Response:
    try:
        await checked_form(request)

        def remove(conn: Connection) -> None:
            attachments.remove(conn, person, plot_id, file_id)

        await run_in_threadpool(transactions.write, engine, remove)
    except LocationsError as exc:
        return refusal(page, exc)
    return back_to(page, MANAGE.format(plot_id=plot_id), done="removed")
