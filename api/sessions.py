"""Browser sessions of people signed in: the cookie, who it belongs to, and form tokens (CSRF).

The session cookie holds a random token whose SHA-256 is the session's row
(``locations.sign_in``); it is HttpOnly, SameSite=Lax, and Secure when the page is served
over https: the request's own scheme, which ``locations serve`` takes from
X-Forwarded-Proto only when a proxy of LOCATIONS_TRUSTED_PROXIES sends it
(``cli.uvicorn_proxy_options``).

Every state-changing form carries a token (``csrf_token``, rendered by ``_csrf.html``) that
``check_csrf`` compares. It is derived from the session's secret cookie, or before signing
in from a random form cookie, so another site can neither read nor compute it.

The ``Sessions`` middleware gives each request a ``Visit``: the session is looked up once,
when first asked for (by ``signed_in`` or by a page's header), never for requests that do
not need it, such as tiles and assets. A page that showed a person is never cached by a
shared cache.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from http.cookies import SimpleCookie
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import EngineDep
from api.responses import ERROR_BODY
from locations.accounts import Account, authorise
from locations.errors import Forbidden, Unauthenticated
from locations.settings import get_settings
from locations.sign_in import SessionLimits, session_account
from maps.page import VISITOR, Visitor

#: The session's cookie, and the form cookie of a visitor not signed in.
SESSION_COOKIE = "locations_session"
FORM_COOKIE = "locations_form"
#: The form field holding the token (``_csrf.html``).
CSRF_FIELD = "csrf"
#: Longer cookie values are no token of ours; they are ignored rather than hashed.
_MAX_COOKIE = 100
_SCOPE_KEY = "locations.visit"


class Visit:
    """One request's view of its cookies: the person signed in (looked up once, on demand),
    the form key, and the cookies the answer must set or clear."""

    def __init__(self, scope: Scope, engine: Engine | None) -> None:
        self.engine = engine
        self.https = scope.get("scheme") == "https"
        cookies = _cookies(scope)
        self.session_token = _plausible(cookies.get(SESSION_COOKIE))
        self.form_key = _plausible(cookies.get(FORM_COOKIE))
        self.resolved = self.session_token is None
        self.person: Account | None = None
        #: Set-Cookie values for the answer.
        self.set_cookies: list[str] = []
        #: Whether the answer showed the person (their name in the header): never cached.
        self.personal = False

    # -- who is signed in ---------------------------------------------------------------------

    def resolve(self) -> Account | None:
        """The person of the session cookie (blocking: a database read), once per request."""
        if not self.resolved:
            with self.engine.begin() as conn:
                self.person = session_account(conn, self.session_token,
                                              SessionLimits.of(get_settings()))
            self.resolved = True
            if self.person is None:
                # Ended, expired or unknown: the browser forgets it.
                self.session_token = None
                self.set_cookies.append(_cookie(SESSION_COOKIE, "", self.https, max_age=0))
        return self.person

    def visitor(self) -> Visitor | None:
        """The header's person for ``maps.page`` (None: nobody signed in)."""
        person = self.resolve()
        if person is None:
            return None
        self.personal = True
        return Visitor(name=person.name, role=person.role, csrf=self.csrf())

    # -- form tokens --------------------------------------------------------------------------

    def csrf(self) -> str:
        if self.resolve() is not None:
            key = self.session_token
        else:
            if self.form_key is None:
                self.form_key = secrets.token_urlsafe(32)
                self.set_cookies.append(_cookie(FORM_COOKIE, self.form_key, self.https))
            key = self.form_key
        # A one-way function of the cookie's secret: the page may show it, the cookie's
        # value (which finds the session) cannot be recovered from it.
        return hmac.new(key.encode(), b"locations form token", hashlib.sha256).hexdigest()

    # -- the answer ---------------------------------------------------------------------------

    def start_session(self, response, token: str) -> None:
        """Have ``response`` set the cookie of a session just begun."""
        max_age = get_settings().session_max_hours * 3600
        response.headers.append("set-cookie",
                                _cookie(SESSION_COOKIE, token, self.https, max_age=max_age))

    def end_session(self, response) -> None:
        """Have ``response`` clear the session cookie."""
        response.headers.append("set-cookie", _cookie(SESSION_COOKIE, "", self.https, max_age=0))


def _cookies(scope: Scope) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # noqa: BLE001, S112 - a malformed cookie header is no cookie
                continue
    return {name: morsel.value for name, morsel in jar.items()}


def _plausible(value: str | None) -> str | None:
    if not value or len(value) > _MAX_COOKIE or not value.isascii():
        return None
    return value


