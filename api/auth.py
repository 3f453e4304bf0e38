"""Authentication: bearer tokens (shown in OpenAPI), the caller's account, role checks, rate limits."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from locations.accounts import (
    Account,
    auth_retry_after,
    authenticate,
    authorise,
    record_auth_failure,
)
from locations.errors import TooManyRequests, Unauthenticated

bearer = HTTPBearer(auto_error=False, description="Token from 'locations accounts create'")


def client_address(request: Request) -> str:
    # The connecting address, or behind a proxy listed in LOCATIONS_TRUSTED_PROXIES the
    # right-most address that proxy chain did not add: `locations serve` has uvicorn
    # believe X-Forwarded-For from those proxies only (cli.uvicorn_proxy_options).
    return request.client.host if request.client else "unknown"


async def optional_account(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Account | None:
    """The caller's account, None for anonymous callers; a wrong token is 401, never anonymous.

    A valid token is always accepted: tokens are 256-bit random, so guessing is hopeless
    anyway, and a limit that refused valid tokens would let anybody lock out whoever
    shares an address. A wrong token from an address that failed too often recently gets
    429 with Retry-After instead of 401: a client that keeps failing is told to stop, and
    its failures stop being written. The count lives in the database.
    """
    if credentials is None:
        # Anonymous reads (most requests) never leave the event loop for the thread pool.
        return None
    # The app's engine (``api.deps.get_engine``), read here rather than declared: every
    # request of a route taking an account resolved it for this, token or not.
    return await run_in_threadpool(_authenticated_account, request.app.state.engine,
                                   client_address(request), credentials.credentials)


def request_account(request: Request) -> Account | None:
    """``optional_account`` for a sync route that reads the caller itself: the token as
    ``bearer`` reads it (an ``Authorization: Bearer ...`` header; any other header is no
    token), checked in the thread the route already runs in. As a declared dependency the
    account and the bearer scheme under it were resolved by FastAPI for every request, token
    or not, a tenth of a millisecond of a request that reads the database for a little over
    one; a route reading it so declares the scheme in its OpenAPI ``security`` itself
    (``BEARER_OR_ANONYMOUS``).

    Raises:
        Unauthenticated: a wrong or revoked token (401, as the dependency answers).
        TooManyRequests: a wrong token from an address that failed too often (429).
    """
    authorization = request.headers.get("Authorization")
    scheme, token = get_authorization_scheme_param(authorization)
    if not (authorization and scheme and token) or scheme.lower() != "bearer":
        return None
    return _authenticated_account(request.app.state.engine, client_address(request), token)


def _authenticated_account(engine: Engine, client: str, token: str) -> Account:
    with engine.begin() as conn:
        # Validity first: the limit counts failures, it never stands in a valid token's way.
        account = authenticate(conn, token)
        if account is not None:
            return account
        wait = auth_retry_after(conn, client)
        if not wait:
            # While limited, failures are not recorded: the wait never grows past the window.
            record_auth_failure(conn, client)
    if wait:
        raise TooManyRequests(
            f"too many failed authentications from this address; retry in {wait} s", wait
        )
    # The token itself is never repeated, logged or stored: only its hash is ever compared.
    raise Unauthenticated("invalid or revoked token")


def current_account(account: Annotated[Account | None, Depends(optional_account)]) -> Account:
    if account is None:
        raise Unauthenticated("this request needs a bearer token")
    return account


def allowed_to(action: str):
    """A dependency admitting only accounts whose role may ``action`` at all
    (``accounts.authorise``); where they may is checked per item by the core."""

    async def check(account: Annotated[Account, Depends(current_account)]) -> Account:
        authorise(account, action)
        return account

    return check


OptionalAccount = Annotated[Account | None, Depends(optional_account)]
CurrentAccount = Annotated[Account, Depends(current_account)]
#: Municipality editors and admins: the roles that write plots and zones (scope checked per item).
Editor = Annotated[Account, Depends(allowed_to("edit"))]
#: The roles that import files (which targets, and rows in which scope, the importer checks).
Importer = Annotated[Account, Depends(allowed_to("import"))]
