"""Inquiries: the investor's form on a plot (a page) and the API that the plot's
municipality, its region's agency and admins read them with."""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, BackgroundTasks, Form, Path, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from api.auth import CurrentAccount, client_address
from api.deps import ConnectionDep, EngineDep, PlotId, read_connection
from api.responses import ERROR_BODY, error_responses
from api.routes.pages import AcceptLanguage, Lang
from locations import inquiries
from locations.settings import get_settings
from locations.values import BIGINT_MAX
from locations.vocabulary import INQUIRY_STATUS
from maps.i18n import Translator, negotiate
from maps.inquiry_page import build_inquiry_page, consent_text
from maps.page import PageContext

router = APIRouter()

PAGE_PATH = "/maps/plots/{plot_id}/inquiry"
#: A form field as the browser sends it; every check is the form's own, so that a bad
#: value comes back as a message on the page, never as a JSON 422.
FormText = Annotated[str, Form()]


def _page(request: Request, lang: str | None, accept_language: str | None) -> PageContext:
    return PageContext(t=Translator(negotiate(lang, accept_language)), path=request.url.path)


def _html(content: str, status_code: int = 200, headers: dict | None = None) -> HTMLResponse:
    # A form holds personal data once filled: never kept by a cache.
    return HTMLResponse(content, status_code=status_code,
                        headers={"Cache-Control": "no-store", **(headers or {})})


def same_origin(request: Request) -> bool:
    """Whether a form post comes from the platform's own page, not from another site (CSRF).

    Browsers say where a request comes from: Sec-Fetch-Site (computed by the browser, so
    it holds behind any proxy), else Origin, which must name this host. A client that
    sends neither is no browser on another site's page, so it may post like any client.
    """
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc.lower() == request.headers.get("host", "").lower()


@router.get(PAGE_PATH, response_class=HTMLResponse, tags=["pages"],
            summary="A plot's inquiry form", responses=error_responses(404))
def inquiry_form(request: Request, conn: ConnectionDep, plot_id: PlotId, lang: Lang = None,
                 accept_language: AcceptLanguage = None) -> HTMLResponse:
    page = _page(request, lang, accept_language)
    plot = inquiries.inquiry_target(conn, plot_id)
    return _html(build_inquiry_page(page.t, page, plot=plot,
                                    retention_days=get_settings().inquiry_retention_days))


@router.post(PAGE_PATH, response_class=HTMLResponse, tags=["pages"],
             summary="Send a plot's inquiry form",
             responses={**error_responses(404),
                        # JSON when a path or query parameter is refused app-wide.
                        400: {"description": "A field was refused: the form again, each "
                                             "problem next to its field",
                              "content": {"text/html": {},
                                          "application/json": {"schema": ERROR_BODY}}},
                        403: {"description": "Posted from another site's page: the form "
                                             "again, saying so", "content": {"text/html": {}}},
                        429: {"description": "Too many inquiries from this address this hour: "
                                             "the form again, Retry-After",
                              "content": {"text/html": {}}}})
