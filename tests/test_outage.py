"""A database outage under a running server: every route that needs the database answers
503 with Retry-After and a JSON body, never 500, and the same server answers again once the
database is back, without a restart.

The database is a throwaway embedded cluster of this module's own (the session's shared one
cannot be stopped), and the app runs under a real uvicorn server in a thread, so the fast
paths (queries on the driver's cursor, raw responses, tiles, exports) run as in production.
Run with ``-s`` to see the figures.
"""

from __future__ import annotations

import json
import math
import shutil
import socket
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx
import psycopg2
import pytest
import uvicorn
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from locations.db import IDLE_PING_SECONDS, get_engine
from locations.embedded import EmbeddedCluster
from locations.settings import get_settings

DATABASE = "locations_outage"
#: GET routes known to read the database: these must answer 503 during the outage. Other
#: routes found in the app may answer without it (standards, OGC API metadata), or 503.
READS_DATABASE = frozenset({
    "/health", "/regions", "/municipalities", "/zones", "/plots", "/infrastructure", "/",
    "/maps/overview", "/maps/search", "/maps/compare", "/exports/plots", "/exports/zones",
    "/rankings", "/regions/compare", "/zones/{zone_id}", "/plots/{plot_id}",
    "/maps/zones/{zone_id}", "/plots/{plot_id}/score", "/zones/{zone_id}/score",
})
#: How long the server may take to answer again once the database accepts connections.
RECOVERY_LIMIT_S = 10.0
WORKERS = 8


