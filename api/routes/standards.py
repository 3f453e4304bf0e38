"""The location standards the platform ships: list and full text with derived weights."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.responses import error_responses
from locations.standard import available_standards, find_standard

router = APIRouter(tags=["scoring"])


@router.get("/standards", summary="The location standards, each with its profiles")
def list_standards() -> dict[str, Any]:
    return {"standards": [standard.summary() for standard in available_standards()]}


@router.get("/standards/{name}", summary="One standard: criteria, rules, gates, profiles, weights",
            responses=error_responses(404))
def get_standard(
    name: str,
    version: Annotated[str | None, Query(description="A version (default: the newest)")] = None,
) -> dict[str, Any]:
    standard = find_standard(name, version)
    document = standard.model_dump(mode="json")
    # The per-criterion weights each profile implies, so readers need not work them out.
    document["criterion_weights"] = {
        profile: {cid: round(weight, 4) for cid, weight in standard.criterion_weights(profile).items()}
        for profile in standard.profiles
    }
    return document
