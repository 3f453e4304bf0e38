"""ASGI middleware (plain ASGI, so it costs nothing on reads): request body size limit, and
database failures answered as JSON (503 with Retry-After for an outage)."""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import database_failure_response, is_database_error


class _BodyTooLarge(HTTPException):
    # An HTTPException, so that a route reading the body answers 413 instead of a parse error.
    def __init__(self, detail: str) -> None:
        super().__init__(413, detail)


class BodySizeLimit:
    """Refuse request bodies over ``max_bytes`` with 413, by Content-Length or as they stream in.

    File uploads (``upload_paths``) may reach ``max_upload_bytes`` instead: a region's
    cadastral GeoPackage runs to hundreds of MB, and the upload is spooled to disk, not
    held in memory, while a JSON body is parsed whole.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, max_upload_bytes: int | None = None,
                 upload_paths: tuple[str, ...] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_upload_bytes = max_upload_bytes if max_upload_bytes is not None else max_bytes
        self.upload_paths = frozenset(upload_paths)

    def _limit(self, path: str) -> tuple[int, str]:
        """The limit for a request to ``path`` and the message that refuses it."""
        if path.rstrip("/") in self.upload_paths:
            return self.max_upload_bytes, (
                f"upload larger than {self.max_upload_bytes} bytes (LOCATIONS_MAX_UPLOAD_BYTES); "
                "`locations import` on the server reads files of any size")
        return self.max_bytes, (
            f"request body larger than {self.max_bytes} bytes (LOCATIONS_MAX_BODY_BYTES)")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = chunked = None
        for name, value in scope.get("headers") or ():
            if name == b"content-length":
                length = value
            elif name == b"transfer-encoding":
                chunked = value
        if (chunked is None and (length is None or length == b"0")
                and scope.get("http_version") in ("1.0", "1.1")):
            # No body announced (a GET, as nearly every request is): HTTP/1 gives such a
            # request an empty body, so there is nothing to count and no need to wrap.
            # (HTTP/2 frames a body without either header: counted below.)
            await self.app(scope, receive, send)
            return
        max_bytes, detail = self._limit(scope.get("path", ""))
        if length is not None and length.isdigit() and int(length) > max_bytes:
            await self._refuse(send, detail)
            return

        received = 0
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                # Chunked uploads carry no Content-Length: count what actually arrives.
                if received > max_bytes:
                    raise _BodyTooLarge(detail)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _BodyTooLarge:
            if not response_started:
                await self._refuse(send, detail)

    async def _refuse(self, send: Send, detail: str) -> None:
        body = json.dumps({"detail": detail}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class DatabaseErrors:
    """Answer a request that failed in the database layer: 503 with ``Retry-After`` when the
    database is unreachable, a generic 500 otherwise; JSON either way, without internals.

    Middleware rather than an exception handler, because it sees every route the same way:
    the fast paths' psycopg2 errors from the driver's cursor (no SQLAlchemy class matches
    them), and errors raised while a dependency closes its connection. Other exceptions
    pass on untouched, as does one raised after the response started (it cannot change).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        response_started = False

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if response_started or not is_database_error(exc):
                raise
            response = database_failure_response(exc, scope.get("method", ""),
                                                 scope.get("path", ""))
            await response(scope, receive, send)