@dataclass(frozen=True)
class Probe:
    method: str
    path: str
    params: dict = field(default_factory=dict)
    body: dict | None = None
    token: bool = False
    #: True: must answer 503 without the database; None: a route found in the app, which
    #: may also answer without it.
    needs_database: bool | None = True

    def send(self, client: httpx.Client, token: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if self.token else {}
        return client.request(self.method, self.path, params=self.params, json=self.body,
                              headers=headers)


@dataclass
class Site:
    cluster: EmbeddedCluster
    client: httpx.Client
    token: str
    probes: list[Probe]
    port: int
    plot_id: int
    #: libpq URL of the cluster's ``postgres`` database, as its superuser.
    admin_url: str
    engine: Engine

    def run(self, probes: list[Probe] | None = None) -> list[tuple[Probe, httpx.Response]]:
        """Every probe once, ``WORKERS`` at a time, so the pool holds several connections."""
        probes = probes if probes is not None else self.probes
        with ThreadPoolExecutor(WORKERS) as pool:
            answers = list(pool.map(lambda probe: probe.send(self.client, self.token), probes))
        return list(zip(probes, answers))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tile(lon_3857: float, lat_3857: float, z: int) -> tuple[int, int]:
    half = 20037508.342789244
    n = 2 ** z
    return (math.floor((lon_3857 + half) / (2 * half) * n),
            math.floor((half - lat_3857) / (2 * half) * n))


def _probes(app, conn) -> tuple[list[Probe], int]:
    """Every GET route (from the app's own OpenAPI document, so a new route is probed too)
    without path parameters or with only a plot's or a zone's id (plot and zone pages among
    them); plus a tile of each layer, a zone page opened on a plot, a filtered search,
    exports and a search by body."""
    from maps.queries import profiles

    profile = profiles(conn)[0]
    plot_id, zone_id, x, y = conn.execute(text(
        "SELECT id, zone_id, ST_X(p), ST_Y(p) FROM ("
        "  SELECT id, zone_id, ST_Transform(ST_PointOnSurface(boundary), 3857) AS p"
        "  FROM plot ORDER BY id LIMIT 1) AS first_plot")).one()
    from maps.queries import context_window

    # The countries under every map are served for the window the pages name only.
    known = {"profile": profile, "plot_id": plot_id, "zone_id": zone_id,
             "bbox": ",".join(map(str, context_window(conn))),
             # Regions compared (GET /comparison): two are required.
             "region": ["SI042", "AT22"]}
    probes = []
    for path, operations in app.openapi()["paths"].items():
        parameters = operations.get("get", {}).get("parameters", [])
        in_path = {p["name"] for p in parameters if p["in"] == "path"}
        if "get" not in operations or not in_path <= {"plot_id", "zone_id"}:
            continue
        params = {p["name"]: known[p["name"]] for p in parameters
                  if p.get("required") and p["in"] == "query"}
        probes.append(Probe("GET", path.format(**known), params,
                            needs_database=True if path in READS_DATABASE else None))
    tx, ty = _tile(x, y, 15)
    probes += [
        Probe("GET", f"/tiles/plots/15/{tx}/{ty}.pbf"),
        Probe("GET", f"/tiles/plots/15/{tx}/{ty}.pbf", {"profile": profile}),
        Probe("GET", f"/tiles/zones/10/{_tile(x, y, 10)[0]}/{_tile(x, y, 10)[1]}.pbf"),
        Probe("GET", f"/maps/zones/{zone_id}", {"plot": plot_id}),
        Probe("GET", "/plots", {"region": "SI042", "status": "available", "count": "true"}),
        Probe("GET", "/exports/plots", {"f": "csv"}),
        Probe("GET", "/exports/zones", {"f": "gpkg"}),
        Probe("POST", "/plots/search", body={"status": ["available"], "limit": 5}),
        # Anonymous pages of plots read on the event loop (locations.loop_reads), with a
        # filter and with the kept count.
        Probe("GET", "/collections/plots/items", {"limit": 5, "filter": "zone_id = 1"}),
        Probe("GET", "/collections/plots/items", {"limit": 5, "status": "available"}),
    ]
    return probes, plot_id


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    from api.app import create_app
    from locations.accounts import create_account
    from locations.demo_load import load_demo
    from locations.demo_score import score_demo
    from locations.migrate import migrate

    folder = Path(tempfile.mkdtemp(prefix="locations-outage-"))
    cluster = EmbeddedCluster(folder / "pg", get_settings().pg_bin, fast_unsafe=True)
    server = thread = engine = None
    try:
        status = cluster.start(DATABASE)
        # The production engine and pool settings, not the test suite's.
        engine = get_engine(status.url(DATABASE))
        migrate(engine)
        load_demo(engine)
        # Scores too, so that the scored paths (rankings, tiles by profile) are probed.
        score_demo(engine)
        with engine.begin() as conn:
            token = create_account(conn, "outage-admin", "admin")
        app = create_app(engine)

        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                               log_level="warning", lifespan="off"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)

        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60,
                              limits=httpx.Limits(max_connections=WORKERS * 2))
        with engine.connect() as conn:
            probes, plot_id = _probes(app, conn)
        # Routes that refuse anonymous callers get the admin's token; the others are asked
        # anonymously, so that no authentication query runs before their own.
        probes = [replace(probe, token=True) if probe.send(client, token).status_code == 401
                  else probe for probe in probes]
        # A route that refuses a bare request (it wants parameters this module does not know)
        # stops before the database: it proves nothing here, so it is left out, and named.
        answered = [(probe, probe.send(client, token).status_code) for probe in probes]
        probes = [probe for probe, status in answered if 200 <= status < 300]
        refused = [f"{probe.method} {probe.path}: {status}" for probe, status in answered
                   if not 200 <= status < 300]
        if refused:
            print("\nleft out, refused with the database up: " + ", ".join(refused))
        admin_url = make_url(status.url("postgres")).set(drivername="postgresql")
        yield Site(cluster, client, token, probes, status.port, plot_id,
                   admin_url.render_as_string(hide_password=False), engine)
        client.close()
    finally:
        if server is not None:
            server.should_exit = True
            thread.join(timeout=15)
        if engine is not None:
            engine.dispose()
        cluster.destroy()
        shutil.rmtree(folder, ignore_errors=True)


def _failures(answers) -> list[str]:
    """What failed, e.g. ``['GET /zones: 503']``; empty when every probe got 2xx."""
    return [f"{probe.method} {probe.path}: {answer.status_code}" for probe, answer in answers
            if not 200 <= answer.status_code < 300]