def _cookie(name: str, value: str, secure: bool, max_age: int | None = None) -> str:
    parts = [f"{name}={value}", "Path=/", "HttpOnly", "SameSite=Lax"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def visit_of(request: Request) -> Visit:
    """The request's ``Visit`` (made by the middleware; made here for an app without it)."""
    visit = request.scope.get(_SCOPE_KEY)
    if visit is None:
        visit = Visit(request.scope, request.app.state.engine)
        request.scope[_SCOPE_KEY] = visit
    return visit


class Sessions:
    """Gives every HTTP request its ``Visit`` and the pages their header's person
    (``maps.page.VISITOR``); adds the cookies the visit set to the answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        visit = Visit(scope, scope["app"].state.engine)
        scope[_SCOPE_KEY] = visit

        async def wrapped_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for cookie in visit.set_cookies:
                    headers.append("set-cookie", cookie)
                if visit.personal:
                    headers["Cache-Control"] = "private, no-store"
            await send(message)

        reset = VISITOR.set(visit.visitor)
        try:
            await self.app(scope, receive, wrapped_send)
        finally:
            VISITOR.reset(reset)


# -- the contract: who is signed in, pages for people only, form tokens -----------------------

async def signed_in(request: Request, engine: EngineDep) -> Account | None:
    """The person signed in through the session cookie, else None."""
    visit = visit_of(request)
    if visit.engine is None:
        visit.engine = engine
    if visit.resolved:
        return visit.person
    return await run_in_threadpool(visit.resolve)


SignedInDep = Annotated[Account | None, Depends(signed_in)]


class SignInRequired(Exception):
    """A page for people signed in was asked for by nobody: off to the sign-in page."""

    def __init__(self, next_url: str, lang: str | None) -> None:
        super().__init__(next_url)
        self.next_url = next_url
        self.lang = lang


def sign_in_url(next_url: str | None = None, lang: str | None = None) -> str:
    params = {key: value for key, value in (("lang", lang), ("next", next_url)) if value}
    return "/maps/sign-in" + (f"?{urlencode(params)}" if params else "")


def _here(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def browser_asks(request: Request) -> bool:
    """Whether a person's browser asks (it names HTML in Accept for every page and form),
    not a script (``*/*`` or JSON)."""
    return "text/html" in request.headers.get("accept", "")


async def require_person(request: Request, person: SignedInDep) -> Account:
    """The person signed in; nobody: a browser is sent (303) to the sign-in page, which
    comes back here, a script is answered 401."""
    if person is None:
        if browser_asks(request):
            raise SignInRequired(_here(request), request.query_params.get("lang"))
        raise Unauthenticated("this page is for people signed in: sign in at /maps/sign-in")
    return person


PersonDep = Annotated[Account, Depends(require_person)]
#: What a page of ``PersonDep`` may answer besides itself, for its ``responses=``.
PERSON_REFUSALS: dict[int | str, dict[str, Any]] = {
    303: {"description": "Nobody signed in, asked by a browser: on to the sign-in page, "
                         "which comes back here"},
    401: {"description": "Nobody signed in, asked by a script",
          "content": {"application/json": {"schema": ERROR_BODY}}},
}


def page_for(action: str):
    """A page dependency admitting people who may ``action`` (``accounts.authorise``):
    nobody signed in is sent to sign in, anybody else refused (403)."""

    async def check(person: PersonDep) -> Account:
        return authorise(person, action)

    return check


#: Pages for admins only.
AdminDep = Annotated[Account, Depends(page_for("manage accounts"))]


def csrf_token(request: Request) -> str:
    """The form token of the request's session (or of its visitor before signing in)."""
    return visit_of(request).csrf()


class StaleForm(Forbidden):
    """A form without its token, or with another session's (403)."""


async def check_csrf(request: Request, form: Mapping[str, Any]) -> None:
    """Refuse a form whose token is missing or not this session's (403, nothing done).

    Raises:
        StaleForm: (a ``Forbidden``) the token is missing or wrong (another site's form,
            or one shown before signing in or out).
    """
    sent = form.get(CSRF_FIELD)
    visit = visit_of(request)
    if not visit.resolved:
        await run_in_threadpool(visit.resolve)
    expected = visit.csrf()
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise StaleForm("the form's security token is missing or out of date: "
                        "reload the page and send the form again")


def register(app: FastAPI) -> None:
    """Install the middleware and the redirect to the sign-in page on ``app``."""

    async def to_sign_in(request: Request, exc: SignInRequired) -> RedirectResponse:
        return RedirectResponse(sign_in_url(exc.next_url, exc.lang), status_code=303,
                                headers={"Cache-Control": "no-store"})

    app.add_exception_handler(SignInRequired, to_sign_in)
    app.add_middleware(Sessions)
