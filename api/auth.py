"""Authentication: bearer tokens (shown in OpenAPI), the caller's account, role checks."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.deps import EngineDep
from locations.accounts import Account, authenticate
from locations.errors import Forbidden, Unauthenticated

bearer = HTTPBearer(auto_error=False, description="Token from 'locations accounts create'")


def optional_account(
    engine: EngineDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Account | None:
    """The caller's account, None for anonymous callers; a wrong token is 401, never anonymous."""
    if credentials is None:
        return None
    with engine.connect() as conn:
        account = authenticate(conn, credentials.credentials)
    if account is None:
        raise Unauthenticated("invalid or revoked token")
    return account


def current_account(account: Annotated[Account | None, Depends(optional_account)]) -> Account:
    if account is None:
        raise Unauthenticated("this request needs a bearer token")
    return account


def require_roles(*roles: str):
    """A dependency admitting only accounts with one of ``roles``."""

    def check(account: Annotated[Account, Depends(current_account)]) -> Account:
        if account.role not in roles:
            raise Forbidden(f"role {account.role!r} may not do this; needs one of: {', '.join(roles)}")
        return account

    return check


OptionalAccount = Annotated[Account | None, Depends(optional_account)]
CurrentAccount = Annotated[Account, Depends(current_account)]
