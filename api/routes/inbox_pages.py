"""The inquiry inbox in the browser (/maps/my/inquiries): a municipality's inquiries by status,
each with its answer prepared (a mailto: link, or sent through LOCATIONS_SMTP_URL when
set) and its status changes, audited.

Editors see and answer their municipalities' inquiries, admins all; an agency reads its
regions' and changes nothing; anybody else is refused.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import EngineDep
from api.routes.desk import back_to, checked_form, html, refusal
from api.routes.pages import PageDep
from api.sessions import PersonDep, csrf_token
from locations import inquiries, inquiry_inbox
from locations.accounts import Account, authorise, may
from locations.errors import Conflict, InvalidInput, LocationsError
from locations.settings import get_settings
from locations.values import BIGINT_MAX
from locations.vocabulary import INQUIRY_STATUS
from maps.desk_pages import build_inbox_page, build_inquiry_page
from maps.page import PageContext

router = APIRouter(tags=["pages"])
PATH = "/maps/my/inquiries"
InquiryId = Annotated[int, Path(ge=1, le=BIGINT_MAX, description="An inquiry's id")]
Status = Annotated[Literal[INQUIRY_STATUS.codes] | None,  # type: ignore[valid-type]
                   Query(description="Only inquiries of this status")]


def _signature(person: Account) -> str:
    return person.name


def _inquiry_page(request: Request, engine, person: Account, page: PageContext,
                  inquiry_id: int, *, error: str | None = None, notice: str | None = None,
                  draft: str | None = None, status_code: int = 200) -> HTMLResponse:
    with engine.connect() as conn:
        inquiry = inquiries.get_inquiry(conn, person, inquiry_id)
        events = inquiry_inbox.events(conn, inquiry_id)
    may_change = may(person, "answer", inquiry["plot"]["municipality_id"])
    return html(build_inquiry_page(
        page.t, page, inquiry=inquiry, events=events, csrf=csrf_token(request),
        may_change=may_change,
        mailto=inquiry_inbox.mailto_link(inquiry, _signature(person)) if may_change else None,
        draft=draft or inquiry_inbox.reply_draft(inquiry, _signature(person)),
        smtp=bool(get_settings().smtp_url), error=error, notice=notice), status_code)


@router.get(PATH, response_class=HTMLResponse, include_in_schema=False)
def inbox(
    request: Request,
    engine: EngineDep,
    person: PersonDep,
    page: PageDep,
    status: Status = None,
) -> HTMLResponse:
    try:
        with engine.connect() as conn:
            found = inquiries.list_inquiries(conn, person, status=status, limit=200)
            counts = inquiry_inbox.counts(conn, person)
    except LocationsError as exc:
        return refusal(page, exc)
    return html(build_inbox_page(page.t, page, inquiries=found, counts=counts, status=status))


@router.get(PATH + "/{inquiry_id}", response_class=HTMLResponse, include_in_schema=False)
def inquiry(
    request: Request,
    engine: EngineDep,
    person: PersonDep,
    inquiry_id: InquiryId,
    page: PageDep,
    done: Annotated[Literal["status", "sent"] | None, Query()] = None,
) -> HTMLResponse:
    notice = {"status": page.t("desk_inquiry_status_changed"),
              "sent": page.t("desk_inquiry_sent")}.get(done or "")
    try:
        return _inquiry_page(request, engine, person, page, inquiry_id, notice=notice)
    except LocationsError as exc:
        return refusal(page, exc)


@router.post(PATH + "/{inquiry_id}/status", include_in_schema=False)
async def change_status(
    request: Request,
    engine: EngineDep,
    person: PersonDep,
    inquiry_id: InquiryId,
    page: PageDep,
) -> Response:
    try:
        authorise(person, "answer")
        form = await checked_form(request)
        status = str(form.get("status", ""))

        def change() -> None:
            with engine.begin() as conn:
                inquiry_inbox.set_status(conn, person, inquiry_id, status, via="page")

        await run_in_threadpool(change)
    except LocationsError as exc:
        return refusal(page, exc)
    return back_to(page, f"{PATH}/{inquiry_id}", done="status")


@router.post(PATH + "/{inquiry_id}/reply", include_in_schema=False)
async def reply(
    request: Request,
    engine: EngineDep,
    person: PersonDep,
    inquiry_id: InquiryId,
    page: PageDep,
) -> Response:
    try:
        authorise(person, "answer")
        form = await checked_form(request)
    except LocationsError as exc:
        return refusal(page, exc)
    body = str(form.get("reply", ""))
    try:
        await run_in_threadpool(inquiry_inbox.send_reply, engine, person, inquiry_id, body)
    except (InvalidInput, Conflict) as exc:
        # The answer stays as typed, with what went wrong above it.
        message = str(exc)
        try:
            return await run_in_threadpool(
                lambda: _inquiry_page(request, engine, person, page, inquiry_id,
                                      error=message, draft=body, status_code=400))
        except LocationsError as again:
            return refusal(page, again)
    except LocationsError as exc:
        return refusal(page, exc)
    return back_to(page, f"{PATH}/{inquiry_id}", done="sent")
