"""Pages of people signing in: the sign-in form, sign-out, and the invitation link where a
person sets their password (and is signed in)."""

from __future__ import annotations

import math
from typing import Annotated
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from api.auth import client_address
from api.deps import EngineDep
from api.responses import ERROR_BODY
from api.routes.pages import AcceptLanguage, Lang
from api.routes.pages import _page as page_context
from api.sessions import check_csrf, csrf_token, signed_in, visit_of
from locations import sign_in
from locations.accounts import Account
from locations.errors import Forbidden, NotFound, TooManyRequests, Unauthenticated
from locations.settings import get_settings
from locations.values import text_problem
from maps.sign_in_page import build_invitation_page, build_sign_in_page, password_message

router = APIRouter(tags=["pages"])

#: A form field as the browser sends it; bad values come back as a message on the page.
FormText = Annotated[str, Form()]
#: Where signing in leads back to: a path of this site.
NextUrl = Annotated[str | None, Query(max_length=2000, description="Path to return to")]
InvitationToken = Annotated[str, Path(min_length=1, max_length=100,
                                      description="The invitation link's token")]

#: An HTML page as an answer, for the statuses the forms answer with.
HTML = {"content": {"text/html": {}}}
#: A refusal the app makes before the route (a control character in the query): JSON.
JSON_OR_HTML = {"content": {"text/html": {}, "application/json": {"schema": ERROR_BODY}}}


def _html(content: str, status_code: int = 200, headers: dict | None = None) -> HTMLResponse:
    # Forms with tokens and names: never kept by any cache.
    return HTMLResponse(content, status_code=status_code,
                        headers={"Cache-Control": "no-store", **(headers or {})})


#: Pages signing in never returns to: the forms of signing in themselves.
NOWHERE_TO_RETURN = ("/maps/sign-in", "/maps/sign-out", "/maps/invitations/")


def safe_next(next_url: str | None) -> str | None:
    """``next_url`` if it is a path of this site, else None: signing in never leads
    elsewhere (``//other.site`` or ``/\\other.site`` are other sites to a browser)."""
    if not next_url or not next_url.startswith("/") or next_url.startswith(("//", "/\\")):
        return None
    if text_problem(next_url) is not None or "\\" in next_url:
        return None
    if urlsplit(next_url).path.startswith(NOWHERE_TO_RETURN):
        return None
    return next_url


