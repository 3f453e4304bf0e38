"""The plot availability state machine: which status may follow which, defined once for every writer."""

from __future__ import annotations

from locations.errors import Conflict, InvalidInput

#: Every status a plot can have (the schema's plot_status_known check holds the same list).
STATUSES = ("available", "reserved", "under_negotiation", "sold", "occupied", "not_for_sale")

#: The allowed next statuses of each status. Why each edge exists:
#: - an offer is reserved, negotiated or sold directly, and any of these can fall through
#:   back to available;
#: - a reservation can turn into negotiation and negotiation back into a reservation
#:   (e.g. waiting for a permit);
#: - a sold plot is built on (occupied) or the sale is reversed (available again);
#: - an occupied plot only becomes available when the company leaves (vacated);
#: - a plot taken off the market (not_for_sale) comes back as available, never straight
#:   into a deal, so that the offer is published before it is negotiated.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "available": ("reserved", "under_negotiation", "sold", "not_for_sale"),
    "reserved": ("available", "under_negotiation", "sold"),
    "under_negotiation": ("available", "reserved", "sold"),
    "sold": ("occupied", "available"),
    "occupied": ("available",),
    "not_for_sale": ("available",),
}


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