def _outage_problems(probe: Probe, answer: httpx.Response, site: Site) -> list[str]:
    """How an answer during the outage falls short of a 503 with Retry-After and a JSON
    detail that tells no internals (or, from a route that may do without the database, of
    a success)."""
    where = f"{probe.method} {probe.path}"
    if probe.needs_database is None and 200 <= answer.status_code < 300:
        return []
    problems = []
    if answer.status_code != 503:
        problems.append(f"{where}: {answer.status_code} {answer.text[:200]!r}")
        return problems
    retry_after = answer.headers.get("retry-after", "")
    if not retry_after.isdigit() or int(retry_after) < 1:
        problems.append(f"{where}: Retry-After {retry_after!r}")
    if not answer.headers.get("content-type", "").startswith("application/json"):
        problems.append(f"{where}: content-type {answer.headers.get('content-type')!r}")
    try:
        body = answer.json()
    except json.JSONDecodeError:
        return problems + [f"{where}: not JSON: {answer.text[:200]!r}"]
    if not isinstance(body.get("detail"), str) or not body["detail"]:
        problems.append(f"{where}: no detail in {body!r}")
    internals = ("127.0.0.1", str(site.port), make_url(site.admin_url).password, "psycopg2",
                 "SELECT", "postgres", "connection refused", DATABASE)
    leaked = [word for word in internals if word.lower() in answer.text.lower()]
    if leaked:
        problems.append(f"{where}: tells {leaked} in {answer.text[:200]!r}")
    return problems


def _write(site: Site) -> httpx.Response:
    """A write: confirm the first plot's facts, with the ETag just read (or a stale one)."""
    etag = '"1"'
    read = site.client.get(f"/plots/{site.plot_id}")
    if read.status_code == 200:
        etag = read.headers["etag"]
    return site.client.post(f"/plots/{site.plot_id}/verify", json={"note": "outage test"},
                            headers={"Authorization": f"Bearer {site.token}", "If-Match": etag})


def test_an_outage_is_503_with_retry_after_and_the_server_recovers_by_itself(site):
    probes = site.probes
    must_fail = [probe for probe in probes if probe.needs_database]
    assert len(must_fail) >= 25, [probe.path for probe in must_fail]
    baseline = site.run()
    assert not _failures(baseline), _failures(baseline)

    # Under load: requests in flight while the server shuts down see their connections
    # terminated (57P01), then refused; none may turn into a 500.
    during_stop: Counter[int] = Counter()
    problems: list[str] = []
    stopping = threading.Event()

    def hammer(offset: int) -> None:
        i = offset
        while not stopping.is_set():
            probe = probes[i % len(probes)]
            answer = probe.send(site.client, site.token)
            during_stop[answer.status_code] += 1
            if not 200 <= answer.status_code < 300:
                problems.extend(_outage_problems(probe, answer, site))
            i += 1

    with ThreadPoolExecutor(WORKERS) as pool:
        for worker in range(WORKERS):
            pool.submit(hammer, worker * 3)
        time.sleep(1.0)
        stopped_at = time.monotonic()
        assert site.cluster.stop()
        stop_seconds = time.monotonic() - stopped_at
        time.sleep(1.0)
        stopping.set()

    # Down: every route that needs the database, the write included, twice over (the first
    # pass may still meet pooled connections, the second only refused connects).
    down: Counter[int] = Counter()
    without_database: set[str] = set()
    for _ in range(2):
        for probe, answer in site.run():
            down[answer.status_code] += 1
            problems.extend(_outage_problems(probe, answer, site))
            if 200 <= answer.status_code < 300:
                without_database.add(probe.path)
    write_down = _write(site)
    down[write_down.status_code] += 1
    problems.extend(_outage_problems(Probe("POST", "/plots/{id}/verify"), write_down, site))

    # Back: the same server, not restarted, answers again.
    started_at = time.monotonic()
    site.cluster.start(DATABASE)
    up_at = time.monotonic()
    passes, after_start = 0, Counter()
    while True:
        passes += 1
        pass_began = time.monotonic() - up_at
        answers = site.run()
        pass_seconds = time.monotonic() - up_at - pass_began
        after_start.update(answer.status_code for _, answer in answers)
        failed = _failures(answers)
        if not failed or time.monotonic() - up_at > RECOVERY_LIMIT_S:
            break
        time.sleep(0.2)
    write_up = _write(site)

    print(f"\noutage: {len(probes)} probes over {len({p.path.split('/')[1] for p in probes})} "
          f"route families, {len(must_fail)} known to read the database; answered without it: "
          f"{', '.join(sorted(without_database))}")
    print(f"  while stopping ({stop_seconds:.1f} s to stop, load from {WORKERS} threads): "
          f"{sum(during_stop.values())} requests, statuses {dict(sorted(during_stop.items()))}")
    print(f"  down: {sum(down.values())} requests, statuses {dict(sorted(down.items()))}")
    print(f"  back: database up {up_at - started_at:.1f} s after start; every probe succeeded "
          f"on pass {passes}, begun {pass_began:.2f} s after that (the pass took "
          f"{pass_seconds:.2f} s); statuses {dict(sorted(after_start.items()))}; "
          f"write {write_up.status_code}")

    assert not problems, "\n".join(problems[:40])
    assert 500 not in during_stop and 500 not in down and 500 not in after_start
    assert down[503] >= 2 * len(must_fail) + 1
    assert not failed, f"not recovered {RECOVERY_LIMIT_S} s after the database came back: {failed}"
    assert write_up.status_code == 200, write_up.text


