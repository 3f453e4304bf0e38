"""Scores: a plot's and a zone's stored score with breakdown, and scoring runs (start, follow)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from api.auth import OptionalAccount, allowed_to
from api.deps import ConnectionDep, EngineDep
from api.responses import OPTIONAL_TOKEN
from locations import score_explanations, scoring
from locations.accounts import Account
from locations.standard import DEFAULT_STANDARD, find_standard

router = APIRouter(tags=["scoring"])
logger = logging.getLogger("locations.api")

ProfileQuery = Annotated[
    str, Query(description="Profile: manufacturing, logistics, services, technology",
               pattern=r"^[a-z][a-z_]*$", max_length=40)
]


class RunRequest(BaseModel):
    """What to score: one profile, all regions or one, with the standard's newest version."""

    profile: str = Field(pattern=r"^[a-z][a-z_]*$", max_length=40)
    region: str | None = Field(default=None, max_length=20,
                               description="of any level, e.g. SI042, AT22, AT-D-601")
    standard: str = DEFAULT_STANDARD
    version: str | None = None
    as_of: dt.date | None = Field(default=None, description="Freshness counted to (default today)")


@router.get("/plots/{plot_id}/score", summary="A plot's score with its breakdown")
def plot_score(conn: ConnectionDep, plot_id: int, profile: ProfileQuery) -> dict[str, Any]:
    scoring.check_profile(conn, profile)
    return score_explanations.explain_plot(conn, plot_id, profile)


@router.get("/zones/{zone_id}/score", summary="A zone's score: best plot, mean, zone criteria")
def zone_score(conn: ConnectionDep, zone_id: int, profile: ProfileQuery) -> dict[str, Any]:
    scoring.check_profile(conn, profile)
    return score_explanations.explain_zone(conn, zone_id, profile)


def _execute_quietly(engine: Engine, run_id: int) -> None:
    # The failure is stored on the run (status 'failed', error); the client polls for it.
    try:
        scoring.execute_run(engine, run_id)
    except Exception:
        logger.exception("scoring run %s failed", run_id)


@router.post("/scores/runs", status_code=202, summary="Start a scoring run (agency, admin)")
def start_run(
    request: RunRequest,
    engine: EngineDep,
    background: BackgroundTasks,
    response: Response,
    account: Annotated[Account, Depends(allowed_to("score"))],
) -> dict[str, Any]:
    """Record the run and score in the background; follow it at ``/scores/runs/{id}``.

    An agency scores its own regions: a run without ``region`` covers (and ranks) every
    region, so it needs an admin or an account covering them all."""
    standard = find_standard(request.standard, request.version)
    # The scope is checked by start_run itself, against every region the run covers.
    run_id = scoring.start_run(engine, standard, request.profile, region=request.region,
                               requested_by=account.name, as_of=request.as_of, account=account)
    # A sync background task runs in the thread pool after the response: no request waits.
    background.add_task(_execute_quietly, engine, run_id)
    response.headers["Location"] = f"/scores/runs/{run_id}"
    with engine.connect() as conn:
        return scoring.get_run(conn, run_id)


@router.get("/scores/runs/{run_id}", summary="A scoring run: standard, profile, who, when, status",
            openapi_extra=OPTIONAL_TOKEN)
def get_run(conn: ConnectionDep, run_id: int, account: OptionalAccount) -> dict[str, Any]:
    """Anybody may follow a run; who started it and why it failed (a database message may
    name tables and values) only accounts see."""
    run = scoring.get_run(conn, run_id)
    if account is None:
        run.pop("requested_by", None)
        if run.get("error"):
            run["error"] = "the run failed; accounts can read why"
    return run
