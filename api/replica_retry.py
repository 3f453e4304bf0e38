"""A read a replica cancelled for a recovery conflict is served again by another node.

A hot standby replaying the primary's WAL must sometimes take away what a running query
holds (a row version VACUUM removed, a table DROP or TRUNCATE locks, a buffer pin). Once
``max_standby_streaming_delay`` has passed it cancels the query ("canceling statement due
to conflict with recovery", SQLSTATE 40001). That is no fault of the request: a GET or HEAD
whose read was cancelled on a replica before any of its answer was sent runs again, with
that replica left out, on another healthy replica or the primary. The replica itself stays
in service (it is well, only busy replaying) and counts the conflict (``/health``,
``/metrics``). An answer already streaming cannot be taken back: its error stands.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from locations import replicas

logger = logging.getLogger("locations.replicas")

READS = frozenset({"GET", "HEAD"})


class RetryRecoveryConflicts:
    """ASGI middleware, inside the database-error mapping: reruns a cancelled read."""

    def __init__(self, app: ASGIApp, engine: Engine) -> None:
        self.app = app
        self.engine = engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        pool = replicas.pool_for(self.engine)
        if scope["type"] != "http" or scope["method"] not in READS or pool is None:
            await self.app(scope, receive, send)
            return
        avoided: set[str] = set()
        # Each replica once at most, then the primary: the loop ends.
        for _ in range(len(pool.replicas) + 1):
            started = False

            async def tracking_send(message: Message) -> None:
                nonlocal started
                if message["type"] == "http.response.start":
                    started = True
                await send(message)

            reads: list[replicas.Replica | None] = []
            markers = (replicas.avoided.set(frozenset(avoided)),
                       replicas.reads_of_request.set(reads))
            try:
                await self.app(scope, receive, tracking_send)
                return
            except Exception as exc:
                cancelled = {r.name: r for r in reads if r is not None and r.name not in avoided}
                if started or not cancelled or not replicas.is_recovery_conflict(exc):
                    raise
                for name, replica in cancelled.items():
                    replica.conflicts += 1
                    avoided.add(name)
                logger.warning("%s cancelled a read of %s for a recovery conflict; served "
                               "again elsewhere", ", ".join(sorted(cancelled)),
                               scope.get("path"))
            finally:
                replicas.avoided.reset(markers[0])
                replicas.reads_of_request.reset(markers[1])
