"""Domain errors mapped once to HTTP statuses and a JSON body that says what is wrong (for a
person's browser on a page, an HTML page in its language);
database failures told apart: an outage is 503 with Retry-After, a write PostgreSQL cancelled
for another writer's (deadlock, serialization failure) 409, anything else a generic 500."""

from __future__ import annotations

import logging
import traceback
from urllib.parse import urlencode

import psycopg2
from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from sqlalchemy.exc import DBAPIError, DisconnectionError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from locations import errors, transactions

logger = logging.getLogger("locations.api")

#: Seconds a client should wait after a 503: about what a PostgreSQL restart or failover takes.
RETRY_AFTER_SECONDS = 5
OUTAGE_DETAIL = "the database is unavailable; retry later"
#: Seconds a client should wait before sending again a write cancelled for another's.
WRITE_CONFLICT_RETRY_AFTER_SECONDS = 1
INTERNAL_DETAIL = "the request could not be completed"

#: SQLSTATEs that say the server is away or cannot take us now, not that the request was wrong
#: (besides class 08, connection exceptions): admin_shutdown, crash_shutdown,
#: cannot_connect_now (starting up or shutting down), too_many_connections.
OUTAGE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})
#: libpq's and psycopg2's words for a lost or refused connection; most carry no SQLSTATE.
OUTAGE_MESSAGES = (
    "server closed the connection unexpectedly",
    "connection refused",
    "could not connect",
    "connection already closed",
    "connection not open",
    "no connection to the server",
    "terminating connection",
    "the database system is",
    "could not receive data from server",
    "could not send data to server",
    "connection has been closed unexpectedly",
    "ssl syscall error",
    "timeout expired",
    "could not translate host name",
)


def is_database_outage(exc: BaseException) -> bool:
    """Whether ``exc`` means the database cannot be reached (now): down, restarting, out of
    connections, or the connection lost; not a statement the database refused."""
    for cause in transactions.causes(exc, context=True):
        if isinstance(cause, DBAPIError) and cause.connection_invalidated:
            return True
        # The pool's own signals: a connection found dead on checkout, or none to be had.
        if isinstance(cause, (DisconnectionError, PoolTimeout)):
            return True
        if isinstance(cause, psycopg2.Error):
            code = cause.pgcode or ""
            if code.startswith("08") or code in OUTAGE_SQLSTATES:
                return True
            # The driver's own errors ("connection already closed"), and libpq's, which
            # come without a SQLSTATE because no server answered.
            if isinstance(cause, psycopg2.InterfaceError) or (
                    not code and isinstance(cause, psycopg2.OperationalError)):
                return True
            message = str(cause).lower()
            if any(words in message for words in OUTAGE_MESSAGES):
                return True
    return False


def is_database_error(exc: BaseException) -> bool:
    """Whether ``exc`` came from the database layer: the driver or SQLAlchemy."""
    return any(isinstance(cause, (psycopg2.Error, SQLAlchemyError))
               for cause in transactions.causes(exc, context=True))


def database_failure_response(exc: BaseException, method: str, path: str) -> JSONResponse:
    """503 with Retry-After for an outage, a generic 500 otherwise. The client learns neither
    host, SQL nor driver text; the log keeps them."""
    if is_database_outage(exc):
        first_line = str(exc).strip().partition("\n")[0]
        logger.warning("database unavailable on %s %s: %s: %s", method, path,
                       type(exc).__name__, first_line)
        return outage_response()
    if transactions.is_write_conflict(exc):
        # A write not run through locations.transactions.write: PostgreSQL cancelled it
        # for another writer's, nothing was written, and sending it again will do.
        logger.warning("write cancelled for another writer's on %s %s: %s", method, path,
                       redacted(exc))
        return JSONResponse(
            {"detail": transactions.CONFLICT_MESSAGE}, status_code=409,
            headers={"Retry-After": str(WRITE_CONFLICT_RETRY_AFTER_SECONDS)})
    logger.error("database error on %s %s: %s", method, path, redacted(exc))
    return JSONResponse({"detail": INTERNAL_DETAIL}, status_code=500)


def redacted(exc: BaseException) -> str:
    """What the log needs of a database error, without the data it carries.

    PostgreSQL's DETAIL ("Failing row contains (...)") and the statement's parameters hold
    the row's values, an owner's contact among them: the log keeps the server's one-line
    message, the SQLSTATE, the constraint, the statement and where in the code it failed.
    """
    orig = getattr(exc, "orig", None) or exc
    diag = getattr(orig, "diag", None)
    message = str(getattr(diag, "message_primary", None) or str(orig).partition("\n")[0])
    statement = getattr(exc, "statement", None)
    where = "".join(traceback.format_tb(exc.__traceback__)[-3:]) if exc.__traceback__ else ""
    return (f"{type(orig).__name__}: {message} (SQLSTATE {getattr(orig, 'pgcode', None)}, "
            f"constraint {getattr(diag, 'constraint_name', None)})"
            + (f"\n[SQL: {statement}]" if statement else "") + (f"\n{where}" if where else ""))


