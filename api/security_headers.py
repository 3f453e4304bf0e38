"""Security headers on every answer, and a Content-Security-Policy on every HTML page.

The pages carry inline scripts that the server writes itself (folium's map code, a
page's own few lines). Rather than allowing inline script wholesale, each HTML answer
is read once and the SHA-256 of each of its inline scripts goes into the page's
``script-src``: a script the server wrote runs, and markup smuggled in through data
(which the templates escape anyway) cannot add one that would. Inline event handler
attributes (``onclick=``) are never allowed, so pages attach their handlers in script.

Settings: ``LOCATIONS_CSP`` (on by default; off only to test what escaping alone
achieves), ``LOCATIONS_FRAME_ANCESTORS`` (who may embed the pages: municipalities put
the map in their own sites; default ``'self'``) and ``LOCATIONS_BASEMAP`` (an online base
map: only when one is set may images come from its host, and from
``LOCATIONS_BASEMAP_HOSTS`` besides).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from locations.settings import Settings

#: An inline script's opening tag: a <script> element without a src attribute ...
_INLINE_SCRIPT_START = re.compile(rb"<script(?![^>]*\bsrc\s*=)[^>]*>", re.IGNORECASE)
#: ... and the end of its text.
_SCRIPT_END = re.compile(rb"</script\s*>", re.IGNORECASE)


def _inline_scripts(html: bytes) -> Iterator[bytes]:
    r"""The text of each inline script, in page order: what the single pattern
    ``<script(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script\s*>`` (case-blind, dot matching newlines)
    finds, found in two searches per script. That pattern's lazy ``.*?`` tried to match the
    closing tag at every byte of a script: 2 ms for a plot page of 94 kB, on the event loop
    that every other request waits on, against 0.1 ms this way."""
    position = 0
    while (start := _INLINE_SCRIPT_START.search(html, position)) is not None:
        end = _SCRIPT_END.search(html, start.end())
        if end is None:  # an unclosed script: nothing after it can close one either
            return
        yield html[start.end():end.start()]
        position = end.end()


def script_hashes(html: bytes) -> list[str]:
    """CSP source expressions for every inline script of ``html``, in page order."""
    hashes = []
    for script in _inline_scripts(html):
        digest = base64.b64encode(hashlib.sha256(script).digest()).decode()
        source = f"'sha256-{digest}'"
        if source not in hashes:
            hashes.append(source)
    return hashes


def content_security_policy(settings: Settings, hashes: list[str]) -> str:
    """The policy of one page whose inline scripts have ``hashes``."""
    basemaps = " ".join(settings.basemap_sources)
    directives = {
        "default-src": "'self'",
        "script-src": " ".join(["'self'", *hashes]),
        # Leaflet and folium position and colour elements through style attributes.
        "style-src": "'self' 'unsafe-inline'",
        "img-src": f"'self' data: blob: {basemaps}".strip(),
        "font-src": "'self' data:",
        "connect-src": "'self'",
        # ReDoc renders in a web worker it starts from a blob.
        "worker-src": "'self' blob:",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": settings.frame_ancestors,
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


class SecurityHeaders:
    """Adds the headers; reads an HTML body once to hash its inline scripts."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    def _common(self, headers: MutableHeaders) -> None:
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        # Browsers without frame-ancestors support honour only this older header.
        if self.settings.frame_ancestors.strip() == "'self'":
            headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        elif self.settings.frame_ancestors.strip() == "'none'":
            headers.setdefault("X-Frame-Options", "DENY")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def wrapped_send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                self._common(headers)
                is_html = headers.get("content-type", "").startswith("text/html")
                if not (is_html and self.settings.csp):
                    await send(message)
                    return
                start = message  # held until the whole page is known
                return
            if message["type"] == "http.response.body" and start is not None:
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                body = b"".join(chunks)
                headers = MutableHeaders(scope=start)
                headers["Content-Security-Policy"] = content_security_policy(
                    self.settings, script_hashes(body))
                if scope.get("method") != "HEAD":
                    headers["Content-Length"] = str(len(body))
                await send(start)
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        await self.app(scope, receive, wrapped_send)
