"""The demo scored for every profile of the shipped standard, right after it is loaded."""

from __future__ import annotations

from sqlalchemy import Engine

from locations.scoring import run_scoring
from locations.standard import DEFAULT_STANDARD, find_standard


def score_demo(engine: Engine) -> list[str]:
    """Score the demo's plots and zones for every profile of the shipped standard.

    A new user should see development potential on the maps and in search right after
    ``make run``, not only after finding ``locations score run``. The demo scores in well
    under a second per profile; each load adds a run, and the newest one counts.
    """
    standard = find_standard(DEFAULT_STANDARD)
    for profile in standard.profiles:
        run_scoring(engine, profile, standard=standard, requested_by="demo load")
    return list(standard.profiles)
