"""What the pages that give a plot a new shape share: the split (a line drawn or uploaded)
and the outline (a file). Each shows the plot's form to a person who may edit it, reads a
posted form only after that and after its CSRF token, takes the shape drawn on the page or
the file uploaded (a file wins), and answers with the page again or a redirect.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api.deps import read_connection
from api.routes.workspace import _html, _see_other, editable_plot
from api.sessions import check_csrf, csrf_token
from locations import plot_lineage
from locations.accounts import Account
from locations.errors import Forbidden, InvalidInput
from maps.page import PageContext

#: A page builder: ``build(page, current=, outline=, csrf=, **context)`` -> HTML.
PageBuilder = Callable[..., str]
#: Reads a shape from a file: the shape and its CRS.
ShapeReader = Callable[[Path], tuple[Any, str]]
#: What a form's saving answered: where to go, or the page's status and what it shows.
Answer = str | tuple[int, dict[str, Any]]
#: Saves a posted shape: ``save(engine, person, plot_id, fields, shape, crs, problem)``,
#: run in the thread pool (it writes).
ShapeSaver = Callable[[Engine, Account, int, dict[str, str], Any, str | None,
                       InvalidInput | None], Answer]


@dataclass(frozen=True)
class ShapePost:
    """A posted shape form of a plot the person may edit."""

    current: dict[str, Any]
    outline: Any
    #: The form's text fields.
    fields: dict[str, str]
    #: The shape drawn or kept on the page (GeoJSON, or text PostGIS will judge), or the file's.
    shape: Any
    #: The file's CRS; None for a shape from the page, which is in CRS84.
    crs: str | None
    #: Why the uploaded file could not be read.
    problem: InvalidInput | None


def _editable(engine: Engine, person: Account, plot_id: int, page: PageContext
              ) -> tuple[dict[str, Any], Any] | HTMLResponse:
    """The plot as its form shows it and its outline; the refusal's page when the person
    may not edit it."""
    current = editable_plot(engine, person, plot_id, page)
    if isinstance(current, HTMLResponse):
        return current
    with read_connection(engine) as conn:
        return current, plot_lineage.plot_outline(conn, plot_id)


def shape_form(request: Request, engine: Engine, person: Account, plot_id: int,
               page: PageContext, build: PageBuilder) -> HTMLResponse:
    """The empty form (GET)."""
    loaded = _editable(engine, person, plot_id, page)
    if isinstance(loaded, HTMLResponse):
        return loaded
    current, outline = loaded
    return _html(build(page, current=current, outline=outline, csrf=csrf_token(request)))


async def shape_post(request: Request, engine: Engine, person: Account, plot_id: int,
                     page: PageContext, build: PageBuilder, *, drawn: str, upload: str,
                     reader: ShapeReader, max_fields: int, save: ShapeSaver) -> HTMLResponse:
    """The answer to a posted form (POST): its shape read (see ``_read_shape_post``), then
    ``save``'s answer, a redirect or the page again."""
    posted = await _read_shape_post(request, engine, person, plot_id, page, build, drawn=drawn,
                                    upload=upload, reader=reader, max_fields=max_fields)
    if not isinstance(posted, ShapePost):
        return posted
    answer = await run_in_threadpool(save, engine, person, plot_id, posted.fields, posted.shape,
                                     posted.crs, posted.problem)
    return _answer_page(request, page, build, posted, answer)


async def _read_shape_post(request: Request, engine: Engine, person: Account, plot_id: int,
                           page: PageContext, build: PageBuilder, *, drawn: str,
                           upload: str, reader: ShapeReader, max_fields: int
                           ) -> ShapePost | HTMLResponse:
    """The posted form with its shape: the page's field ``drawn``, or the file ``upload``
    read by ``reader``; the refusal's page (403) for a person who may not edit the plot
    or a form without its CSRF token."""
    loaded = _editable(engine, person, plot_id, page)
    if isinstance(loaded, HTMLResponse):
        return loaded
    current, outline = loaded
    # The person may edit the plot before the body (and its file) is read; its size is
    # limited as it arrives (BodySizeLimit).
    form = await request.form(max_files=1, max_fields=max_fields)
    try:
        await check_csrf(request, form)
    except Forbidden:
        return _html(build(page, current=current, outline=outline, csrf=csrf_token(request),
                           problem=page.t("ws_refused_csrf")), 403)
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    shape, crs, problem = _drawn(fields, drawn), None, None
    file = form.get(upload)
    if isinstance(file, UploadFile) and file.filename:
        content = await file.read()
        shape, crs, problem = await run_in_threadpool(read_upload, file.filename, content,
                                                      reader)
    return ShapePost(current, outline, fields, shape, crs, problem)


def _answer_page(request: Request, page: PageContext, build: PageBuilder, posted: ShapePost,
                 answer: Answer) -> HTMLResponse:
    """A redirect where the saving sent the person, or the page with what it shows."""
    if isinstance(answer, str):
        return _see_other(page.url(answer))
    status, context = answer
    return _html(build(page, current=posted.current, outline=posted.outline,
                       csrf=csrf_token(request), **context), status)


def read_upload(name: str, content: bytes, reader: ShapeReader
                ) -> tuple[Any, str | None, InvalidInput | None]:
    """The shape and CRS ``reader`` finds in an uploaded file, read from a folder removed
    afterwards; or why it could not."""
    folder = Path(tempfile.mkdtemp(prefix="locations-upload-"))
    try:
        path = folder / ("upload" + Path(name).suffix.lower()[:10])
        path.write_bytes(content)
        shape, crs = reader(path)
        return shape, crs, None
    except InvalidInput as exc:
        return None, None, exc
    finally:
        shutil.rmtree(folder, True)


def _drawn(fields: dict[str, str], name: str) -> Any:
    raw = str(fields.get(name) or "").strip()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw  # PostGIS names what is wrong with it
