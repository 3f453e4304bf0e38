"""The benchmarks' databases: a migrated PostGIS database made (or kept) by name."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, text
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
