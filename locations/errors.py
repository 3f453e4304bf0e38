"""Domain errors: raised by the core, mapped once to HTTP statuses in ``api.errors``."""

from __future__ import annotations


class LocationsError(Exception):
    """Base of every error the platform explains to its users."""


class DatabaseUnavailable(LocationsError):
    """The database server cannot be reached or started."""


class NotFound(LocationsError):
    """A requested region, zone, plot ... does not exist."""


class InvalidInput(LocationsError):
    """A parameter or field is not acceptable; ``field`` names it."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class Conflict(LocationsError):
    """The request contradicts the current state (e.g. a forbidden status transition)."""


class PreconditionFailed(LocationsError):
    """The If-Match ETag does not match the current version."""


class PreconditionRequired(LocationsError):
    """A write came without If-Match."""


class Unauthenticated(LocationsError):
    """No or an invalid credential."""


class Forbidden(LocationsError):
    """The credential is valid but outside its role or scope."""