def send_inquiry(
    request: Request,
    background: BackgroundTasks,
    engine: EngineDep,
    plot_id: PlotId,
    name: FormText = "",
    company: FormText = "",
    email: FormText = "",
    phone: FormText = "",
    message: FormText = "",
    consent: FormText = "",
    # The honeypot, maps.inquiry_page.TRAP_FIELD.
    website: Annotated[str, Form(description="Leave empty (a field only bots fill in)")] = "",
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    """Check, store, and e-mail the inquiry to the zone manager (after answering, when
    LOCATIONS_SMTP_URL is set); the investor gets the confirmation page."""
    page = _page(request, lang, accept_language)
    t = page.t
    settings = get_settings()
    with read_connection(engine) as conn:
        plot = inquiries.inquiry_target(conn, plot_id)
    typed = {"name": name, "company": company, "email": email, "phone": phone,
             "message": message, "consent": consent}

    def form_again(status: int, problems=None, general=None, headers=None) -> HTMLResponse:
        return _html(build_inquiry_page(t, page, plot=plot, values=typed, problems=problems,
                                        general=general,
                                        retention_days=settings.inquiry_retention_days),
                     status, headers)

    if not same_origin(request):
        return form_again(403, general=t("inquiry_foreign"))
    # A bot that filled the trap is answered like a person, so it learns nothing; what it
    # sent is neither checked nor stored nor mailed, but it counts towards the limit.
    trapped = bool(website)
    values, problems = inquiries.check_submission(typed)
    if problems and not trapped:
        return form_again(400, problems=problems)
    inquiry_id = None
    with engine.begin() as conn:
        wait = inquiries.admit(conn, client_address(request))
        if not wait and not trapped:
            inquiry_id = inquiries.store(conn, plot, values, t.lang,
                                         consent_text(t, settings.inquiry_retention_days),
                                         settings)
    if wait:
        return form_again(429, general=t("inquiry_too_many", minutes=math.ceil(wait / 60)),
                          headers={"Retry-After": str(wait)})
    if inquiry_id is not None:
        # After the answer: the investor never waits for the mail server, and the
        # inquiry is stored whatever the server does.
        background.add_task(inquiries.notify, engine, inquiry_id, settings)
    return _html(build_inquiry_page(t, page, plot=plot, values=values if not trapped else typed,
                                    sent=True, retention_days=settings.inquiry_retention_days))


# -- the API ----------------------------------------------------------------------------------

class InquiryPlot(BaseModel):
    id: int
    cadastral_ref: str
    zone_id: int
    zone_name: str
    municipality_id: int
    municipality_name: str
    region_code: str


class Notification(BaseModel):
    """What became of the zone manager's e-mail: ``pending`` (being sent), ``sent``,
    ``failed`` (``error`` says why; ``locations inquiries send`` tries again), ``off``
    (no LOCATIONS_SMTP_URL), ``no_recipient`` (the zone has no manager's e-mail)."""

    state: Literal["pending", "sent", "failed", "off", "no_recipient"]
    to: str | None
    sent_at: dt.datetime | None
    error: str | None


class Inquiry(BaseModel):
    id: int
    received_at: dt.datetime
    lang: Literal["en", "sl", "de"]
    name: str
    company: str
    email: str
    phone: str | None
    message: str
    consent_text: str
    status: Literal[INQUIRY_STATUS.codes] = Field(  # type: ignore[valid-type]
        description="Where it stands in the municipality's inbox (/maps/my/inquiries)")
    plot: InquiryPlot
    notification: Notification


class InquiryList(BaseModel):
    inquiries: list[Inquiry]
    next: str | None


READ_ERRORS = error_responses(401, 403, 429)


@router.get("/inquiries", response_model=InquiryList, tags=["inquiries"],
            summary="Inquiries about the plots one keeps", responses=READ_ERRORS)
def list_inquiries(
    request: Request,
    conn: ConnectionDep,
    account: CurrentAccount,
    plot: Annotated[int | None, Query(ge=1, le=BIGINT_MAX, description="Only this plot's")] = None,
    before: Annotated[int | None, Query(ge=1, le=BIGINT_MAX,
                                        description="Only older than this inquiry id")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> InquiryList:
    """Newest first: a municipality editor's municipalities', an agency analyst's regions',
    every one for an admin; investors may not. Follow ``next`` for older ones."""
    items = inquiries.list_inquiries(conn, account, plot_id=plot, before=before, limit=limit)
    following = None
    if len(items) == limit:
        following = str(request.url.include_query_params(before=items[-1]["id"]))
    return InquiryList(inquiries=items, next=following)


@router.get("/inquiries/{inquiry_id}", response_model=Inquiry, tags=["inquiries"],
            summary="One inquiry", responses={**READ_ERRORS, **error_responses(404)})
def get_inquiry(
    conn: ConnectionDep,
    account: CurrentAccount,
    inquiry_id: Annotated[int, Path(ge=1, le=BIGINT_MAX, description="An inquiry's id")],
) -> Inquiry:
    """404 also for an inquiry outside the account's scope."""
    return inquiries.get_inquiry(conn, account, inquiry_id)
