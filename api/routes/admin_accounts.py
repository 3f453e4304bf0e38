"""The admin's accounts page: every account, creating one with an invitation link (shown
once), a new invitation (reset) and revocation. Admins only: nobody signed in is sent to
sign in, anybody else refused (403)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Connection, Engine, text
from starlette.concurrency import run_in_threadpool

from api.deps import EngineDep
from api.responses import ERROR_BODY
from api.routes.pages import AcceptLanguage, Lang
from api.routes.pages import _page as page_context
from api.sessions import PERSON_REFUSALS, AdminDep, check_csrf, csrf_token
from locations import sign_in
from locations.accounts import create_account, list_accounts, revoke_account
from locations.errors import Conflict, InvalidInput, NotFound
from locations.settings import get_settings
from locations.values import INT_MAX
from maps.sign_in_page import build_accounts_page

router = APIRouter(tags=["pages"])

PAGE_PATH = "/maps/admin/accounts"
AccountId = Annotated[int, Path(ge=1, le=INT_MAX, description="An account's id")]
FormText = Annotated[str, Form()]
FormList = Annotated[list[str], Form()]

HTML = {"content": {"text/html": {}}}
JSON_OR_HTML = {"content": {"text/html": {}, "application/json": {"schema": ERROR_BODY}}}
#: What every accounts route may answer besides its page.
REFUSALS = {
    **PERSON_REFUSALS,
    403: {"description": "Signed in, but not an admin; or the form's token is missing or stale",
          "content": {"application/json": {"schema": ERROR_BODY}}},
}


def _html(content: str, status_code: int = 200) -> HTMLResponse:
    # The page may show an invitation link: never kept by any cache.
    return HTMLResponse(content, status_code=status_code, headers={"Cache-Control": "no-store"})


def _accounts(conn: Connection) -> list[dict]:
    """Live accounts first, then the revoked ones, each by name."""
    return sorted(list_accounts(conn),
                  key=lambda account: (account["revoked_at"] is not None, account["name"].lower()))


def _choices(conn: Connection) -> tuple[list[dict], list[dict]]:
    municipalities = [dict(row) for row in conn.execute(text(
        "SELECT m.id, m.name, r.name AS region_name FROM municipality m "
        "JOIN region r ON r.id = m.region_id ORDER BY r.name, m.name")).mappings()]
    regions = [dict(row) for row in conn.execute(text(
        "SELECT code, name FROM region ORDER BY code")).mappings()]
    return municipalities, regions


def _page(request: Request, engine: Engine, admin, lang, accept_language,
          status: int = 200, **shown) -> HTMLResponse:
    """The accounts page as it is now, with whatever this answer shows besides."""
    page = page_context(request, lang, accept_language)
    # From the primary, not a read replica: the page often follows this request's own write.
    with engine.connect() as conn:
        accounts = _accounts(conn)
        municipalities, regions = _choices(conn)
    return _html(build_accounts_page(page, csrf=csrf_token(request), me=admin.name,
                                     accounts=accounts, municipalities=municipalities,
                                     regions=regions, **shown), status)


def _invitation(request: Request, name: str, token: str) -> dict:
    """A link just made, to show once: the address the admin reached the platform at."""
    base = str(request.base_url).rstrip("/")
    hours = get_settings().invitation_hours
    return {"name": name, "link": f"{base}/maps/invitations/{token}",
            "expires": dt.datetime.now().astimezone() + dt.timedelta(hours=hours)}


@router.get(PAGE_PATH, response_class=HTMLResponse, summary="Accounts (admins)",
            responses=REFUSALS)
def accounts_page(request: Request, engine: EngineDep, admin: AdminDep, lang: Lang = None,
                  accept_language: AcceptLanguage = None) -> HTMLResponse:
    return _page(request, engine, admin, lang, accept_language)


@router.post(
    PAGE_PATH, response_class=HTMLResponse, summary="Create an account and its invitation",
    responses={**REFUSALS,
               400: {"description": "A field refused: the page again, saying why",
                     **JSON_OR_HTML},
               409: {"description": "An account of that name exists: the page again", **HTML}},
)
async def create(
    request: Request,
    engine: EngineDep,
    admin: AdminDep,
    name: FormText = "",
    role: FormText = "",
    municipality: FormList = [],  # noqa: B006 - FastAPI copies defaults
    region: FormList = [],  # noqa: B006
    csrf: FormText = "",
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    """The page again with the new account's invitation link, shown this once."""
    await check_csrf(request, {"csrf": csrf})
    typed = {"name": name, "role": role, "municipality": municipality, "region": region}

    def run() -> HTMLResponse:
        try:
            with engine.begin() as conn:
                clean = name.strip()
                if not clean:
                    raise InvalidInput("name", "an account needs a name")
                create_account(conn, clean, role,
                               municipalities=municipality if role == "municipality" else [],
                               regions=region if role == "agency" else [])
                token = sign_in.invite(conn, clean, get_settings().invitation_hours)
        except (InvalidInput, Conflict) as exc:
            status = 409 if isinstance(exc, Conflict) else 400
            return _page(request, engine, admin, lang, accept_language, status,
                         problem=str(exc), typed=typed)
        return _page(request, engine, admin, lang, accept_language,
                     invitation=_invitation(request, clean, token))

    return await run_in_threadpool(run)


