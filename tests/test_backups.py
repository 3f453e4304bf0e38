"""Backups that restore: the scored demo dumped and restored into an empty database is the
same platform (counts, a plot's history, scores); a newer schema, a full target and a file
that is no backup are refused with nothing written."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from locations.backups import backup, dump_revision, restore
from locations.errors import InvalidInput
from locations.migrate import head
from locations.settings import PROJECT_ROOT, get_settings

PG_BIN = get_settings().pg_bin


@pytest.fixture
def empty_database(pg_server: str):
    """A new database with PostGIS and nothing else, dropped afterwards."""
    name = f"locations_test_restore_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(pg_server).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(make_url(pg_server).set(database=name))
    with engine.begin() as conn:
        conn.execute(text("CREATE EXTENSION postgis"))
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def platform_state(engine: Engine) -> dict:
    with engine.connect() as conn:
        plot_id = conn.execute(text(
            "SELECT plot_id FROM plot_event GROUP BY plot_id ORDER BY count(*) DESC, plot_id LIMIT 1"
        )).scalar_one()
        return {
            "counts": {t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one()
                       for t in ("region", "municipality", "zone", "plot", "plot_event", "score_run")},
            "history": [tuple(r) for r in conn.execute(text(
                "SELECT id, action, old_values::text, new_values::text, occurred_at FROM plot_event "
                "WHERE plot_id = :p ORDER BY id"), {"p": plot_id})],
            "scores": [tuple(r) for r in conn.execute(text(
                "SELECT profile, plot_id, total FROM current_plot_score ORDER BY profile, plot_id LIMIT 500"))],
            "geometry": conn.execute(text("SELECT md5(string_agg(ST_AsEWKB(boundary)::text, '' ORDER BY id)) "
                                          "FROM plot")).scalar_one(),
        }


def test_the_scored_demo_round_trips(scored_engine, empty_database, tmp_path: Path):
    made = backup(scored_engine, tmp_path / "demo.backup", PG_BIN)
    assert made.revision == head() and dump_revision(made.path, PG_BIN) == head()
    assert made.counts["plot"] > 100
    restored = restore(empty_database, made.path, PG_BIN)
    assert restored.counts == made.counts
    before, after = platform_state(scored_engine), platform_state(empty_database)
    assert len(before["history"]) > 1 and len(before["scores"]) > 100
    assert after == before


def test_a_newer_schema_a_full_database_and_a_stranger_file_are_refused(
        fresh_engine, empty_database, tmp_path: Path):
    with fresh_engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    newer = backup(fresh_engine, tmp_path / "newer.backup", PG_BIN)
    with pytest.raises(InvalidInput, match="newer version"):
        restore(empty_database, newer.path, PG_BIN)
    with empty_database.connect() as conn:  # nothing written
        assert conn.execute(text("SELECT to_regclass('plot')")).scalar() is None

    with fresh_engine.begin() as conn:
        conn.execute(text(f"UPDATE alembic_version SET version_num = '{head()}'"))
    good = backup(fresh_engine, tmp_path / "good.backup", PG_BIN)
    with pytest.raises(InvalidInput, match="already holds"):
        restore(fresh_engine, good.path, PG_BIN)

    stranger = tmp_path / "photo.backup"
    stranger.write_bytes(b"\x89PNG\r\n\x1a\n not a dump")
    with pytest.raises(InvalidInput, match="not a backup"):
        restore(empty_database, stranger, PG_BIN)
    partial = list(tmp_path.glob(".*partial"))
    assert partial == []


def test_the_command_line_backs_up_and_restores(scored_engine, empty_database, tmp_path: Path):
    def cli(url, *args):
        env = {**os.environ, "DATABASE_URL": make_url(url).render_as_string(hide_password=False),
               "PYTHONPATH": str(PROJECT_ROOT)}
        return subprocess.run([sys.executable, "-m", "cli", "db", *args], env=env,
                              capture_output=True, text=True, cwd=PROJECT_ROOT)

    made = cli(scored_engine.url, "backup", "-o", str(tmp_path / "cli.backup"))
    assert made.returncode == 0, made.stdout + made.stderr
    assert "Backed up to" in made.stdout and f"schema {head()}" in made.stdout
    again = cli(empty_database.url, "restore", str(tmp_path / "cli.backup"))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Restored cli.backup" in again.stdout
    refused = cli(empty_database.url, "restore", str(tmp_path / "cli.backup"))
    assert refused.returncode != 0 and "already holds" in refused.stdout + refused.stderr
    assert "Traceback" not in refused.stdout + refused.stderr
