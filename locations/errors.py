"""Domain errors: raised by the core, mapped once to HTTP statuses in ``api.errors``."""

from __future__ import annotations


class LocationsError(Exception):
    """Base of every error the platform explains to its users."""


class DatabaseUnavailable(LocationsError):
    """The database server cannot be reached or started."""


class SchemaNotReady(DatabaseUnavailable):
    """The database answers, but without PostGIS or the schema this version needs."""


class NotFound(LocationsError):
    """A requested region, zone, plot ... does not exist."""


class InvalidInput(LocationsError):
    """A parameter or field is not acceptable; ``field`` names it."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class OutOfRange(InvalidInput):
    """A number beyond the bounds the database keeps (a price above 100,000 EUR/m², a power
    above 10,000 MW): well-formed, but no plot can have it."""


class InvalidGeometry(InvalidInput):
    """A geometry PostGIS refuses: invalid, unknown CRS, outside its zone, overlapping a plot."""

    def __init__(self, reason: str, field: str = "geometry") -> None:
        super().__init__(field, reason)


class TooManyRequests(LocationsError):
    """The caller failed too often recently; ``retry_after`` seconds until it may try again."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


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


class WriteConflict(Conflict):
    """PostgreSQL cancelled the write's transaction for another writer's at the same moment
    (a deadlock or a serialization failure), and did so on every attempt; nothing of it
    was written, and sending it again will do."""
