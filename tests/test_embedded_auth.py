"""The embedded cluster lets in only the platform, with its password, as an operator checks it.

One throwaway cluster for the module: its password file, its pg_hba.conf, connections with
and without the password, and clusters of the older kind (trusting every local connection,
no password file) upgraded in place by the next start, stopped or running, data kept.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from locations.embedded import EmbeddedCluster
from locations.errors import DatabaseUnavailable
from locations.settings import get_settings
from tests.test_cli import run_cli

#: pg_hba.conf as ``initdb --auth=trust`` wrote it for clusters of earlier versions.
OLD_TRUST_HBA = """\
local   all             all                                     trust
host    all             all             127.0.0.1/32            trust
host    all             all             ::1/128                 trust
local   replication     all                                     trust
host    replication     all             127.0.0.1/32            trust
host    replication     all             ::1/128                 trust
"""


@pytest.fixture(scope="module")
def cluster() -> Iterator[EmbeddedCluster]:
    # Not pytest's tmp_path: a concurrent pytest session may prune it under a running server.
    folder = Path(tempfile.mkdtemp(prefix="locations-auth-test-"))
    cluster = EmbeddedCluster(folder / "pg", get_settings().pg_bin, fast_unsafe=True)
    # Left over from a cluster whose data dir was deleted: the new one must not take it.
    cluster.folder.mkdir(parents=True)
    cluster.password_file.write_text("stale\n")
    try:
        cluster.start("postgres")
        yield cluster
    finally:
        cluster.destroy()
        shutil.rmtree(folder, ignore_errors=True)


def _rules(cluster: EmbeddedCluster) -> list[str]:
    lines = cluster.hba_file.read_text().splitlines()
    return [line for line in lines if line.strip() and not line.lstrip().startswith("#")]


def _connect(cluster: EmbeddedCluster, password: str | None = None, dbname: str = "postgres"):
    return psycopg2.connect(host="127.0.0.1", port=cluster.status().port, user="postgres",
                            password=password, dbname=dbname, connect_timeout=5)


def _assert_refused_without_password(cluster: EmbeddedCluster) -> None:
    with pytest.raises(psycopg2.OperationalError, match="password"):
        _connect(cluster).close()
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        _connect(cluster, password="not-the-password").close()


def _assert_secured(cluster: EmbeddedCluster) -> None:
    assert stat.S_IMODE(cluster.password_file.stat().st_mode) == 0o600
    assert cluster.password_file.stat().st_uid == os.geteuid()
    assert not any("trust" in rule or "replication" in rule for rule in _rules(cluster))
    _assert_refused_without_password(cluster)


def _make_old_kind(cluster: EmbeddedCluster) -> None:
    """Turn ``cluster`` into what earlier versions made: a superuser without a password,
    pg_hba.conf trusting everyone, no password file. Stopped clusters only."""
    assert not cluster.status().running
    result = cluster._as_server_user(
        [str(cluster.pg_bin / "postgres"), "--single", "-D", str(cluster.data_dir), "postgres"],
        input="ALTER ROLE postgres PASSWORD NULL;\n",
    )
    assert "ERROR" not in result.stderr, result.stderr
    cluster.hba_file.write_text(OLD_TRUST_HBA)
    cluster.password_file.unlink()


def _write_rows(cluster: EmbeddedCluster, database: str) -> None:
    engine = create_engine(make_url(cluster.status().url("postgres")),
                           isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{database}"'))
        conn.execute(text(f'CREATE DATABASE "{database}"'))
    engine.dispose()
    engine = create_engine(cluster.status().url(database))
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE kept (value int)"))
        conn.execute(text("INSERT INTO kept VALUES (42)"))
    engine.dispose()


def _read_rows(cluster: EmbeddedCluster, database: str) -> list[int]:
    engine = create_engine(cluster.status().url(database))
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT value FROM kept")).scalars().all()
    engine.dispose()
    return list(rows)


def test_the_password_file_is_private_to_the_platform_user(cluster):
    mode = cluster.password_file.stat()
    assert stat.S_IMODE(mode.st_mode) == 0o600
    assert mode.st_uid == os.geteuid()
    assert len(cluster.password_file.read_text().strip()) >= 32  # not the stale one
    if os.geteuid() == 0:
        # The server's files stay the server's: PostgreSQL refuses a data dir it does not own.
        assert cluster.data_dir.stat().st_uid == pwd.getpwnam("postgres").pw_uid
        assert cluster.hba_file.stat().st_uid == pwd.getpwnam("postgres").pw_uid


def test_pg_hba_lets_in_loopback_with_a_password_only(cluster):
    rules = _rules(cluster)
    assert not any("trust" in rule for rule in rules)
    assert not any("replication" in rule for rule in rules)
    assert sorted(rule.split() for rule in rules) == [
        ["host", "all", "all", "127.0.0.1/32", "scram-sha-256"],
        ["host", "all", "all", "::1/128", "scram-sha-256"],
    ]


def test_a_role_without_a_password_cannot_log_in(cluster):
    admin = _connect(cluster, password=cluster.password_file.read_text().strip())
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("CREATE ROLE no_password LOGIN")
    try:
        with pytest.raises(psycopg2.OperationalError, match="password"):
            psycopg2.connect(host="127.0.0.1", port=cluster.status().port, user="no_password",
                             dbname="postgres", connect_timeout=5).close()
    finally:
        with admin.cursor() as cur:
            cur.execute("DROP ROLE no_password")
        admin.close()


def test_a_connection_without_the_password_is_refused(cluster):
    _assert_refused_without_password(cluster)


def test_the_url_from_status_connects_and_hides_its_password(cluster):
    status = cluster.status()
    password = cluster.password_file.read_text().strip()
    url = make_url(status.url("postgres"))
    assert url.password == password
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT current_user")).scalar_one() == "postgres"
    engine.dispose()
    assert password not in url.render_as_string(hide_password=True)
    assert password not in repr(status)


def test_db_status_does_not_print_the_password(cluster):
    result = run_cli("db", "status", env={"LOCATIONS_EMBEDDED_DIR": str(cluster.folder)})
    password = cluster.password_file.read_text().strip()
    assert "running" in result.stdout, result.stdout + result.stderr
    assert password not in result.stdout + result.stderr


def test_a_stopped_trust_cluster_of_an_earlier_version_is_upgraded_on_start(cluster):
    _write_rows(cluster, "kept_stopped")
    cluster.stop()
    _make_old_kind(cluster)

    cluster.start("postgres")

    _assert_secured(cluster)
    assert _read_rows(cluster, "kept_stopped") == [42]


def test_a_running_trust_cluster_of_an_earlier_version_is_upgraded_on_start(cluster):
    _write_rows(cluster, "kept_running")
    cluster.stop()
    _make_old_kind(cluster)
    # Started as the earlier version left it running (this version's start would upgrade it).
    cluster._as_server_user([str(cluster.pg_bin / "pg_ctl"), "start", "-w", "-D",
                             str(cluster.data_dir), "-l", str(cluster.log_file)])
    _connect(cluster).close()  # it does trust a connection without password

    cluster.start("postgres")

    _assert_secured(cluster)
    assert _read_rows(cluster, "kept_running") == [42]


def test_a_lost_password_file_is_replaced_when_the_cluster_is_stopped(cluster):
    old = cluster.password_file.read_text().strip()
    cluster.password_file.unlink()
    with pytest.raises(DatabaseUnavailable, match="password file .* is missing"):
        cluster.start("postgres")  # running: nothing lets it in to set a new one

    cluster.stop()
    cluster.start("postgres")

    _assert_secured(cluster)
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        _connect(cluster, password=old).close()
    _connect(cluster, password=cluster.password_file.read_text().strip()).close()
