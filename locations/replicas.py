"""Read replicas: reads go to a healthy PostgreSQL hot standby, writes to the primary.

The standbys are PostgreSQL's own streaming replicas (``LOCATIONS_READ_REPLICA_URLS``,
or the embedded ones ``locations db up --replica N`` starts). A checker asks each of them
every ``CHECK_EVERY_S`` how far it has replayed the primary's write-ahead log; one that
cannot be reached, is not in recovery (a promoted or wrongly listed server) or lags more
than ``LOCATIONS_REPLICA_MAX_LAG_S`` is skipped until a later check finds it well again.
With none healthy, the primary serves the reads.

Read-your-writes is by WAL position, not by a time window: after a write, the primary's
position is remembered for the writer (``api.read_your_writes``: a cookie for browsers,
the token for scripts), and that writer's reads go only to a replica that has replayed
at least that far, else to the primary. The position is ``pg_current_wal_insert_lsn``:
with asynchronous commit the commit record may not be written out yet, and
``pg_current_wal_lsn`` would miss it. A window would send an
editor to a replica that is slower than the window, or to the primary for longer than
needed; the position is exact and costs one query per write.
"""

from __future__ import annotations

import contextvars
import itertools
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError

logger = logging.getLogger("locations.replicas")

#: How often each replica's state is asked for: its lag is at most this much older.
CHECK_EVERY_S = 1.0

#: The WAL position the current request's caller must see (set by the read-your-writes
#: middleware; None: any healthy replica will do).
wanted_position: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "wanted_position", default=None)
#: Replicas this request must not read from: ones that cancelled its read already.
avoided: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar(
    "avoided", default=frozenset())
#: Where the current request's reads went (a list the caller made; None: not recorded). The
#: list is shared with the worker threads the request's reads run in.
reads_of_request: contextvars.ContextVar[list[Replica | None] | None] = contextvars.ContextVar(
    "reads_of_request", default=None)

#: SQLSTATE of "canceling statement due to conflict with recovery" (and of the FATAL
#: "terminating connection ..." variant). A standby runs no serializable transactions, so
#: on a replica this code means a recovery conflict and nothing else.
RECOVERY_CONFLICT = "40001"


