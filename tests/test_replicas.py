"""Read replicas on real PostgreSQL streaming replication: reads served by a hot standby,
an editor's reads right after their write served by a node that has it, a stopped replica
skipped and taken back, and the embedded cluster making its own replica."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text

from api.deps import ConnectionDep
from locations.embedded import EmbeddedCluster, EmbeddedStatus
from locations.migrate import migrate
from locations.replicas import CHECK_EVERY_S, parse_lsn, pool_for
from locations.settings import PROJECT_ROOT, get_settings
from tests.test_plot_updates import make_account, plot_in

DATABASE = "locations"


@pytest.fixture(scope="module")
def streaming() -> Iterator[tuple[EmbeddedCluster, EmbeddedStatus, EmbeddedStatus]]:
    """A cluster of its own with the demo and one hot standby streaming from it."""
    from locations.demo_load import load_demo

    folder = Path(tempfile.mkdtemp(prefix="locations-test-replicas-"))
    cluster = EmbeddedCluster(folder / "pg", get_settings().pg_bin, fast_unsafe=True)
    try:
        primary, replica = cluster.start_with_replicas(DATABASE, 1)
        engine = create_engine(primary.url(DATABASE))
        migrate(engine)
        load_demo(engine)
        # The standby streams the whole load: the tests start from a replica that has it all,
        # not one a few seconds behind (which still counts as healthy, but lacks the demo).
        with engine.connect() as conn:
            loaded = parse_lsn(conn.execute(text("SELECT pg_current_wal_insert_lsn()::text")).scalar_one())
        engine.dispose()
        wait_until(lambda: (parse_lsn(on_replica(replica, "SELECT pg_last_wal_replay_lsn()::text"))
                            or 0) >= loaded, timeout_s=300)
        yield cluster, primary, replica
    finally:
        cluster.stop_all()
        for path in (folder / "pg", folder / "pg-replica-1"):
            subprocess.run(["rm", "-rf", str(path)], check=False)
        folder.rmdir() if folder.exists() and not any(folder.iterdir()) else None


@pytest.fixture
def primary_engine(streaming) -> Iterator[Engine]:
    engine = create_engine(streaming[1].url(DATABASE))
    yield engine
    engine.dispose()


def app_on(primary_engine: Engine, replica: EmbeddedStatus, max_lag_s: float | None = None):
    from api.app import create_app

    if max_lag_s is not None:
        os.environ["LOCATIONS_REPLICA_MAX_LAG_S"] = str(max_lag_s)
    get_settings.cache_clear()
    try:
        return create_app(primary_engine, read_replicas=[replica.url(DATABASE)])
    finally:
        os.environ.pop("LOCATIONS_REPLICA_MAX_LAG_S", None)
        get_settings.cache_clear()


def on_replica(replica: EmbeddedStatus, sql: str) -> object:
    engine = create_engine(replica.url(DATABASE), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar()
    finally:
        engine.dispose()


def set_on_replica(replica: EmbeddedStatus, setting: str) -> None:
    """``ALTER SYSTEM`` on the standby (a hot standby takes it: it writes no WAL), reloaded."""
    engine = create_engine(replica.url(DATABASE), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f"ALTER SYSTEM {setting}"))
            conn.execute(text("SELECT pg_reload_conf()"))
    finally:
        engine.dispose()


def wait_until(condition, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def price_of(client: TestClient, plot_id: int, **kwargs) -> float | None:
    answer = client.get(f"/plots/{plot_id}", **kwargs)
    assert answer.status_code == 200, answer.text
    return answer.json()["properties"]["price_eur_m2"]


def test_searches_are_served_by_the_replica_and_health_lists_every_node(streaming, primary_engine):
    _, _, replica = streaming
    with TestClient(app_on(primary_engine, replica)) as client:
        pool = pool_for(primary_engine)
        assert pool is not None
        wait_until(lambda: pool.replicas[0].healthy(pool.max_lag_s))
        before = pool.replicas[0].reads
        for _ in range(5):
            assert client.get("/plots", params={"region": "SI042", "limit": 5}).status_code == 200
        assert pool.replicas[0].reads >= before + 5
        health = client.get("/health").json()
        assert health["status"] == "ok"
        nodes = {node["name"]: node for node in health["nodes"]}
        assert nodes["primary"]["role"] == "primary" and nodes["replica-1"]["role"] == "replica"
        assert nodes["replica-1"]["healthy"] and nodes["replica-1"]["lag_s"] <= 1.0
        assert "host" not in nodes["replica-1"]  # /health is public: no topology details


def test_a_write_reaches_the_replica_and_the_writer_reads_it_at_once(streaming, primary_engine):
    _, _, replica = streaming
    kranj = make_account(primary_engine, "kranj", "municipality", municipalities=["Kranj"])
    plot_id = plot_in(primary_engine, "Kranj", "available")
    # A replica that has stopped replaying but is still taken as healthy (a generous lag
    # allowance): whatever reaches it now is old, so who reads from where shows.
    with TestClient(app_on(primary_engine, replica, max_lag_s=3600)) as editor, \
            TestClient(app_on(primary_engine, replica, max_lag_s=3600)) as investor:
        pool = pool_for(primary_engine)
        wait_until(lambda: pool.replicas[0].healthy(pool.max_lag_s))
        old = price_of(investor, plot_id)
        on_replica(replica, "SELECT pg_wal_replay_pause()")
        try:
            tag = editor.get(f"/plots/{plot_id}", headers=kranj).headers["ETag"]
            changed = editor.patch(f"/plots/{plot_id}", json={"price_eur_m2": 123.45},
                                   headers=kranj | {"If-Match": tag})
            assert changed.status_code == 200, changed.text
            assert "locations_after=" in changed.headers["set-cookie"]
            # The editor sees the write at once: by token, and by the cookie alone.
            assert price_of(editor, plot_id, headers=kranj) == 123.45
            assert price_of(editor, plot_id) == 123.45
            # Anyone else is served by the replica, which has not replayed it yet.
            assert price_of(investor, plot_id) == old
        finally:
            on_replica(replica, "SELECT pg_wal_replay_resume()")
        wait_until(lambda: price_of(investor, plot_id) == 123.45)


def test_a_stopped_replica_is_skipped_and_taken_back(streaming, primary_engine):
    cluster, _, replica = streaming
    standby = cluster.replica(1)
    with TestClient(app_on(primary_engine, replica)) as client:
        pool = pool_for(primary_engine)
        wait_until(lambda: pool.replicas[0].healthy(pool.max_lag_s))
        standby.stop()
        try:
            # No request fails while it is away: the first that finds it gone falls back.
            for _ in range(10):
                assert client.get("/plots", params={"limit": 3}).status_code == 200
            wait_until(lambda: not pool.replicas[0].reachable, timeout_s=5 * CHECK_EVERY_S + 5)
            served_by_primary = pool.primary_reads
            assert client.get("/maps/search?region=SI042").status_code == 200
            assert pool.primary_reads > served_by_primary
            nodes = {n["name"]: n for n in client.get("/health").json()["nodes"]}
            assert nodes["replica-1"]["reachable"] is False and nodes["replica-1"]["healthy"] is False
        finally:
            standby.start_standby(cluster.status())
        wait_until(lambda: pool.replicas[0].healthy(pool.max_lag_s))
        taken_back = pool.replicas[0].reads
        assert client.get("/plots", params={"limit": 3}).status_code == 200
        assert pool.replicas[0].reads == taken_back + 1


def test_the_command_line_shows_the_replica_and_its_lag(streaming):
    cluster, _, _ = streaming
    env = {**os.environ, "LOCATIONS_EMBEDDED_DIR": str(cluster.folder), "PYTHONPATH": str(PROJECT_ROOT)}
    env.pop("DATABASE_URL", None)
    shown = subprocess.run([sys.executable, "-m", "cli", "db", "status"], env=env,
                           capture_output=True, text=True, cwd=PROJECT_ROOT)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "Replica 1: running on 127.0.0.1:" in shown.stdout
    assert "serving reads" in shown.stdout


def test_a_read_cancelled_by_a_recovery_conflict_is_served_again_by_the_primary(
        streaming, primary_engine):
    """A standby that may not delay replay (max_standby_streaming_delay = 0) cancels a
    running read when the primary locks its table: the request is answered all the same."""
    _, _, replica = streaming
    app = app_on(primary_engine, replica)

    # A read long enough to be caught by the lock, made through the platform's own read
    # connection as every route's: which node answered, and the plots it counted.
    @app.get("/test-slow-read")
    def slow_read(conn: ConnectionDep) -> dict:
        standby, plots = conn.execute(text(
            "SELECT pg_is_in_recovery(), (SELECT count(*) FROM plot), pg_sleep(3)")).one()[:2]
        return {"standby": standby, "plots": plots}

    set_on_replica(replica, "SET max_standby_streaming_delay = 0")
    conflicts_before = on_replica(
        replica, f"SELECT confl_lock FROM pg_stat_database_conflicts WHERE datname = '{DATABASE}'")
    try:
        with TestClient(app, client=("127.0.0.1", 50000)) as client, \
                ThreadPoolExecutor(1) as background:
            pool = pool_for(primary_engine)
            wait_until(lambda: pool.replicas[0].healthy(pool.max_lag_s))
            answer = background.submit(client.get, "/test-slow-read")
            wait_until(lambda: answer.done() or on_replica(replica, (
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(3)%' "
                "AND pid <> pg_backend_pid()")) == 1)
            assert not answer.done(), answer.result().text
            with primary_engine.begin() as conn:  # replayed: the standby must take this lock
                conn.execute(text("LOCK TABLE plot IN ACCESS EXCLUSIVE MODE"))
            served = answer.result(timeout=60)
            assert served.status_code == 200, served.text
            with primary_engine.connect() as conn:
                plots = conn.execute(text("SELECT count(*) FROM plot")).scalar_one()
            assert served.json() == {"standby": False, "plots": plots}
            assert pool.replicas[0].conflicts == 1
            # A conflict is no outage: the replica serves the next read.
            assert pool.replicas[0].healthy(pool.max_lag_s)
            health = {n["name"]: n for n in client.get("/health").json()["nodes"]}
            assert health["replica-1"]["conflicts"] == 1
            assert 'locations_replica_recovery_conflicts{replica="replica-1"} 1.0' in \
                client.get("/metrics").text
    finally:
        set_on_replica(replica, "RESET max_standby_streaming_delay")
    wait_until(lambda: on_replica(replica, (
        f"SELECT confl_lock FROM pg_stat_database_conflicts WHERE datname = '{DATABASE}'"))
        > conflicts_before)
