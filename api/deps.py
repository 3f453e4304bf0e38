"""Request dependencies as ``Annotated`` aliases, so route signatures read like sentences."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Connection, Engine


async def get_engine(request: Request) -> Engine:
    # async: no blocking work, so FastAPI calls it on the event loop, not via the thread pool.
    return request.app.state.engine


@contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    """A read connection in autocommit: no BEGIN and ROLLBACK round trips around every
    read. Each statement sees its own snapshot; settings a query needs are sent with it
    (``SET LOCAL ...;`` in the same string). Writes open their own transaction with
    ``engine.begin()``."""
    with engine.connect() as conn:
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
