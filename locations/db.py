"""Database connection: the external DATABASE_URL or the embedded cluster, one engine per process."""

from __future__ import annotations

import re
import time
from functools import lru_cache
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, InvalidatePoolError, OperationalError

from locations.embedded import EmbeddedCluster
from locations.errors import DatabaseUnavailable, SchemaNotReady
from locations.settings import Settings, get_settings


def embedded_cluster(settings: Settings | None = None) -> EmbeddedCluster:
    settings = settings or get_settings()
    return EmbeddedCluster(settings.embedded_dir, settings.pg_bin)


def read_replica_urls(settings: Settings | None = None) -> list[str]:
    """The replicas that serve reads: LOCATIONS_READ_REPLICA_URLS, else (no DATABASE_URL)
    the embedded cluster's running replicas; none for an external database without them."""
    settings = settings or get_settings()
    if settings.read_replica_urls:
        return [sqlalchemy_url(url) for url in settings.read_replica_urls]
    if settings.database_url:
        return []
    urls = []
    for replica in embedded_cluster(settings).replicas():
        status = replica.status()
        if status.running:
            urls.append(status.url(settings.embedded_db))
    return urls


def sqlalchemy_url(url: str) -> str:
    """``url`` as SQLAlchemy takes it (psycopg2)."""
    # Accept the libpq style that docker-compose and managed services hand out.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg2://" + url[len("postgresql://"):]
    return url


def database_url(settings: Settings | None = None) -> str:
    """The SQLAlchemy URL of the database the platform uses.

    Raises:
        DatabaseUnavailable: no DATABASE_URL and the embedded cluster was never set up.
    """
    settings = settings or get_settings()
    if settings.database_url:
        return sqlalchemy_url(settings.database_url)
    status = embedded_cluster(settings).status()
    if not status.initialised or status.port is None:
        raise DatabaseUnavailable(
            f"No DATABASE_URL is set and the embedded PostGIS in {settings.embedded_dir} "
            "has not been set up: run 'locations db up' (or 'make run'), "
            "or set DATABASE_URL=postgresql://user:password@host:5432/dbname."
        )
    return status.url(settings.embedded_db)


#: A pooled connection idle longer than this is pinged before it is handed out.
IDLE_PING_SECONDS = 1.0
#: When each pool last lost a connection on the driver's cursor (``fetch_rows``), where
#: SQLAlchemy does not see it: its connections returned before then are pinged before use.
_DISCONNECT_SEEN: WeakKeyDictionary = WeakKeyDictionary()


@lru_cache
def get_engine(url: str | None = None) -> Engine:
    """A pooled engine for ``url`` (default: the configured database)."""
    # No pre-ping on every checkout: it costs a round trip per request, and under load the
    # pool's connections are rarely idle for long. Only a connection idle for a while, or
    # returned before a disconnect was seen, is pinged (``_ping_idle_connections``): a
    # database restarted while the site was quiet costs no request, and one that goes away
    # under load fails the requests in flight with 503 while the pool drops its dead
    # connections (SQLAlchemy invalidates the whole pool on the first disconnect it sees).
    engine = create_engine(
        url or database_url(),
        pool_pre_ping=False,
        pool_recycle=3600,
        pool_size=10,
        max_overflow=20,
        connect_args={"connect_timeout": 5, "application_name": "locations"},
        # A failed statement's parameters (an owner's contact, an inquirer's e-mail) stay
        # out of exceptions and so out of the log; the SQL itself still says what failed.
        hide_parameters=True,
    )
    _ping_idle_connections(engine, IDLE_PING_SECONDS)
    return engine


def _ping_idle_connections(engine: Engine, idle_seconds: float) -> None:
    """Ping a pooled connection idle for ``idle_seconds`` or more, or returned before
    ``fetch_rows`` last lost one, as it is checked out; when the ping fails, drop every
    pooled connection and connect afresh."""

    @event.listens_for(engine.pool, "checkin")
    def _checked_in(dbapi_connection, record) -> None:
        # ``info`` lives as long as the driver's connection: a fresh one starts unpinged.
        record.info["checked_in"] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _checked_out(dbapi_connection, record, proxy) -> None:
        checked_in = record.info.get("checked_in")
        if checked_in is None:
            return
        recently_used = time.monotonic() - checked_in < idle_seconds
        if recently_used and checked_in > _DISCONNECT_SEEN.get(engine.pool, 0.0):
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            # The server went away since: its other connections are as dead as this one.
            # The pool then retries with a new connection, or raises if none can be made.
            raise InvalidatePoolError(f"pooled connection found dead: {exc}") from exc


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
    except (OperationalError, InterfaceError) as exc:
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
    handling costs about 0.5 ms a call, a sixth of a whole search page. Its errors are the
    driver's (psycopg2), not SQLAlchemy's; the API maps both (``api.middleware``).
    """
    if getattr(conn, "on_loop", False):
        return conn.fetch(sql, params)  # a read run on the event loop (locations.loop_reads)
    driver = conn.connection.dbapi_connection
    try:
        with driver.cursor() as cursor:
            cursor.execute(_driver_sql(sql), params)
            return cursor.fetchall()
    except conn.dialect.loaded_dbapi.Error as exc:
        # SQLAlchemy never sees this error, so nothing else would notice a lost connection:
        # drop it here, and have the pool check its others before it hands them out.
        if conn.dialect.is_disconnect(exc, driver, None):
            _DISCONNECT_SEEN[conn.engine.pool] = time.monotonic()
            conn.invalidate(exc)
        raise


def server_message(exc: DBAPIError) -> str:
    """PostgreSQL's (or PostGIS's) first message line of a failed statement, '' without one."""
    return str(getattr(getattr(exc.orig, "diag", None), "message_primary", None) or "")
