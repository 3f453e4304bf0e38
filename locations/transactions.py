"""Write transactions run again when PostgreSQL cancels them for another writer's.

Two transactions can each hold a row the other waits for: two bulk files naming the same
plots in opposite orders, or a zone redrawn while its plots are written (the triggers take
a zone's rows after its plots', so a single plot write cannot meet a redraw that way, but
several plots written one by one still can). PostgreSQL then cancels one of them with
SQLSTATE 40P01 (deadlock detected); 40001 (serialization failure) says the same of a
stricter isolation. The cancelled transaction wrote nothing, so running it again from the
start is safe, and almost always succeeds: the other writer has gone on meanwhile.

``write`` runs a unit of work in its own transaction, again up to ``ATTEMPTS`` times on such
a cancellation, and then raises ``WriteConflict`` (409, asking to send it again) instead of
letting the driver's error become a 500. The work must only touch the database, so that
running it again repeats nothing else (no file written, no message sent).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import psycopg2
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from locations.errors import WriteConflict

logger = logging.getLogger("locations.transactions")

#: SQLSTATEs of a transaction cancelled for another's: serialization_failure,
#: deadlock_detected. Nothing of it was written; the same work may well succeed again.
CONFLICT_SQLSTATES = frozenset({"40001", "40P01"})
#: Attempts of one unit of work before its caller is told to send it again.
ATTEMPTS = 3
#: Seconds before the next attempt: at most this times the attempts made, with a random
#: share so that two writers cancelled together do not meet again at once.
BACKOFF_SECONDS = 0.05

T = TypeVar("T")


def causes(exc: BaseException, *, context: bool = False) -> Iterator[BaseException]:
    """``exc``, the driver error SQLAlchemy wrapped, and what it was raised from; with
    ``context``, also what it was raised during: a lost connection often surfaces as a
    second error (setting autocommit, resetting the connection on its way back to the
    pool) raised while handling the first."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen or len(seen) > 16:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, DBAPIError) and isinstance(current.orig, BaseException):
            pending.append(current.orig)
        pending.append(current.__cause__)
        if context and not current.__suppress_context__:
            pending.append(current.__context__)


def is_write_conflict(exc: BaseException) -> bool:
    """Whether ``exc`` is PostgreSQL cancelling a transaction for another's (40001, 40P01)."""
    return any(isinstance(cause, psycopg2.Error) and cause.pgcode in CONFLICT_SQLSTATES
               for cause in causes(exc))


#: What the caller is told: why, that nothing was written, and what to do.
CONFLICT_MESSAGE = ("another change to the same plots or zone was being saved at the same "
                    "moment, so this one could not be saved; nothing of it was written: "
                    "send it again")


def write(engine: Engine, work: Callable[[Connection], T], *, attempts: int = ATTEMPTS) -> T:
    """``work(conn)`` in a transaction of its own, committed; what it returned.

    Raises:
        WriteConflict: PostgreSQL cancelled every one of ``attempts`` transactions for
            another writer's (nothing was written).
        Whatever else ``work`` raises (its transaction is rolled back).
    """
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, not {attempts}")
    for attempt in range(1, attempts + 1):
        try:
            with engine.begin() as conn:
                return work(conn)
        except Exception as exc:
            if not is_write_conflict(exc):
                raise
            code = next(cause.pgcode for cause in causes(exc)
                        if getattr(cause, "pgcode", None) in CONFLICT_SQLSTATES)
            if attempt == attempts:
                logger.warning("write cancelled for another writer's (SQLSTATE %s) on each "
                               "of %d attempts; refused", code, attempts)
                raise WriteConflict(CONFLICT_MESSAGE) from exc
            logger.info("write cancelled for another writer's (SQLSTATE %s), attempt %d of "
                        "%d; running it again", code, attempt, attempts)
            time.sleep(BACKOFF_SECONDS * attempt * (0.5 + random.random()))
    raise AssertionError("unreachable")
