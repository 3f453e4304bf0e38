"""What the desk's pages (bulk updates, inquiry inbox, photos and documents, import jobs) share:
their answers, who may open them, and refusals worded as pages.

A refusal on these pages is a page, not JSON: the person reads what went wrong (the
core's own message, naming the field, row or plot) with the platform's header around it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from api.errors import _status_for
from api.sessions import check_csrf, csrf_token
from locations.errors import LocationsError
from maps.desk_pages import build_refusal_page
from maps.page import PageContext


def html(content: str, status_code: int = 200) -> HTMLResponse:
    # Personal and internal data: never kept by any cache.
    return HTMLResponse(content, status_code=status_code, headers={"Cache-Control": "no-store"})


def refusal(page: PageContext, exc: LocationsError) -> HTMLResponse:
    """The core's refusal as a page, with the status the API answers it with."""
    status = _status_for(exc)
    return html(build_refusal_page(page.t, page, status=status, message=str(exc)), status)


def session_key(request: Request) -> str:
    """What binds a staged file to the browser session: the session's form token."""
    return csrf_token(request)


async def checked_form(request: Request) -> Mapping[str, Any]:
    """A small url-encoded form, refused (Forbidden) without this session's CSRF token."""
    form = await request.form(max_files=0, max_fields=20)
    await check_csrf(request, form)
    return form


def shown_name(name: str) -> str:
    """An uploaded file's name as it may be stored and shown: no control characters (a NUL
    would not even reach the database), at most 200 characters."""
    return re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", "", name).strip()[:200] or "upload"


def back_to(page: PageContext, path: str, **query: object) -> RedirectResponse:
    """After a change, the page that shows it (303: a reload does not post again)."""
    return RedirectResponse(page.url(path, **query), status_code=303,
                            headers={"Cache-Control": "no-store"})