def _account_name(conn: Connection, account_id: int) -> str:
    name = conn.execute(text("SELECT name FROM account WHERE id = :a AND revoked_at IS NULL"),
                        {"a": account_id}).scalar()
    if name is None:
        raise NotFound(f"no active account with id {account_id}")
    return name


@router.post(PAGE_PATH + "/{account_id}/reset", response_class=HTMLResponse,
             summary="A new invitation for an account (its password and sessions end)",
             responses={**REFUSALS, 404: {"description": "No such active account",
                                          "content": {"application/json":
                                                      {"schema": ERROR_BODY}}}})
async def reset(request: Request, engine: EngineDep, admin: AdminDep, account_id: AccountId,
                csrf: FormText = "", lang: Lang = None,
                accept_language: AcceptLanguage = None) -> HTMLResponse:
    """The page again with the new invitation link, shown this once."""
    await check_csrf(request, {"csrf": csrf})

    def run() -> HTMLResponse:
        with engine.begin() as conn:
            name = _account_name(conn, account_id)
            token = sign_in.reset(conn, name, get_settings().invitation_hours)
        return _page(request, engine, admin, lang, accept_language,
                     invitation=_invitation(request, name, token))

    return await run_in_threadpool(run)


@router.post(PAGE_PATH + "/{account_id}/revoke", response_class=HTMLResponse,
             summary="Revoke an account for good",
             responses={**REFUSALS,
                        404: {"description": "No such active account",
                              "content": {"application/json": {"schema": ERROR_BODY}}},
                        409: {"description": "One's own account: the page again, saying so",
                              **HTML}})
async def revoke(request: Request, engine: EngineDep, admin: AdminDep, account_id: AccountId,
                 csrf: FormText = "", lang: Lang = None,
                 accept_language: AcceptLanguage = None) -> HTMLResponse:
    await check_csrf(request, {"csrf": csrf})
    t = page_context(request, lang, accept_language).t

    def run() -> HTMLResponse:
        with engine.begin() as conn:
            name = _account_name(conn, account_id)
            if account_id == admin.id:
                # Nobody locks themselves out; another admin can revoke this one.
                return _page(request, engine, admin, lang, accept_language, 409,
                             problem=t("accounts_self"))
            revoke_account(conn, name)
        return _page(request, engine, admin, lang, accept_language,
                     notice=t("accounts_done_revoked", name=name))

    return await run_in_threadpool(run)
