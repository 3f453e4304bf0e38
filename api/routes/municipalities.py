"""Municipalities as GeoJSON; their audit trail of changes and their plots nobody verified lately."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.auth import CurrentAccount
from api.deps import ConnectionDep
from api.responses import AUTH_ERRORS, GeoJSONResponse, error_responses
from locations import features, history

router = APIRouter(tags=["municipalities"])


@router.get("/municipalities", response_class=GeoJSONResponse, summary="Municipalities",
            responses=error_responses(400))
def list_municipalities(
    conn: ConnectionDep,
    region: Annotated[str | None, Query(
        description="Region code of any level, any case: SI042, AT22 (Styria), AT-D-601",
        max_length=20)] = None,
) -> GeoJSONResponse:
    return GeoJSONResponse(features.list_municipalities(conn, region=region))


#: A municipality's audit trail is for its editors, its region's analysts and admins.
READER_ERRORS = error_responses(*AUTH_ERRORS, 403, 404)


@router.get("/municipalities/{municipality}/changes",
            summary="Plot and zone changes in a municipality, oldest first",
            responses=READER_ERRORS)
def municipality_changes(
    conn: ConnectionDep,
    account: CurrentAccount,
    municipality: str,
    since: Annotated[dt.datetime | None, Query(description="Only changes after this time")] = None,
    limit: Annotated[int, Query(ge=1, le=history.MAX_CHANGES)] = history.MAX_CHANGES,
) -> dict[str, Any]:
    return history.municipality_changes(conn, account, municipality, since, limit)


@router.get("/municipalities/{municipality}/stale",
            summary="Live plots nobody verified for `months` months", responses=READER_ERRORS)
def municipality_stale_plots(
    conn: ConnectionDep,
    account: CurrentAccount,
    municipality: str,
    months: Annotated[int, Query(ge=1, le=240)] = 12,
) -> dict[str, Any]:
    return history.stale_plots(conn, account, municipality, months)