def _with_lang(url: str, lang: str | None) -> str:
    """``url`` in the language chosen, unless it names one itself."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if lang and not any(key == "lang" for key, _ in query):
        query.append(("lang", lang))
    return parts.path + (f"?{urlencode(query)}" if query else "")


#: Where each role starts when signing in did not come from a page: the people who keep
#: plots at their plots, the others at the start page.
HOME_BY_ROLE = {"municipality": "/maps/my/plots", "admin": "/maps/my/plots"}


def landing(account: Account, next_url: str | None, lang: str | None) -> str:
    """Where a person goes once signed in: back where they came from, else their start."""
    return _with_lang(safe_next(next_url) or HOME_BY_ROLE.get(account.role, "/"), lang)


# -- sign in -------------------------------------------------------------------------------

@router.get("/maps/sign-in", response_class=HTMLResponse, summary="The sign-in form")
def sign_in_form(
    request: Request,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
    next: NextUrl = None,
    signed_out: Annotated[bool, Query(description="Say that signing out succeeded")] = False,
) -> HTMLResponse:
    page = page_context(request, lang, accept_language)
    return _html(build_sign_in_page(page, csrf=csrf_token(request), next_url=safe_next(next),
                                    signed_out=signed_out))


def _sign_in(engine: Engine, name: str, password: str, client: str,
             old_session: str | None) -> tuple[str, Account]:
    """Check the password and begin a session: its token, and the account. The session the browser had
    before (if any) ends, so that no cookie set before signing in stays valid after."""
    with engine.begin() as conn:
        account = sign_in.check_password(conn, name, password, client)
    if account is None:
        # Raised after the commit: the failure stays counted.
        raise Unauthenticated("wrong name or password")
    with engine.begin() as conn:
        if old_session:
            sign_in.end_session(conn, old_session)
        return sign_in.start_session(conn, account.id,
                                     sign_in.SessionLimits.of(get_settings())), account


@router.post(
    "/maps/sign-in", response_class=HTMLResponse, summary="Sign in with name and password",
    responses={303: {"description": "Signed in: on to the page asked for, with the session "
                                    "cookie"},
               400: {"description": "A query parameter refused", **JSON_OR_HTML},
               401: {"description": "Wrong name or password: the form again", **HTML},
               403: {"description": "The form's token is missing or stale: the form again",
                     **HTML},
               429: {"description": "Too many failed sign-ins from this address: the form "
                                    "again, Retry-After", **HTML}},
)
async def sign_in_post(
    request: Request,
    engine: EngineDep,
    name: FormText = "",
    password: FormText = "",
    csrf: FormText = "",
    next: FormText = "",
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    page = page_context(request, lang, accept_language)
    t = page.t
    next_url = safe_next(next)

    async def form_again(status: int, problem: str, headers: dict | None = None):
        token = await run_in_threadpool(csrf_token, request)
        return _html(build_sign_in_page(page, csrf=token, next_url=next_url, name=name,
                                        problem=problem), status, headers)

    try:
        await check_csrf(request, {"csrf": csrf})
    except Forbidden:
        return await form_again(403, t("signin_form_expired"))
    visit = visit_of(request)
    try:
        token, account = await run_in_threadpool(_sign_in, engine, name, password,
                                                 client_address(request), visit.session_token)
    except TooManyRequests as exc:
        return await form_again(429, t("signin_too_many",
                                       minutes=math.ceil(exc.retry_after / 60)),
                                {"Retry-After": str(exc.retry_after)})
    except Unauthenticated:
        return await form_again(401, t("signin_wrong"))
    response = RedirectResponse(landing(account, next_url, lang), status_code=303,
                                headers={"Cache-Control": "no-store"})
    visit.start_session(response, token)
    return response


@router.post(
    "/maps/sign-out", summary="Sign out",
    responses={303: {"description": "Signed out: the session ended and its cookie cleared"},
               403: {"description": "The form's token is missing or stale; still signed in",
                     "content": {"application/json": {"schema": ERROR_BODY}}}},
)
async def sign_out(request: Request, engine: EngineDep, csrf: FormText = "",
                   lang: Lang = None) -> RedirectResponse:
    person = await signed_in(request, engine)
    visit = visit_of(request)
    target = _with_lang("/maps/sign-in?signed_out=1", lang)
    response = RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})
    if person is None:
        # Nobody to sign out (the session ended already): nothing to protect either.
        visit.end_session(response)
        return response
    await check_csrf(request, {"csrf": csrf})

    def end() -> None:
        with engine.begin() as conn:
            sign_in.end_session(conn, visit.session_token)

    await run_in_threadpool(end)
    visit.end_session(response)
    return response


# -- invitations -------------------------------------------------------------------------

def _open_invitation(engine: Engine, token: str) -> sign_in.Invitation | None:
    # From the primary, not a read replica: a link made a moment ago, or just used, is
    # answered as it is now.
    with engine.connect() as conn:
        try:
            return sign_in.open_invitation(conn, token)
        except NotFound:
            return None


GONE = {"description": "The link is unknown, used, expired or replaced: a page saying so", **HTML}


@router.get("/maps/invitations/{token}", response_class=HTMLResponse,
            summary="An invitation: the form to set one's password",
            responses={404: GONE})
def invitation_form(request: Request, engine: EngineDep, token: InvitationToken,
                    lang: Lang = None, accept_language: AcceptLanguage = None) -> HTMLResponse:
    page = page_context(request, lang, accept_language)
    invitation = _open_invitation(engine, token)
    if invitation is None:
        return _html(build_invitation_page(page, invitation=None), 404)
    return _html(build_invitation_page(page, invitation=invitation, csrf=csrf_token(request),
                                       action=page.url(request.url.path)))


@router.post(
    "/maps/invitations/{token}", response_class=HTMLResponse,
    summary="Set one's password through an invitation, and sign in",
    responses={303: {"description": "Password set: signed in, on to one's start page"},
               400: {"description": "The password is refused: the form again, saying why",
                     **JSON_OR_HTML},
               403: {"description": "The form's token is missing or stale: the form again",
                     **HTML},
               404: GONE},
)
async def invitation_post(
    request: Request,
    engine: EngineDep,
    token: InvitationToken,
    password: FormText = "",
    repeat: FormText = "",
    csrf: FormText = "",
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    page = page_context(request, lang, accept_language)
    t = page.t
    invitation = await run_in_threadpool(_open_invitation, engine, token)
    if invitation is None:
        return _html(build_invitation_page(page, invitation=None), 404)

    async def form_again(status: int, problem: str) -> HTMLResponse:
        csrf_now = await run_in_threadpool(csrf_token, request)
        return _html(build_invitation_page(page, invitation=invitation, csrf=csrf_now,
                                           action=page.url(request.url.path), problem=problem),
                     status)

    try:
        await check_csrf(request, {"csrf": csrf})
    except Forbidden:
        return await form_again(403, t("signin_form_expired"))
    if (problem := sign_in.password_problem(password, repeat)) is not None:
        return await form_again(400, password_message(t, problem))

    old_session = visit_of(request).session_token

    def accept() -> tuple[str, Account] | None:
        with engine.begin() as conn:
            try:
                account = sign_in.accept_invitation(conn, token, password)
            except NotFound:
                return None  # used or revoked between the two reads
            if old_session:
                # Whoever was signed in on this browser before is signed out.
                sign_in.end_session(conn, old_session)
            return sign_in.start_session(conn, account.id,
                                         sign_in.SessionLimits.of(get_settings())), account

    accepted = await run_in_threadpool(accept)
    if accepted is None:
        return _html(build_invitation_page(page, invitation=None), 404)
    session, account = accepted
    response = RedirectResponse(landing(account, None, lang), status_code=303,
                                headers={"Cache-Control": "no-store"})
    visit_of(request).start_session(response, session)
    return response
