"""The plot availability state machine: which status may follow which, defined once for every writer."""

from __future__ import annotations

from locations.errors import Conflict, InvalidInput
from locations.vocabulary import PLOT_STATUS, STATUS_TRANSITIONS

#: Every status a plot can have, and which may follow which (defined in the vocabulary).
STATUSES = PLOT_STATUS.codes
TRANSITIONS = STATUS_TRANSITIONS



class ForbiddenTransition(Conflict):
    """A status change the state machine does not allow; ``allowed`` lists what would be."""

    def __init__(self, current: str, requested: str) -> None:
        self.current = current
        self.requested = requested
        self.allowed = TRANSITIONS[current]
        super().__init__(
            f"a plot cannot go from {current!r} to {requested!r}; "
            f"from {current!r} it may go to: {', '.join(self.allowed)}"
        )


def check_status(status: object) -> str:
    """``status`` if it is a known status.

    Raises:
        InvalidInput: not one of STATUSES.
    """
    if not isinstance(status, str) or status not in STATUSES:
        raise InvalidInput("status", f"unknown status {status!r}; known: {', '.join(STATUSES)}")
    return status


def check_transition(current: str, requested: str) -> None:
    """Allow ``current -> requested`` or raise; staying in the same status is always allowed.

    Raises:
        InvalidInput: ``requested`` is no status at all.
        ForbiddenTransition: the state machine forbids this change (a Conflict, HTTP 409).
    """
    check_status(requested)
    if requested != current and requested not in TRANSITIONS[current]:
        raise ForbiddenTransition(current, requested)
