"""Domain errors mapped once to HTTP statuses and a JSON body that says what is wrong."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError

from locations import errors

logger = logging.getLogger("locations.api")

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


def register_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(errors.LocationsError)
    async def domain_error(request: Request, exc: errors.LocationsError) -> JSONResponse:
        status = _status_for(exc)
        body: dict = {"detail": str(exc)}
        if isinstance(exc, errors.InvalidInput):
            body["field"] = exc.field
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        if isinstance(exc, errors.TooManyRequests):
            headers = {"Retry-After": str(exc.retry_after)}
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Name each offending parameter plainly, e.g. "query.limit: must be <= 1000".
        problems = []
        for error in exc.errors():
            location = ".".join(str(part) for part in error.get("loc", ()))
            problems.append({"field": location, "message": error.get("msg", "invalid")})
        detail = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        return JSONResponse({"detail": detail, "errors": problems}, status_code=422)

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, exc: DBAPIError) -> JSONResponse:
        # Never leak SQL or server internals to the client; keep them in the log.
        logger.exception("database error on %s %s", request.method, request.url.path)
        if exc.connection_invalidated or "could not connect" in str(exc.orig):
            # The pool has been invalidated: the next request reconnects.
            return JSONResponse({"detail": "the database is unavailable"}, status_code=503,
                                headers={"Retry-After": "1"})
        return JSONResponse({"detail": "the request could not be completed"}, status_code=500)
