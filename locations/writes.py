"""What every authorised write of a plot or zone shares: the version the caller read
(optimistic concurrency), the row the write starts from, and the one guarded UPDATE."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from locations.errors import NotFound, PreconditionFailed
from locations.values import out_of_range


def check_version(kind: str, current_version: int, expected_version: int) -> None:
    """Raises PreconditionFailed when the caller's ETag is not the current version."""
    if current_version != expected_version:
        raise PreconditionFailed(
            f"the {kind} changed since you read it: you sent version {expected_version}, "
            f"the current version is {current_version}; read it again and retry"
        )


def lock_zone_of_plot(conn: Connection, plot_id: int) -> None:
    """Take the plot's zone before the plot itself (a key-share lock, until the transaction
    ends): every write takes a zone's row before its plots' rows.

    A zone given to another municipality changes its key (its name is unique within its
    municipality), so its row is locked against the key-share locks that the foreign keys of
    a plot write's figures (``zone_verified_month``, ``zone_supply_month``) take on the zone,
    and it then moves the zone's plots to their new municipality. A plot locked first by its
    write and its zone next deadlocked with such a move; this way the plot write waits for
    the move, or the move for the plot write, never both (tests/test_write_conflicts.py).
    A zone redrawn or edited keeps its key and does not wait for this lock.
    """
    conn.execute(text("SELECT 1 FROM zone WHERE id = (SELECT zone_id FROM plot WHERE id = :id) "
                      "FOR KEY SHARE"), {"id": plot_id})


def row_for_write(conn: Connection, kind: str, row_id: int, sql: str) -> Mapping[str, Any]:
    """The row a write starts from, with its municipality for the scope check; NotFound if none."""
    row = conn.execute(text(sql), {"id": row_id}).mappings().first()
    if row is None:
        raise NotFound(f"{kind} {row_id} does not exist")
    return row


def set_clause(fields: list[str]) -> str:
    # Column names come from PLOT_FIELDS / ZONE_FIELDS keys, checked by parse_fields, never raw input.
    return "".join(f"{field} = :{field}, " for field in fields)


def guarded_update(
    conn: Connection, table: str, row_id: int, expected_version: int, set_clause: str,
    params: Mapping[str, Any],
) -> int:
    """The one place a plot or zone row is written: only if its version is still the expected one.

    Concurrent writers block on the row lock; once the winner commits, the others
    re-check ``version = :expected`` against the new row, match nothing, and lose.
    """
    assert table in ("plot", "zone")  # fixed by the callers above, never input
    try:
        new_version = conn.execute(
            text(
                f"UPDATE {table} SET {set_clause}version = version + 1, updated_at = now() "
                "WHERE id = :row_id AND version = :expected_version RETURNING version"
            ),
            {**params, "row_id": row_id, "expected_version": expected_version},
        ).scalar()
    except IntegrityError as exc:
        # The field rules keep within the CHECK constraints' bounds; should they ever
        # differ, the refusal still names the field rather than failing as a 500.
        if (refusal := out_of_range(exc)) is not None:
            raise refusal from None
        raise
    if new_version is None:
        raise PreconditionFailed(
            f"the {table} was changed by someone else a moment ago; read it again and retry"
        )
    return new_version
