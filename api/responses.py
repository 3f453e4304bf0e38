"""Response classes shared by the routers, and the error answers they document."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from locations.formats import FORMATS


class GeoJSONResponse(JSONResponse):
    """RFC 7946 GeoJSON."""

    media_type = "application/geo+json"


#: The body of every error answer (see ``api.errors``), inline rather than a model: FastAPI
#: would document a model under the route's own media type (GeoJSON, HTML), but errors are
#: always JSON.
ERROR_BODY = {
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {"type": "string", "description": "What is wrong, in words"},
        "field": {"type": "string", "description": "The parameter or field refused (400, 422)"},
        "errors": {
            "type": "array",
            "description": "Each value request validation refused (422)",
            "items": {"type": "object", "required": ["field", "message"],
                      "properties": {"field": {"type": "string",
                                               "description": "e.g. query.limit, body.note"},
                                     "message": {"type": "string"}}},
        },
    },
}

#: ``responses`` entry of a route that answers in any download format (``f`` or Accept).
DOWNLOADS: dict[int | str, dict[str, Any]] = {200: {
    "description": "The features, as GeoJSON (default), CSV, GeoPackage or XLSX",
    "content": {fmt.media_type.split(";")[0]: {} for fmt in FORMATS.values()},
}}

#: What each error status means in this API.
ERROR_MEANINGS = {
    400: "A parameter or field is not acceptable: `field` names it, `detail` says why",
    401: "No bearer token where one is needed, or an invalid or revoked one",
    403: "The token's role or scope does not allow this",
    404: "No such item",
    409: "The request contradicts the current state (e.g. a forbidden status transition)",
    412: "The If-Match ETag is not the current version: read again and retry",
    422: "A malformed request or a value out of bounds: `errors` names each field",
    428: "A write without If-Match: send the ETag you read",
    429: "Too many failed authentications from this address: retry after Retry-After",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error statuses, each with the error body."""
    return {status: {"description": ERROR_MEANINGS[status],
                     "content": {"application/json": {"schema": ERROR_BODY}}}
            for status in statuses}


#: What any route with an optional or required bearer token may answer besides.
AUTH_ERRORS = (401, 429)
#: ``openapi_extra`` of a route whose bearer token is optional: OpenAPI's empty security
#: requirement says that calling without one is fine too.
OPTIONAL_TOKEN: dict[str, Any] = {"security": [{}]}
#: ``openapi_extra`` of a route that reads its optional token itself (``api.auth.request_account``):
#: the security requirements FastAPI writes for a route declaring ``OptionalAccount``.
BEARER_OR_ANONYMOUS: dict[str, Any] = {"security": [{"HTTPBearer": []}, {}]}
#: What a write to a plot or zone may answer: a role or scope, concurrency, state.
WRITE_ERRORS = (401, 403, 404, 409, 412, 428, 429)
