"""The platform behind PgBouncer in transaction mode, as the production compose file runs it:
a server connection is a client's for one transaction only, so nothing may rely on session
state. Searches, pages, conditional writes, bulk updates and imports all work through it."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from locations.importer import import_file
from tests.servers import free_port
from tests.test_bulk_updates import kranj_plots, upload
from tests.test_import_validation import _good_rows, _write
from tests.test_plot_updates import etag, make_account

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


@pytest.fixture
def bounced(fresh_engine: Engine) -> Iterator[Engine]:
    """An engine that reaches ``fresh_engine``'s database through PgBouncer (transaction mode)."""
    url = make_url(fresh_engine.url)
    folder = Path(tempfile.mkdtemp(prefix="locations-test-pgbouncer-"))
    port = free_port()
    (folder / "users.txt").write_text(f'"{url.username}" "{url.password}"\n')
    (folder / "pgbouncer.ini").write_text(f"""
[databases]
{url.database} = host={url.host} port={url.port} dbname={url.database}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = {folder / "users.txt"}
pool_mode = transaction
max_client_conn = 200
default_pool_size = 10
logfile = {folder / "pgbouncer.log"}
pidfile = {folder / "pgbouncer.pid"}
""")
    command = [PGBOUNCER, str(folder / "pgbouncer.ini")]
    if os.geteuid() == 0:  # pgbouncer refuses to run as root
        postgres = pwd.getpwnam("postgres")
        for path in [folder, *folder.iterdir()]:
            os.chown(path, postgres.pw_uid, postgres.pw_gid)
        command = ["runuser", "-u", "postgres", "--", *command]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    engine = create_engine(url.set(port=port))
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
                break
            except Exception:
                assert process.poll() is None, (folder / "pgbouncer.log").read_text()
                assert time.monotonic() < deadline, "pgbouncer did not answer"
                time.sleep(0.2)
        yield engine
    finally:
        engine.dispose()
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


def test_searches_pages_and_conditional_writes_through_pgbouncer(bounced: Engine, fresh_engine):
    from api.app import create_app

    kranj = make_account(fresh_engine, "kranj", "municipality", municipalities=["Kranj"])
    with TestClient(create_app(bounced)) as client:
        assert client.get("/plots", params={"region": "SI042", "sort": "-area"}).status_code == 200
        assert client.get("/maps/search?region=SI042&lang=sl").status_code == 200
        tile = client.get("/tiles/plots/12/2211/1453.pbf")  # Kranj's business zones
        assert tile.status_code == 200 and len(tile.content) > 100
        (plot,) = kranj_plots(fresh_engine, "available", 1)
        path = f"/plots/{plot['id']}"
        changed = client.patch(path, json={"price_eur_m2": 77.7, "note": "through the pooler"},
                               headers=kranj | {"If-Match": etag(client, path)})
        assert changed.status_code == 200, changed.text
        stale = client.patch(path, json={"price_eur_m2": 80}, headers=kranj | {"If-Match": '"1"'})
        assert stale.status_code == 412
        a, b = kranj_plots(fresh_engine, "available", 2)
        applied = upload(client, kranj, f"cadastral_ref;price_eur_m2\n{a['cadastral_ref']};61\n"
                                        f"{b['cadastral_ref']};62\n")
        assert applied.status_code == 200, applied.text
    with fresh_engine.connect() as conn:
        prices = dict(conn.execute(text("SELECT id, price_eur_m2::float FROM plot WHERE id IN (:p, :a, :b)"),
                                   {"p": plot["id"], "a": a["id"], "b": b["id"]}).all())
    assert prices == {plot["id"]: 77.7, a["id"]: 61.0, b["id"]: 62.0}


def test_an_import_stages_and_loads_through_pgbouncer(bounced: Engine, fresh_engine, tmp_path):
    from tests.test_import_validation import HRASTJE, retire_plots_under
    import shapely

    x, y = HRASTJE
    retire_plots_under(fresh_engine, shapely.box(x - 10, y - 10, x + 250, y + 50))
    report = import_file(bounced, "plots", _write(tmp_path, _good_rows(3)))
    assert report.created == 3 and not report.problems
    with fresh_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM plot WHERE cadastral_ref LIKE 'TEST-%'")).scalar_one() == 3
        # Nothing of the import's staging was left behind on any server connection.
        assert conn.execute(text(
            "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'import\\_%'")).scalar_one() == 0