def outage_response() -> JSONResponse:
    """503: the request may well succeed once the database is back."""
    return JSONResponse({"detail": OUTAGE_DETAIL}, status_code=503,
                        headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


STATUS_BY_ERROR: dict[type[errors.LocationsError], int] = {
    errors.DatabaseUnavailable: 503,
    errors.NotFound: 404,
    errors.InvalidInput: 400,
    # A geometry the database refuses is a well-formed request it cannot process.
    errors.InvalidGeometry: 422,
    # So is a number beyond what the database keeps (its CHECK constraints' bounds).
    errors.OutOfRange: 422,
    errors.TooManyRequests: 429,
    errors.Conflict: 409,
    errors.PreconditionFailed: 412,
    errors.PreconditionRequired: 428,
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
}


def _status_for(exc: errors.LocationsError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400


async def error_page(request: Request, exc: errors.LocationsError, status: int,
                     headers: dict | None) -> HTMLResponse:
    """A page refused to a person's browser: an HTML page in its language, with the header
    (who is signed in), rather than the JSON a script gets."""
    from api.sessions import StaleForm
    from maps.error_page import build_error_page
    from maps.i18n import Translator, negotiate
    from maps.page import PageContext

    page = PageContext(t=Translator(negotiate(request.query_params.get("lang"),
                                              request.headers.get("accept-language"))),
                       path=request.url.path)
    # In the thread pool: the header may look the session up in the database.
    content = await run_in_threadpool(build_error_page, page, status, str(exc),
                                      stale_form=isinstance(exc, StaleForm))
    return HTMLResponse(content, status_code=status,
                        headers={**(headers or {}), "Cache-Control": "no-store"})


def _is_page(path: str) -> bool:
    """Whether ``path`` is one of the pages people open (the start page and /maps/...)."""
    return path == "/" or path.startswith("/maps/")


async def _page_refusal(request: Request, problems: list[dict], detail: str) -> Response:
    """A page's address that its parameters refuse, asked by a person's browser: a language
    it does not know (``?lang=DE``, ``?lang=xx``, typed or from an old link) leads to the same
    page in the language asked or else the browser's own; anything else is the error page in
    the person's language, naming the parameter, instead of JSON."""
    from maps.i18n import LANGUAGES

    if request.method == "GET" and {p["field"] for p in problems} == {"query.lang"}:
        asked = request.query_params.get("lang", "").strip().lower()
        kept = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
        if asked in LANGUAGES:
            kept.append(("lang", asked))
        query = urlencode(kept)
        return RedirectResponse(request.url.path + (f"?{query}" if query else ""),
                                status_code=303)
    field = problems[0]["field"].removeprefix("query.").removeprefix("path.") if problems else ""
    return await error_page(request, errors.InvalidInput(field or "address", detail), 422, None)


def register_error_handlers(app: FastAPI) -> None:
    """Map domain and validation errors to their statuses, and database failures to 503/500."""
    @app.exception_handler(errors.LocationsError)
    async def domain_error(request: Request, exc: errors.LocationsError) -> Response:
        status = _status_for(exc)
        body: dict = {"detail": str(exc)}
        if isinstance(exc, errors.InvalidInput):
            body["field"] = exc.field
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        if isinstance(exc, errors.TooManyRequests):
            headers = {"Retry-After": str(exc.retry_after)}
        if isinstance(exc, errors.WriteConflict):
            headers = {"Retry-After": str(WRITE_CONFLICT_RETRY_AFTER_SECONDS)}
        if isinstance(exc, errors.DatabaseUnavailable):
            if not isinstance(exc, errors.SchemaNotReady):
                # Its text names the host and port: for the operator's log, not the client.
                logger.warning("database unavailable on %s %s: %s", request.method,
                               request.url.path, exc)
                return outage_response()
            headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        if status in (400, 401, 403, 404, 409) and request.url.path.startswith("/maps/"):
            from api.sessions import browser_asks

            if browser_asks(request):
                return await error_page(request, exc, status, headers)
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        # Name each offending parameter plainly, e.g. "query.limit: must be <= 1000".
        problems = []
        for error in exc.errors():
            location = ".".join(str(part) for part in error.get("loc", ()))
            problems.append({"field": location, "message": error.get("msg", "invalid")})
        detail = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        if _is_page(request.url.path):
            from api.sessions import browser_asks

            if browser_asks(request):
                return await _page_refusal(request, problems, detail)
        return JSONResponse({"detail": detail, "errors": problems}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # An address under /maps/ that no page answers, opened by a person: the error page in
        # their language, not {"detail": "Not Found"}.
        if exc.status_code == 404 and _is_page(request.url.path):
            from api.sessions import browser_asks

            if browser_asks(request):
                return await error_page(
                    request, errors.NotFound(f"no page at {request.url.path}"), 404, None)
        return await http_exception_handler(request, exc)

    # Database errors are answered by the DatabaseErrors middleware rather than by a handler
    # here: the fast paths run queries on the driver's cursor, whose psycopg2 errors no
    # SQLAlchemy exception class catches, and a lost connection may first show when the
    # connection is handed back, after the endpoint returned.
    from api.middleware import DatabaseErrors

    app.add_middleware(DatabaseErrors)