def test_a_database_restarted_while_idle_costs_no_request(site):
    """Pooled connections outlive a restart when nobody asked meanwhile: the pool must find
    them dead before it hands them out, so the first requests afterwards succeed."""
    assert not _failures(site.run())  # fills the pool with several connections
    idle_since = time.monotonic()
    site.cluster.stop()
    site.cluster.start(DATABASE)
    # Longer than the idle time after which a pooled connection is pinged before use.
    time.sleep(max(0.0, IDLE_PING_SECONDS + 0.1 - (time.monotonic() - idle_since)))
    answers = site.run()
    print(f"\nidle restart: first pass after the restart {len(answers)} requests, statuses "
          f"{dict(Counter(answer.status_code for _, answer in answers))}")
    assert not _failures(answers), _failures(answers)


def _terminate_app_connections(site: Site) -> int:
    """Kill the app's server processes, as a failover or an administrator would."""
    admin = psycopg2.connect(site.admin_url)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
                "WHERE datname = %s AND application_name = 'locations'", (DATABASE,))
            return cursor.fetchone()[0]
    finally:
        admin.close()


def test_connections_the_server_drops_cost_one_request_not_a_500(site):
    """Pooled connections killed under the app (pg_terminate_backend: a failover, an
    administrator) a moment after their last use, too soon to be pinged: the fast paths,
    whose queries run on the driver's cursor, answer 503 rather than 500, and only once,
    because the pool then checks its other connections before it hands them out."""
    fast = [probe for probe in site.probes
            if (probe.method, probe.path.split("/")[1]) in {("GET", "plots"), ("GET", "tiles"),
                                                            ("POST", "plots")}]
    assert len(fast) >= 5, [probe.path for probe in fast]
    figures = []
    for probe in fast:
        # Three connections in the pool, all just used.
        site.engine.dispose()
        held = [site.engine.connect() for _ in range(3)]
        for conn in held:
            conn.close()
        used_at = time.monotonic()
        killed = _terminate_app_connections(site)
        pinged = time.monotonic() - used_at >= IDLE_PING_SECONDS  # a slow machine: no test
        first, second = (probe.send(site.client, site.token) for _ in range(2))
        figures.append(f"{probe.method} {probe.path}: {killed} killed, then "
                       f"{first.status_code}, {second.status_code}")
        assert first.status_code == 503 or (pinged and first.status_code == 200), figures[-1]
        if first.status_code == 503:
            assert not _outage_problems(probe, first, site), \
                _outage_problems(probe, first, site)
        assert second.status_code == 200, figures[-1]
    print("\ndropped connections:\n  " + "\n  ".join(figures))
