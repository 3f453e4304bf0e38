"""The benchmarks' databases: a migrated PostGIS database made (or kept) by name."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url

from locations.migrate import migrate

ROOT = Path(__file__).resolve().parents[1]


def embedded_url(database: str) -> str:
    """The URL of ``database`` on the project's embedded cluster (``locations db up``), with
    the cluster's password."""
    from locations.db import embedded_cluster

    return embedded_cluster().status().url(database)


def migrated_database(url: str | URL, *, replace: bool = True) -> Engine:
    """An engine on the database at ``url``, with PostGIS and every migration.

    ``replace`` drops the database first (a benchmark that loads its own data);
    otherwise one that exists is kept and only brought up to date.
    """
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if replace:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                              {"name": target.database}).first()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()
    engine = create_engine(target)
    with engine.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    migrate(engine)
    return engine


def time_statements(engine: Engine) -> list[tuple[float, str]]:
    """Every statement ``engine`` runs from now on, as (seconds, its text without leading
    blanks), appended as each ends: where a long load's time goes, step by step."""
    timed: list[tuple[float, str]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info["statement_started"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def after(conn, cursor, statement, parameters, context, executemany):
        timed.append((time.perf_counter() - conn.info["statement_started"], statement.lstrip()))

    return timed


def slowest_statements(timed: list[tuple[float, str]], n: int = 12) -> list[tuple[float, str]]:
    """The ``n`` slowest of ``timed`` (``time_statements``), each by its first words."""
    return [(seconds, " ".join(statement.split())[:90])
            for seconds, statement in sorted(timed, key=lambda t: t[0], reverse=True)[:n]]


def settle(engine: Engine) -> list[tuple[str, float]]:
    """VACUUM (ANALYZE) every table written since it was last vacuumed; (table, seconds)
    of each, slowest first.

    A benchmark that writes (scoring a profile, a cold run emptying the kept site metrics)
    and then times reads would time them beside autovacuum: a million rows freshly written
    are vacuumed within the next minute, throttled, over 10-15 s (measured at a million
    plots: the run's own partition while the first 290 of 480 requests were timed), and
    until then an index-only scan of them reads the table too. A deployment serves its
    readers with those tables settled; so does the benchmark, doing now what autovacuum
    would (its counters say which tables: those written since their last vacuum).
    """
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        tables = conn.execute(text("""
            SELECT format('%I.%I', schemaname, relname) FROM pg_stat_user_tables
            WHERE n_ins_since_vacuum + n_dead_tup > 0 ORDER BY 1
        """)).scalars().all()
        timings = []
        for table in tables:
            started = time.perf_counter()
            conn.execute(text(f"VACUUM (ANALYZE) {table}"))
            timings.append((table, time.perf_counter() - started))
    return sorted(timings, key=lambda timing: timing[1], reverse=True)


def print_settled(timings: list[tuple[str, float]]) -> None:
    """One line for :func:`settle`'s work: the total, and the slowest tables."""
    total = sum(seconds for _, seconds in timings)
    slowest = ", ".join(f"{table} {seconds:.1f} s" for table, seconds in timings[:4])
    print(f"settled: VACUUM (ANALYZE) of {len(timings)} tables written since their last "
          f"vacuum in {total:.1f} s{f' ({slowest})' if timings else ''}", flush=True)
