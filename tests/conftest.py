"""Test fixtures: a real PostgreSQL + PostGIS, migrated, with the demo data loaded.

With DATABASE_URL set, its server is used (the role must be allowed to create
databases); otherwise a throwaway cluster is started in a temporary folder with
the machine's PostgreSQL binaries, and removed at the end.

Databases: ``locations_test_template`` is migrated and loaded once; the shared
read-only ``engine`` is a copy of it, and ``fresh_engine`` hands each test that
writes its own copy, so tests never see each other's changes.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from locations.embedded import EmbeddedCluster
from locations.migrate import migrate
from locations.settings import get_settings

TEMPLATE_DB = "locations_test_template"
SCORED_TEMPLATE_DB = "locations_test_scored_template"


def _admin_engine(server_url: str) -> Engine:
    return create_engine(
        make_url(server_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )


def _create_database(server_url: str, name: str, template: str | None = None) -> str:
    admin = _admin_engine(server_url)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        suffix = f' TEMPLATE "{template}"' if template else ""
        conn.execute(text(f'CREATE DATABASE "{name}"{suffix}'))
    admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def _drop_database(server_url: str, name: str) -> None:
    admin = _admin_engine(server_url)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """URL of a PostgreSQL server with PostGIS available (its ``postgres`` database)."""
    external = os.environ.get("DATABASE_URL")
    if external:
        url = external.replace("postgres://", "postgresql://", 1)
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg2://" + url[len("postgresql://"):]
        yield url
        return
    folder = Path(tempfile.mkdtemp(prefix="locations-test-pg-"))
    cluster = EmbeddedCluster(folder / "pg", get_settings().pg_bin, fast_unsafe=True)
    status = cluster.start("postgres")
    try:
        yield status.url("postgres")
    finally:
        cluster.destroy()
        folder.rmdir() if folder.exists() and not any(folder.iterdir()) else None


@pytest.fixture(scope="session")
def template_db(pg_server: str) -> str:
    """Name of a migrated database holding the demo data, used as a template."""
    from locations.demo_load import load_demo

    url = _create_database(pg_server, TEMPLATE_DB)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    migrate(engine)
    load_demo(engine)
    engine.dispose()
    return TEMPLATE_DB


@pytest.fixture(scope="session")
def scored_template_db(pg_server: str, template_db: str) -> str:
    """Name of a template holding the demo scored for every profile (what `make run`
    loads), scored once for the whole session."""
    from locations.demo_score import score_demo

    url = _create_database(pg_server, SCORED_TEMPLATE_DB, template=template_db)
    engine = create_engine(url)
    score_demo(engine)
    engine.dispose()
    return SCORED_TEMPLATE_DB


@pytest.fixture(scope="module")
def scored_engine(pg_server: str, scored_template_db: str) -> Iterator[Engine]:
    """A module's own copy of the scored demo."""
    name, engine = _engine_from_template(pg_server, scored_template_db, "locations_test_scored")
    yield engine
    engine.dispose()
    _drop_database(pg_server, name)


def _engine_from_template(pg_server: str, template: str, prefix: str) -> tuple[str, Engine]:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    url = _create_database(pg_server, name, template=template)
    return name, create_engine(url, pool_size=25, max_overflow=10)


@pytest.fixture(scope="session")
def engine(pg_server: str, template_db: str) -> Iterator[Engine]:
    """A shared database with the demo data, for tests that only read."""
    name, engine = _engine_from_template(pg_server, template_db, "locations_test_read")
    yield engine
    engine.dispose()
    _drop_database(pg_server, name)


@pytest.fixture
def fresh_engine(pg_server: str, template_db: str) -> Iterator[Engine]:
    """A private copy of the demo database for one test that writes."""
    name, engine = _engine_from_template(pg_server, template_db, "locations_test_rw")
    yield engine
    engine.dispose()
    _drop_database(pg_server, name)


@pytest.fixture
def empty_engine(pg_server: str) -> Iterator[Engine]:
    """A migrated database with no rows, for tests that build their own data."""
    name = f"locations_test_empty_{uuid.uuid4().hex[:10]}"
    url = _create_database(pg_server, name)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    migrate(engine)
    yield engine
    engine.dispose()
    _drop_database(pg_server, name)


@pytest.fixture(scope="session")
def client(engine: Engine) -> Iterator[TestClient]:
    """An API client on the shared read-only demo database."""
    from api.app import create_app

    with TestClient(create_app(engine)) as test_client:
        yield test_client


@pytest.fixture
def fresh_client(fresh_engine: Engine) -> Iterator[TestClient]:
    """An API client on a private copy of the demo database."""
    from api.app import create_app

    with TestClient(create_app(fresh_engine)) as test_client:
        yield test_client
