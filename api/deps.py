"""Request dependencies as ``Annotated`` aliases, so route signatures read like sentences."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from locations import replicas
from locations.errors import InvalidInput
from locations.values import BIGINT_MAX, INT_MAX, text_problem


async def get_engine(request: Request) -> Engine:
    # async: no blocking work, so FastAPI calls it on the event loop, not via the thread pool.
    return request.app.state.engine


@contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    """A read connection in autocommit: no BEGIN and ROLLBACK round trips around every
    read. Each statement sees its own snapshot; settings a query needs are sent with it
    (``SET LOCAL ...;`` in the same string). Writes open their own transaction with
    ``engine.begin()``. With read replicas (``locations.replicas``), a healthy one that has
    replayed the caller's last write serves."""
    target, pool, replica = replicas.route(engine)
    try:
        connection = target.connect()
    except DBAPIError as exc:
        if pool is None or replica is None:
            raise
        # The replica went away since its last check: skip it, the primary serves.
        pool.mark_down(replica, exc)
        connection = engine.connect()
    with connection as conn:
        # Set on the driver's connection, not through SQLAlchemy's isolation_level, whose
        # reset on return costs a round trip (SET default_transaction_isolation) per request.
        driver = conn.connection.dbapi_connection
        driver.autocommit = True
        try:
            yield conn
        finally:
            driver.autocommit = False


def get_connection(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Connection]:
    """A read connection for the request (see ``read_connection``)."""
    with read_connection(engine) as conn:
        yield conn


EngineDep = Annotated[Engine, Depends(get_engine)]
ConnectionDep = Annotated[Connection, Depends(get_connection)]

# Ids in paths bounded to their column's type: beyond it PostgreSQL overflows (a 500), and
# no row can have such an id anyway.
PlotId = Annotated[int, Path(ge=1, le=BIGINT_MAX, description="A plot's id")]
ZoneId = Annotated[int, Path(ge=1, le=INT_MAX, description="A zone's id")]


async def plain_parameters(request: Request) -> None:
    """Refuse a path or query parameter holding a control character, NUL above all, which
    PostgreSQL cannot take in text: 400 naming the parameter, before any route reads it.

    async: a few string scans, no blocking work, so it never waits for the thread pool.

    Raises:
        InvalidInput: on the first such parameter.
    """
    for name, value in (*request.path_params.items(), *request.query_params.multi_items()):
        if (problem := text_problem(name)) is not None:
            raise InvalidInput("query", f"a parameter's name {problem}")
        if (problem := text_problem(str(value))) is not None:
            raise InvalidInput(name, problem)
