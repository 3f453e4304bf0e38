"""At most so many requests at work in one server process; the others wait in arrival order.

Under load the tail came from everything running at once: 32 requests each in a thread,
each with a database connection, shared out by the GIL and the operating system without
regard to who came first, so some requests got their turn many times later than others
(a regional search of 15 ms took 0.8 s at p50 and 4.5 s at p99 with 32 clients). Letting a
few requests work while the rest queue first come, first served, keeps the answers' times
close together at the same throughput. ``LOCATIONS_MAX_ACTIVE_REQUESTS`` sets how many
reads (GET, HEAD; 0: no limit). Liveness, readiness and metrics never queue: an orchestrator or a scraper
must see a busy server as alive.

A request leaves its place as soon as its answer is made: when the answer starts with its
length known (the whole body is in hand), sending it is no work of the server's, so a
client that reads slowly (a phone on a poor line, or one that never reads) holds no place
that others wait for. A streamed answer (no length) keeps its place until its last part,
since its parts are made as it is sent.
"""

from __future__ import annotations

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Only reads queue: a write or an upload (an import streams for minutes) must not hold a
#: place that the searches wait for, and writes are few.
QUEUED = frozenset({"GET", "HEAD"})
#: Paths that answer at once, however many requests wait.
UNQUEUED = ("/health/live", "/health/ready", "/metrics")


class Admission:
    """ASGI middleware: ``limit`` requests at work at once, the rest first come, first served."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self._slots: anyio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or self.limit <= 0 or scope["method"] not in QUEUED
                or scope["path"] in UNQUEUED):
            await self.app(scope, receive, send)
            return
        if self._slots is None:  # made in the event loop that serves
            self._slots = anyio.Semaphore(self.limit, fast_acquire=True)
        slots = self._slots
        await slots.acquire()
        held = True

        def leave() -> None:
            nonlocal held
            if held:
                held = False
                slots.release()

        async def send_made(message: Message) -> None:
            if message["type"] == "http.response.start" and any(
                    name == b"content-length" for name, _ in message.get("headers", ())):
                leave()  # the answer is made: sending it waits on the client, not on us
            await send(message)

        try:
            await self.app(scope, receive, send_made)
        finally:
            leave()
