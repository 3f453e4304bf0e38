"""The command line as a user meets it: the embedded cluster's lifecycle and clear errors."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        check=False, capture_output=True, text=True, env=full_env, timeout=180,
    )


def test_help_lists_the_command_groups():
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("db", "demo", "serve"):
        assert command in result.stdout


def test_an_unreachable_database_is_named_with_what_to_do():
    result = run_cli("db", "migrate",
                     env={"DATABASE_URL": "postgresql://nobody@127.0.0.1:9/nowhere"})
    assert result.returncode != 0
    message = " ".join((result.stdout + result.stderr).split())
    assert "127.0.0.1:9" in message
    assert "DATABASE_URL" in message


def test_embedded_cluster_up_twice_status_and_down():
    # Not pytest's tmp_path: a concurrent pytest session may prune old tmp_path folders
    # while this cluster still runs in one.
    tmp_path = Path(tempfile.mkdtemp(prefix="locations-cli-test-"))
    env = {"LOCATIONS_EMBEDDED_DIR": str(tmp_path / "pg")}
    try:
        first = run_cli("db", "up", env=env)
        assert first.returncode == 0, first.stderr
        assert "started" in first.stdout
        second = run_cli("db", "up", env=env)
        assert second.returncode == 0, second.stderr
        assert "already running" in second.stdout

        status = run_cli("db", "status", env=env)
        assert status.returncode == 0
        assert "running" in status.stdout
        assert "has no schema yet: run 'locations db migrate'" in " ".join(status.stdout.split())
        port = (tmp_path / "pg" / "port").read_text().strip()
        assert port in status.stdout

        migrated = run_cli("db", "migrate", env=env)
        assert migrated.returncode == 0, migrated.stderr
    finally:
        down = run_cli("db", "down", env=env)
    assert down.returncode == 0
    assert "stopped" in down.stdout
    stopped = run_cli("db", "status", env=env)
    assert stopped.returncode != 0
    assert "stopped" in stopped.stdout
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_a_role_without_the_privileges_gets_one_clear_line(fresh_engine):
    """A DATABASE_URL role that may read but not write: the import names the refusal and
    what the role needs, in one line, without a traceback; nothing is written."""
    from sqlalchemy import text

    role = f"locations_reader_{fresh_engine.url.database[-10:]}"
    with fresh_engine.begin() as conn:
        conn.execute(text(f"CREATE ROLE {role} LOGIN PASSWORD 'reader'"))
        conn.execute(text(f"GRANT USAGE ON SCHEMA public TO {role}"))
        conn.execute(text(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}"))
        before = conn.execute(text("SELECT count(*) FROM plot")).scalar_one()
    url = fresh_engine.url.set(username=role, password="reader").render_as_string(
        hide_password=False)
    sample = Path(__file__).resolve().parents[1] / "data" / "samples" / "plots-generic.gpkg"
    try:
        result = run_cli("import", "plots", str(sample), env={"DATABASE_URL": url})
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        message = " ".join(result.stderr.split())
        assert "error: database: permission denied for table" in message
        assert "DATABASE_URL" in message
        with fresh_engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM plot")).scalar_one() == before
    finally:
        with fresh_engine.begin() as conn:
            conn.execute(text(f"DROP OWNED BY {role}"))
            conn.execute(text(f"DROP ROLE {role}"))


def _one_migration_behind() -> tuple[str, str]:
    """The newest migration, and SQL setting a migrated database's versions table back to
    the migration before it, as a `git pull` leaves it."""
    from locations.migrate import _scripts

    script = _scripts().get_revision(_scripts().get_current_head())
    return script.revision, (f"UPDATE alembic_version SET version_num = '{script.down_revision}'")


def test_a_database_without_the_schema_says_to_migrate_then_migrates(pg_server):
    """A database created by hand, as for a server of one's own: commands say to migrate,
    in one line, instead of failing in SQL; `db migrate` installs PostGIS and the schema."""
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from tests.conftest import _create_database, _drop_database

    name = f"locations_test_bare_{uuid.uuid4().hex[:10]}"
    url = _create_database(pg_server, name)
    env = {"DATABASE_URL": url}
    sample = Path(__file__).resolve().parents[1] / "data" / "samples" / "plots-generic.gpkg"
    try:
        status = run_cli("db", "status", env=env)
        assert status.returncode == 0, status.stderr
        assert "PostGIS is not installed" in " ".join(status.stdout.split())
        for args in (("import", "plots", str(sample)), ("demo", "load")):
            result = run_cli(*args, env=env)
            message = " ".join(result.stderr.split())
            assert result.returncode == 1, args
            assert "Traceback" not in result.stderr, args
            assert f"PostGIS is not installed in database {name}" in message, args
            assert "run 'locations db migrate'" in message, args

        migrated = run_cli("db", "migrate", env=env)
        assert migrated.returncode == 0, migrated.stderr
        status = run_cli("db", "status", env=env)
        assert status.returncode == 0, status.stderr
        assert "Schema up to date" in status.stdout
        imported = run_cli("import", "plots", str(sample), "--dry-run", env=env)
        assert "PostGIS" not in imported.stderr and "migrate" not in imported.stderr

        # A schema one migration behind, as a `git pull` leaves it: named, with the cure.
        newest, set_back = _one_migration_behind()
        engine = create_engine(make_url(url))
        with engine.begin() as conn:
            conn.execute(text(set_back))
        engine.dispose()
        output = Path(tempfile.mkdtemp(prefix="locations-cli-test-")) / "plots.gpkg"
        behind = run_cli("export", "plots", "-o", str(output), env=env)
        message = " ".join(behind.stderr.split())
        assert behind.returncode == 1
        assert f"schema of database {name} lacks 1 migration(s)" in message
        assert f"({newest}): run 'locations db migrate'" in message
        assert not output.exists()
    finally:
        _drop_database(pg_server, name)


def test_health_says_when_the_schema_needs_migrating(fresh_engine):
    from fastapi.testclient import TestClient
    from sqlalchemy import text

    from api.app import create_app

    with fresh_engine.begin() as conn:
        conn.execute(text(_one_migration_behind()[1]))
    with TestClient(create_app(fresh_engine)) as client:
        response = client.get("/health")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert "lacks 1 migration(s)" in response.json()["detail"]


def test_migrate_refuses_a_schema_from_a_newer_version(fresh_engine):
    import pytest
    from sqlalchemy import text

    from locations.errors import SchemaNotReady
    from locations.migrate import migrate

    with fresh_engine.begin() as conn:
        conn.execute(text("INSERT INTO alembic_version VALUES ('9999')"))
    with pytest.raises(SchemaNotReady, match="revision 9999, which this version of the "
                                             "platform does not know"):
        migrate(fresh_engine)


def test_the_former_address_runs_the_same_command_line():
    """`python -m locations.cli` (scripts and habits from before the `cli` package) works."""
    result = subprocess.run([sys.executable, "-m", "locations.cli", "--help"], check=False,
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    for command in ("db", "demo", "serve", "import", "export", "map"):
        assert command in result.stdout
