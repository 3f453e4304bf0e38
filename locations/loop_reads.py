"""Reads on the event loop: a page's statements sent over psycopg2's asynchronous
connections, so its request never waits for a worker thread.

A synchronous route runs in a worker thread: the request hops from the event loop to the
thread and back, two wake-ups that cost an OGC API plot page about 0.4-0.5 ms of its 4-5
(measured alternated against the thread path, load under 1). Here the platform's own read
(``ogc.read_items``, unchanged) runs in a greenlet on the loop (SQLAlchemy's
``greenlet_spawn``) with a ``LoopConnection`` for its connection: each statement it sends
through ``locations.db.fetch_rows`` goes out on a connection of this module's small pool
and its wait is handed to the loop. Anything else the read asks of its connection (a
SQLAlchemy ``execute``: a region's municipalities, a count) raises ``NeedsConnection``, and
the caller serves the page in a worker thread as before. The SQL, rows and answer are the
read's own either way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

import psycopg2
import psycopg2.extensions
from sqlalchemy import Engine
from sqlalchemy.util import greenlet_spawn

try:  # SQLAlchemy 2.1 and later
    from sqlalchemy.util import await_ as _await
except ImportError:  # 2.0
    from sqlalchemy.util import await_only as _await

from locations.db import _driver_sql

T = TypeVar("T")

#: Idle connections kept per database; more are opened when more pages read at once (up to
#: READS_AT_ONCE) and closed again when they come back.
IDLE_CONNECTIONS = 8
#: Reads sent at once per database: with no admission limit (LOCATIONS_MAX_ACTIVE_REQUESTS=0)
#: a flood of pages would otherwise open a connection each, up to the server's maximum;
#: as many as the engine's pool may open (10 + 20 overflow), the rest wait their turn.
READS_AT_ONCE = 30
#: As the engine's ``connect_timeout`` (locations.db.get_engine).
CONNECT_TIMEOUT_SECONDS = 5


class NeedsConnection(Exception):
    """The read asked its connection for more than ``fetch_rows`` (a SQLAlchemy ``execute``:
    a region's municipalities, a profile's current runs, a count): the thread serves it."""


class LoopConnection:
    """Stands in for a connection in a read run by ``run_read``: ``fetch_rows`` sends its
    statements on the pool; any other use raises ``NeedsConnection``."""

    on_loop = True

    def __init__(self, pool: LoopReadPool) -> None:
        self._pool = pool

    def fetch(self, sql: str, params: dict[str, Any]) -> list[tuple]:
        return _await(self._pool.fetch(sql, params))

    def __getattr__(self, name: str) -> Any:
        raise NeedsConnection(name)


async def run_read(engine: Engine, read: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``read(connection, *args, **kwargs)`` on the event loop, its statements on the loop
    pool of ``engine``'s database.

    Raises:
        NeedsConnection: the read used its connection otherwise than by ``fetch_rows``.
    """
    return await greenlet_spawn(read, LoopConnection(pool_for(engine)), *args, **kwargs)


async def _ready(conn: Any) -> None:
    """Wait, on the running loop, until ``conn`` has finished what it was asked."""
    loop = asyncio.get_running_loop()
    while True:
        state = conn.poll()
        if state == psycopg2.extensions.POLL_OK:
            return
        waiter = loop.create_future()

        def wake(future: asyncio.Future = waiter) -> None:
            if not future.done():
                future.set_result(None)

        descriptor = conn.fileno()
        if state == psycopg2.extensions.POLL_READ:
            loop.add_reader(descriptor, wake)
            try:
                await waiter
            finally:
                loop.remove_reader(descriptor)
        else:
            loop.add_writer(descriptor, wake)
            try:
                await waiter
            finally:
                loop.remove_writer(descriptor)


class LoopReadPool:
    """Asynchronous connections to one database, opened as the engine's are."""

    def __init__(self, engine: Engine) -> None:
        # The driver's arguments as the engine's dialect makes them of its URL (sslmode and
        # other libpq keywords included), named as the engine's connections are.
        _, arguments = engine.dialect.create_connect_args(engine.url)
        self._connect_args = arguments | {"application_name": "locations"}
        self._idle: list[Any] = []
        self._turns: WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = \
            WeakKeyDictionary()

    async def _connection(self) -> tuple[Any, bool]:
        """A connection, and whether it was used before (and so may have died since)."""
        while self._idle:
            conn = self._idle.pop()
            if not conn.closed:
                return conn, True
        conn = psycopg2.connect(**self._connect_args, async_=1)
        try:
            # libpq leaves connect_timeout to whoever polls a connection being made.
            await asyncio.wait_for(_ready(conn), CONNECT_TIMEOUT_SECONDS)
        except TimeoutError:
            conn.close()
            raise psycopg2.OperationalError(
                f"timeout expired: no connection within {CONNECT_TIMEOUT_SECONDS} s") from None
        except BaseException:
            conn.close()
            raise
        return conn, False

    async def fetch(self, sql: str, params: dict[str, Any]) -> list[tuple]:
        """Rows of ``sql`` (``:name`` parameters, as ``locations.db.fetch_rows`` takes).

        When a kept connection turns out broken (the server restarted since), the others
        kept are as dead: all are dropped and the read is sent once more on a new one (the
        page only reads).
        """
        async with self._turn():
            return await self._fetch(sql, params)

    def _turn(self) -> asyncio.Semaphore:
        # One per event loop: a semaphore belongs to the loop it first waited on (tests run
        # an app on several loops in turn; a server has one).
        loop = asyncio.get_running_loop()
        turns = self._turns.get(loop)
        if turns is None:
            turns = self._turns[loop] = asyncio.Semaphore(READS_AT_ONCE)
        return turns

    async def _fetch(self, sql: str, params: dict[str, Any]) -> list[tuple]:
        conn, reused = await self._connection()
        try:
            return await self._fetch_on(conn, sql, params)
        except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
            # No SQLSTATE: the socket failed; 57P..: the server ended the session. Any other
            # error (a statement cancelled by its timeout ...) is the statement's own.
            code = getattr(exc, "pgcode", None)
            if not reused or (code is not None and not code.startswith("57P")):
                raise
            self.close()
            conn, _ = await self._connection()
            return await self._fetch_on(conn, sql, params)

    async def _fetch_on(self, conn: Any, sql: str, params: dict[str, Any]) -> list[tuple]:
        done = False
        try:
            cursor = conn.cursor()
            cursor.execute(_driver_sql(sql), params)
            await _ready(conn)
            rows = cursor.fetchall()
            done = True
            return rows
        finally:
            if done and len(self._idle) < IDLE_CONNECTIONS:
                self._idle.append(conn)
            else:
                # Failed, or cancelled while the server works (the client went away): the
                # statement is cancelled rather than left running on a closed socket.
                if not done and not conn.closed:
                    try:
                        conn.cancel()
                    except psycopg2.Error:
                        pass
                conn.close()

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()


#: Per engine, as ``locations.replicas`` keeps its pools: found without rendering the URL
#: on every request, and gone with the engine.
_POOLS: WeakKeyDictionary[Engine, LoopReadPool] = WeakKeyDictionary()


def pool_for(engine: Engine) -> LoopReadPool:
    """The loop-read pool of ``engine``'s database."""
    pool = _POOLS.get(engine)
    if pool is None:
        pool = _POOLS[engine] = LoopReadPool(engine)
    return pool


def close_pools() -> None:
    """Close every idle loop-read connection (the API's shutdown)."""
    for pool in list(_POOLS.values()):
        pool.close()