def is_recovery_conflict(exc: BaseException) -> bool:
    """Whether ``exc`` (or what it wraps, was raised from or during) is a read a standby
    cancelled because replaying the primary's WAL needed what the read held: a row version
    VACUUM removed, a lock for DROP or TRUNCATE, a buffer pin."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending and len(seen) < 16:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if getattr(current, "pgcode", None) == RECOVERY_CONFLICT:
            return True
        pending.extend([getattr(current, "orig", None), current.__cause__, current.__context__])
    return False


def parse_lsn(value: str | None) -> int | None:
    """A WAL position as PostgreSQL writes it (``16/B374D848``) as a number; None when not one."""
    if not value or "/" not in value or len(value) > 17:
        return None
    high, _, low = value.partition("/")
    try:
        return (int(high, 16) << 32) + int(low, 16)
    except ValueError:
        return None


def format_lsn(position: int) -> str:
    return f"{position >> 32:X}/{position & 0xFFFFFFFF:X}"


@dataclass
class Replica:
    """One standby and what the last check found."""

    name: str
    url: str = field(repr=False)
    engine: Engine = field(repr=False)
    reachable: bool = False
    in_recovery: bool = False
    replayed: int | None = None
    lag_s: float | None = None
    error: str | None = None
    checked_at: float = 0.0
    reads: int = 0
    #: Reads it cancelled for a recovery conflict (each served again elsewhere).
    conflicts: int = 0

    def healthy(self, max_lag_s: float) -> bool:
        return (self.reachable and self.in_recovery and self.lag_s is not None
                and self.lag_s <= max_lag_s)

    def state(self, max_lag_s: float) -> dict[str, Any]:
        # No host or driver message: /health is public, and both tell an attacker too much.
        return {"name": self.name, "role": "replica",
                "reachable": self.reachable, "in_recovery": self.in_recovery,
                "lag_s": None if self.lag_s is None else round(self.lag_s, 3),
                "replayed": None if self.replayed is None else format_lsn(self.replayed),
                "healthy": self.healthy(max_lag_s), "error": self.error, "reads": self.reads,
                "conflicts": self.conflicts}


class ReadPool:
    """The primary and its replicas: which engine serves the next read."""

    def __init__(self, primary: Engine, replica_urls: list[str], max_lag_s: float) -> None:
        self.primary = primary
        self.max_lag_s = max_lag_s
        self.replicas = [
            Replica(f"replica-{number}", url, _replica_engine(url))
            for number, url in enumerate(replica_urls, start=1)]
        self.primary_reads = 0
        self._turn = itertools.count()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- checking ------------------------------------------------------------------------

    def check(self) -> None:
        """Ask every replica where it stands; its lag is measured against the primary's
        current position (a replica that has replayed all of it lags 0, however long ago
        the last write was), else as the age of the last transaction it replayed."""
        primary_at = None
        try:
            with self.primary.connect() as conn:
                primary_at = parse_lsn(conn.execute(
                    text("SELECT pg_current_wal_insert_lsn()::text")).scalar_one())
        except DBAPIError:
            pass  # the primary away: the replicas are measured by their replay age alone
        for replica in self.replicas:
            self._check_one(replica, primary_at)

    def _check_one(self, replica: Replica, primary_at: int | None) -> None:
        try:
            with replica.engine.connect() as conn:
                row = conn.execute(text(
                    "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text, "
                    "EXTRACT(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())"
                )).one()
        except DBAPIError as exc:
            if replica.reachable or replica.checked_at == 0.0:  # logged once per outage
                logger.warning("%s unreachable: %s", replica.name,
                               " ".join(str(exc.orig or exc).split())[:300])
            replica.reachable, replica.lag_s = False, None
            replica.error = "unreachable"
            replica.checked_at = time.monotonic()
            return
        in_recovery, replayed, age = row
        replica.reachable, replica.in_recovery = True, bool(in_recovery)
        replica.replayed = parse_lsn(replayed)
        replica.error = None if in_recovery else "not a standby (not in recovery)"
        if primary_at is not None and replica.replayed is not None and replica.replayed >= primary_at:
            replica.lag_s = 0.0
        elif age is not None:
            replica.lag_s = float(age)
        else:
            replica.lag_s = None  # nothing replayed yet: not usable until it has
        replica.checked_at = time.monotonic()

    def start(self) -> None:
        """Check now, then every ``CHECK_EVERY_S`` in a thread of its own."""
        if not self.replicas or self._thread is not None:
            return
        self.check()
        self._thread = threading.Thread(target=self._run, name="replica-check", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(CHECK_EVERY_S):
            try:
                self.check()
            except Exception:  # never let the checker die: a dead one would freeze the states
                logger.exception("replica check failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        for replica in self.replicas:
            replica.engine.dispose()

    # -- choosing ------------------------------------------------------------------------

    def choose(self, wanted: int | None = None,
               avoid: frozenset[str] = frozenset()) -> tuple[Engine, Replica | None]:
        """A healthy replica that has replayed ``wanted`` (round robin) and is not in
        ``avoid``, else the primary."""
        usable = [r for r in self.replicas if r.healthy(self.max_lag_s) and r.name not in avoid
                  and (wanted is None or (r.replayed is not None and r.replayed >= wanted))]
        if not usable:
            with self._lock:
                self.primary_reads += 1
            return self.primary, None
        replica = usable[next(self._turn) % len(usable)]
        with self._lock:
            replica.reads += 1
        return replica.engine, replica

    def mark_down(self, replica: Replica, error: Exception) -> None:
        """A replica that failed a read is skipped until the next check finds it well."""
        replica.reachable = False
        replica.error = "unreachable"
        logger.warning("%s failed a read, skipped until it answers a check: %s", replica.name,
                       type(error).__name__)

    def primary_position(self) -> int | None:
        """The primary's current WAL position: what a writer's next reads must see."""
        with self.primary.connect() as conn:
            return parse_lsn(conn.execute(text("SELECT pg_current_wal_insert_lsn()::text")).scalar_one())

    def states(self) -> list[dict[str, Any]]:
        return [r.state(self.max_lag_s) for r in self.replicas]


def _replica_engine(url: str) -> Engine:
    # Smaller than the primary's pool: several replicas share the load. A replica that
    # stops answering must not hold a request for long.
    return create_engine(url, pool_size=5, max_overflow=10, pool_pre_ping=True,
                         pool_recycle=3600, hide_parameters=True,
                         connect_args={"connect_timeout": 2, "application_name": "locations-read"})


_POOLS: WeakKeyDictionary[Engine, ReadPool] = WeakKeyDictionary()


def attach(pool: ReadPool) -> None:
    """Reads through ``pool.primary`` (``read_engine``) go to its replicas from now on."""
    _POOLS[pool.primary] = pool


def detach(primary: Engine) -> None:
    pool = _POOLS.pop(primary, None)
    if pool is not None:
        pool.stop()


def pool_for(primary: Engine) -> ReadPool | None:
    return _POOLS.get(primary)


def route(primary: Engine) -> tuple[Engine, ReadPool | None, Replica | None]:
    """The engine this request's reads should use, given its caller's last write; the pool
    and the replica chosen (None: the primary serves)."""
    pool = _POOLS.get(primary)
    if pool is None:
        return primary, None, None
    engine, replica = pool.choose(wanted_position.get(), avoided.get())
    record = reads_of_request.get()
    if record is not None:
        record.append(replica)
    return engine, pool, replica
