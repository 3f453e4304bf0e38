"""Database connection: the external DATABASE_URL or the embedded cluster, one engine per process."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from locations.embedded import EmbeddedCluster
from locations.errors import DatabaseUnavailable, SchemaNotReady
from locations.settings import Settings, get_settings


def embedded_cluster(settings: Settings | None = None) -> EmbeddedCluster:
    settings = settings or get_settings()
    return EmbeddedCluster(settings.embedded_dir, settings.pg_bin)


def database_url(settings: Settings | None = None) -> str:
    """The SQLAlchemy URL of the database the platform uses.

    Raises:
        DatabaseUnavailable: no DATABASE_URL and the embedded cluster was never set up.
    """
    settings = settings or get_settings()
    if settings.database_url:
        url = settings.database_url
        # Accept the libpq style that docker-compose and managed services hand out.
        if url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://"):]
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg2://" + url[len("postgresql://"):]
        return url
    status = embedded_cluster(settings).status()
    if not status.initialised or status.port is None:
        raise DatabaseUnavailable(
            f"No DATABASE_URL is set and the embedded PostGIS in {settings.embedded_dir} "
            "has not been set up: run 'locations db up' (or 'make run'), "
            "or set DATABASE_URL=postgresql://user:password@host:5432/dbname."
        )
    return status.url(settings.embedded_db)


@lru_cache
def get_engine(url: str | None = None) -> Engine:
    """A pooled engine for ``url`` (default: the configured database)."""
    # No pre-ping: it costs a round trip on every request. A connection the server dropped
    # (restart, failover) fails one request with 503 and SQLAlchemy then invalidates the
    # whole pool, so the next request connects afresh (the "optimistic" disconnect handling).
    return create_engine(
        url or database_url(),
        pool_pre_ping=False,
        pool_recycle=3600,
        pool_size=10,
        max_overflow=20,
        connect_args={"connect_timeout": 5, "application_name": "locations"},
    )


def check_connection(engine: Engine, *, schema: bool = True) -> str:
    """Return the PostGIS version, or raise DatabaseUnavailable naming the host and what to do.

    With ``schema`` (every command but ``db migrate``), a database without PostGIS or
    without this version's schema raises SchemaNotReady, which says to migrate.
    """
    from locations.migrate import schema_problem

    try:
        with engine.connect() as conn:
            postgis, versioned = conn.execute(text(
                "SELECT (SELECT extversion FROM pg_extension WHERE extname = 'postgis'), "
                "to_regclass('alembic_version') IS NOT NULL")).one()
            revisions = conn.execute(text(
                "SELECT version_num FROM alembic_version")).scalars().all() if versioned else []
    except OperationalError as exc:
        url = make_url(engine.url)
        hint = (
            "start it with 'locations db up'"
            if not get_settings().database_url
            else "check that the server runs and DATABASE_URL is right"
        )
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise DatabaseUnavailable(
            f"Cannot reach the database at {url.host}:{url.port or 5432} "
            f"(database {url.database}): {reason}. {hint}."
        ) from None
    if schema:
        problem = schema_problem(str(engine.url.database), postgis, list(revisions))
        if problem:
            raise SchemaNotReady(problem[0].upper() + problem[1:] + ".")
    return postgis or "not installed"


#: For a short read (a page, a tile: a few thousand rows by index), sent with its query:
#: starting parallel workers costs more than the whole query. Ends with the transaction.
NO_PARALLEL_WORKERS = "SET LOCAL max_parallel_workers_per_gather = 0;"

_NAMED_PARAMETER = re.compile(r"(?<![:\w]):(\w+)")


@lru_cache(maxsize=512)
def _driver_sql(sql: str) -> str:
    # ':name' (SQLAlchemy's text() style) to psycopg2's '%(name)s'; '::' casts are left alone.
    return _NAMED_PARAMETER.sub(r"%(\1)s", sql.replace("%", "%%"))


def fetch_rows(conn: Connection, sql: str, params: dict[str, Any]) -> list[tuple]:
    """Rows of ``sql`` (with ``:name`` parameters, as for ``text()``), run on the driver's cursor.

    For the hottest read paths only (a search page, a tile): SQLAlchemy's statement
    handling costs about 0.5 ms a call, a sixth of a whole search page.
    """
    with conn.connection.dbapi_connection.cursor() as cursor:
        cursor.execute(_driver_sql(sql), params)
        return cursor.fetchall()


def server_message(exc: DBAPIError) -> str:
    """PostgreSQL's (or PostGIS's) first message line of a failed statement, '' without one."""
    return str(getattr(getattr(exc.orig, "diag", None), "message_primary", None) or "")
