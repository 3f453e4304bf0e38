"""Read-your-writes with read replicas: a writer's next reads see what it wrote.

After a successful write (any POST, PUT, PATCH or DELETE answered below 400), the
primary's WAL position is remembered for the writer: in a cookie (``locations_after``)
for browsers, and in this process for the bearer token of a script. The writer's later
requests carry it as ``replicas.wanted_position``, so only a replica that has replayed
that far serves them, else the primary. Without replicas this middleware does nothing.

A forged cookie can only send its own sender to the primary (a high position) or to a
replica that has replayed less than it wrote (a low one): never anyone else.
"""

from __future__ import annotations

import hashlib
import time
from http.cookies import SimpleCookie

from anyio import to_thread
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from locations import replicas

COOKIE = "locations_after"
#: How long a writer is followed: far longer than any lag a healthy replica may have.
REMEMBER_S = 300
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class ReadYourWrites:
    """ASGI middleware: routes a writer's reads to nodes that have its writes."""

    def __init__(self, app: ASGIApp, engine: Engine) -> None:
        self.app = app
        self.engine = engine
        # sha256 of a bearer token -> (WAL position, when written): scripts send no cookies.
        self.positions: dict[str, tuple[int, float]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        pool = replicas.pool_for(self.engine)
        if scope["type"] != "http" or pool is None:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        token = _token_key(headers.get("authorization"))
        wanted = max(filter(None, (_cookie_position(headers.get("cookie")),
                                   self._remembered(token))), default=None)
        marker = replicas.wanted_position.set(wanted)
        is_write = scope["method"] in WRITES

        async def remembering_send(message: Message) -> None:
            if (is_write and message["type"] == "http.response.start"
                    and message["status"] < 400):
                try:
                    position = await to_thread.run_sync(pool.primary_position)
                except DBAPIError:
                    position = None  # the primary gone after the write: nothing to wait for
                if position is not None:
                    if token is not None:
                        self.positions[token] = (position, time.monotonic())
                    MutableHeaders(scope=message).append(
                        "set-cookie", f"{COOKIE}={replicas.format_lsn(position)}; "
                        f"Max-Age={REMEMBER_S}; Path=/; HttpOnly; SameSite=Lax")
            await send(message)

        try:
            await self.app(scope, receive, remembering_send)
        finally:
            replicas.wanted_position.reset(marker)

    def _remembered(self, token: str | None) -> int | None:
        if token is None or token not in self.positions:
            return None
        position, written = self.positions[token]
        if time.monotonic() - written > REMEMBER_S:
            del self.positions[token]
            return None
        return position


def _token_key(authorization: str | None) -> str | None:
    if not authorization or not authorization.lower().startswith("bearer "):
        return None
    return hashlib.sha256(authorization[7:].strip().encode()).hexdigest()


def _cookie_position(header: str | None) -> int | None:
    if not header or COOKIE not in header:
        return None
    try:
        morsel = SimpleCookie(header).get(COOKIE)
    except Exception:  # a malformed Cookie header is the sender's problem, not a 500
        return None
    return replicas.parse_lsn(morsel.value) if morsel else None
