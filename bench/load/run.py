"""Under load: many concurrent clients on searches, plot pages and tiles; ours beside tipg's.

Each client is a coroutine of one asyncio process (httpx) that sends its next request as
soon as its last one is answered, for ``--seconds``: a closed loop, as people clicking
through the site are. Two phases, each with ``--clients`` clients:

- ``regional``: the regional search alone (SI042, available, at least 1 ha, 50 plots),
  the figure issue 26 measured (43-55 requests/s with 16 clients);
- ``mix``: searches (the regional one, a bbox, one zone), plot pages (HTML), plots as
  GeoJSON and plot tiles at zooms 12-16 under randomly drawn plots.

It prints requests/s, p50/p95/p99/max per kind and overall, errors, the targets beside
the figures (no errors; at least 43 requests/s on the regional search; p99 under 1 s and
under 5x p50), the machine's load average, and the CPU seconds the server process(es)
and this client spent per request. With ``--tipg-python`` tipg serves the same phases on
the same ``plot`` table (its items with a CQL2 filter, by id, and its tiles; it has no plot
pages, so its mix leaves them out). Nothing is written to the database.

    python -m bench.load.run --database-url postgresql://postgres:PW@127.0.0.1:PORT/bench_1m \\
        [--clients 32] [--seconds 60] [--workers 1] [--replica-url URL ...] \\
        [--tipg-python .venv-tipg/bin/python] [--phases regional,mix]

A quick run on the demo: ``--database-url $(locations db url) --seconds 10``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field

import httpx
from sqlalchemy import create_engine, text

from bench.load import wire
from bench.search.run import free_port, percentile, wait_for
from bench.tiles.run import start_tipg as start_tipg_for_tiles
from locations.db import sqlalchemy_url

#: Issue 26's targets under load.
MIN_REGIONAL_RPS = 43.0
MAX_P99_MS = 1000.0
MAX_P99_OVER_P50 = 5.0

REGIONAL = {"region": "SI042", "status": "available", "min_area_m2": 10000, "limit": 50}


@dataclass
class Sample:
    """What the requests of a phase may ask for, drawn from the database once."""

    plot_ids: list[int]
    points: list[tuple[float, float]]  # EPSG:3857, one per plot
    zone_ids: list[int]
    regional_zones: list[int]
    bboxes: list[str]


def draw(url: str, n: int, seed: int) -> Sample:
    engine = create_engine(url)
    rng = random.Random(seed)
    with engine.connect() as conn:
        top = conn.execute(text("SELECT max(id) FROM plot")).scalar_one()
        rows = conn.execute(text("""
            SELECT p.id, ST_X(pt), ST_Y(pt), ST_X(ll), ST_Y(ll), p.zone_id FROM plot p,
                   ST_PointOnSurface(p.boundary) AS os,
                   ST_Transform(os, 3857) AS pt, ST_Transform(os, 4326) AS ll
            WHERE p.id = ANY(:ids)
        """), {"ids": [rng.randint(1, top) for _ in range(n * 2)]}).all()[:n]
        regional_zones = conn.execute(text(
            "SELECT z.id FROM zone z JOIN municipality m ON m.id = z.municipality_id "
            "JOIN region r ON r.id = m.region_id WHERE r.code = 'SI042' ORDER BY z.id")).scalars().all()
    engine.dispose()
    # A bbox of about 3 x 2 km around a plot: a user's map view at zoom 14.
    bboxes = [f"{lon - 0.02:.5f},{lat - 0.01:.5f},{lon + 0.02:.5f},{lat + 0.01:.5f}"
              for _, _, _, lon, lat, _ in rows]
    return Sample([r[0] for r in rows], [(r[1], r[2]) for r in rows],
                  sorted({r[5] for r in rows}), list(regional_zones), bboxes)


def tile_of(x: float, y: float, z: int) -> tuple[int, int]:
    half = 20037508.342789244
    size = 2 * half / (1 << z)
    return int((x + half) // size), int((half - y) // size)


# -- what each server is asked ---------------------------------------------------------------

Request = tuple[str, str, dict | None]  # kind, path, query


def ours(sample: Sample, rng: random.Random, phase: str) -> Request:
    if phase == "regional":
        return "search: region", "/plots", REGIONAL
    kind = rng.choices(["search: region", "search: bbox", "search: zone", "plot page",
                        "plot json", "tile"], weights=[2, 1, 1, 2, 1, 3])[0]
    i = rng.randrange(len(sample.plot_ids))
    if kind == "search: region":
        return kind, "/plots", REGIONAL
    if kind == "search: bbox":
        return kind, "/plots", {"bbox": sample.bboxes[i], "limit": 50}
    if kind == "search: zone":
        return kind, "/plots", {"zone": rng.choice(sample.zone_ids), "limit": 50}
    if kind == "plot page":
        return kind, f"/maps/plots/{sample.plot_ids[i]}", None
    if kind == "plot json":
        return kind, f"/plots/{sample.plot_ids[i]}", None
    z = rng.randint(12, 16)
    x, y = tile_of(*sample.points[i], z)
    return kind, f"/tiles/plots/{z}/{x}/{y}.pbf", None


def tipg(sample: Sample, rng: random.Random, phase: str) -> Request:
    items = "/collections/public.plot/items"
    regional = {"filter-lang": "cql2-text", "limit": 50,
                "filter": (f"zone_id IN ({','.join(map(str, sample.regional_zones))}) "
                           "AND status='available' AND area_m2>=10000")}
    if phase == "regional":
        return "search: region", items, regional
    kind = rng.choices(["search: region", "search: bbox", "search: zone", "plot json", "tile"],
                       weights=[2, 1, 1, 1, 3])[0]
    i = rng.randrange(len(sample.plot_ids))
    if kind == "search: region":
        return kind, items, regional
    if kind == "search: bbox":
        return kind, items, {"bbox": sample.bboxes[i], "limit": 50}
    if kind == "search: zone":
        return kind, items, {"zone_id": rng.choice(sample.zone_ids), "limit": 50}
    if kind == "plot json":
        return kind, f"{items}/{sample.plot_ids[i]}", None
    z = rng.randint(12, 16)
    x, y = tile_of(*sample.points[i], z)
    return kind, f"/collections/public.plot/tiles/WebMercatorQuad/{z}/{x}/{y}", None


# -- the load ----------------------------------------------------------------------------------

@dataclass
class Result:
    seconds: float
    durations: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    #: With a timing log: each recorded request's number, kind, when it started, when its
    #: request was written out, and when its answer was read (perf_counter, as the server's).
    timeline: list[tuple[int, str, float, float | None, float]] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    first_errors: list[str] = field(default_factory=list)

    def count(self) -> int:
        return sum(len(v) for v in self.durations.values()) + sum(self.errors.values())

    def record(self, number: int, kind: str, path: str, ok: bool, problem: str,
               started: float, sent: float | None, ended: float, timed: bool) -> None:
        """One measured request: its time if answered, else its error (the first five
        kept with their reason)."""
        if timed:
            self.timeline.append((number, kind, started, sent, ended))
        if ok:
            self.durations[kind].append((ended - started) * 1000)
        else:
            self.errors[kind] += 1
            if len(self.first_errors) < 5:
                self.first_errors.append(f"{kind} {path}: {problem}")


async def drive(one, clients: int, seconds: float, seed: int, on_start) -> float:
    """Warm up, then run ``clients`` loops of ``one`` for ``seconds``; the seconds taken."""
    async def client_loop(number: int, deadline: float) -> None:
        rng = random.Random(seed * 1000 + number)
        while time.perf_counter() < deadline:
            await one(rng, record=True)

    # Warm up: every client's connection opened, caches as a running site has them.
    warm = random.Random(seed)
    await asyncio.gather(*(one(warm, record=False) for _ in range(clients * 2)))
    on_start()
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    await asyncio.gather(*(client_loop(n, deadline) for n in range(clients)))
    return time.perf_counter() - started


async def hammer(base: str, ask, sample: Sample, phase: str, clients: int, seconds: float,
                 seed: int, on_start=lambda: None, timed: bool = False,
                 client: str = "wire") -> Result:
    """``clients`` clients asking ``ask``'s requests for ``seconds`` after a warm-up, on
    ``client``: "wire" (``bench/load/wire.py``) or "httpx" (the figures before 3 Dec 13:00)."""
    if client == "wire":
        return await hammer_wire(base, ask, sample, phase, clients, seconds, seed, on_start,
                                 timed)
    # Idle connections are dropped well before uvicorn drops them (after 5 s idle): a request
    # sent on a connection the server is closing as idle is reset under it (httpx ReadError).
    # The client checks a connection's age when it picks it, and a starved client (load 15
    # on 2 cores) wrote its request up to 2 s later: with 4 s here, 1-8 requests of 600
    # were reset with LOCATIONS_THREADS=8; with uvicorn's keep-alive at 60 s, none.
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients,
                          keepalive_expiry=1)
    result = Result(seconds)
    numbers = itertools.count()
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as session:
        async def one(rng: random.Random, record: bool) -> None:
            kind, path, params = ask(sample, rng, phase)
            started = time.perf_counter()
            steps: list[str] = []
            sent: list[float] = []
            number = next(numbers)

            async def trace(name: str, info: dict) -> None:  # httpcore's steps, for a failure
                steps.append(f"{name.removeprefix('http11.')} {time.perf_counter() - started:.2f}")
                if name == "http11.send_request_headers.complete":
                    sent.append(time.perf_counter())

            try:
                answer = await session.get(path, params=params, extensions={"trace": trace},
                                          headers={"x-bench-request": f"{phase}:{number}"} if timed else None)
                ok = answer.status_code in (200, 204)
                problem = f"{answer.status_code} {answer.text[:120]}"
            except httpx.HTTPError as exc:
                # Which step failed, when, and whether the connection was a new one.
                ok, problem = False, (f"{type(exc).__name__} {exc!r} after "
                                      f"{time.perf_counter() - started:.1f} s; "
                                      f"{'new' if any('connect_tcp' in s for s in steps) else 'reused'}"
                                      f" connection; steps: {', '.join(steps[-6:])}")
            if record:
                result.record(number, kind, path, ok, problem, started,
                              sent[0] if sent else None, time.perf_counter(), timed)

        result.seconds = await drive(one, clients, seconds, seed, on_start)
    return result


async def hammer_wire(base: str, ask, sample: Sample, phase: str, clients: int,
                      seconds: float, seed: int, on_start, timed: bool) -> Result:
    """``hammer`` on ``clients`` keep-alive connections of ``bench.load.wire``."""
    result = Result(seconds)
    numbers = itertools.count()
    idle: asyncio.Queue[wire.Connection] = asyncio.Queue()
    for _ in range(clients):
        idle.put_nowait(wire.Connection(base))

    async def one(rng: random.Random, record: bool) -> None:
        kind, path, params = ask(sample, rng, phase)
        number = next(numbers)
        connection = await idle.get()
        started = time.perf_counter()
        sent = None
        try:
            async with asyncio.timeout(30):
                status, body, _new, sent = await connection.get(
                    path, params, {"x-bench-request": f"{phase}:{number}"} if timed else None)
            ok = status in (200, 204)
            problem = f"{status} {body[:120].decode(errors='replace')}"
        except (wire.WireError, TimeoutError) as exc:
            connection.close()
            ok, problem = False, (f"{type(exc).__name__} {exc} after "
                                  f"{time.perf_counter() - started:.1f} s")
        finally:
            idle.put_nowait(connection)
        if record:
            result.record(number, kind, path, ok, problem, started, sent,
                          time.perf_counter(), timed)

    result.seconds = await drive(one, clients, seconds, seed, on_start)
    while not idle.empty():
        idle.get_nowait().close()
    return result


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU of these processes and their children that exited (uvicorn's
    workers are children of its supervisor)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rpartition(")")[2].split()
            total += sum(int(v) for v in fields[11:13]) / tick  # utime, stime
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


def family(pid: int) -> list[int]:
    """A process and its descendants (uvicorn --workers N: the supervisor and its workers)."""
    pids, pending = [], [pid]
    while pending:
        current = pending.pop()
        pids.append(current)
        try:
            with open(f"/proc/{current}/task/{current}/children") as children:
                pending.extend(int(c) for c in children.read().split())
        except FileNotFoundError:
            pass
    return pids


class DatabaseCpu:
    """CPU seconds of the database's server processes serving these sessions (by
    ``application_name`` in this database: other users of the cluster are not counted),
    read from /proc: the database must run on this machine."""

    def __init__(self, url: str, application_names: tuple[str, ...]) -> None:
        self.engine = create_engine(url, pool_size=1, max_overflow=0)
        self.names = application_names
        self.start: dict[int, float] = {}

    def _now(self) -> dict[int, float]:
        with self.engine.connect() as conn:
            pids = conn.execute(text(
                "SELECT pid FROM pg_stat_activity WHERE application_name = ANY(:names) "
                "AND datname = current_database()"),
                {"names": list(self.names)}).scalars().all()
        return {pid: cpu_seconds([pid]) for pid in pids}

    def begin(self) -> None:
        self.start = self._now()

    def end(self) -> float:
        # A backend started during the run counts whole; one gone since is missed (the
        # pools keep theirs open while the clients run).
        return sum(cpu - self.start.get(pid, 0.0) for pid, cpu in self._now().items())


def report(name: str, result: Result, server_cpu: float | None, client_cpu: float,
           database_cpu: float | None, load_before: tuple, regional_phase: bool) -> dict:
    all_ms = [d for v in result.durations.values() for d in v]
    errors = sum(result.errors.values())
    total = len(all_ms) + errors
    rps = total / result.seconds
    print(f"\n{name}: {total:,} requests in {result.seconds:.0f} s = {rps:.1f} requests/s, "
          f"{errors} errors; load average {load_before[0]:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after ({os.cpu_count()} cores)")
    print(f"  {'kind':<16} {'n':>6} {'req/s':>7} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7}  ms")
    for kind in sorted(result.durations, key=lambda k: -len(result.durations[k])):
        values = result.durations[kind]
        print(f"  {kind:<16} {len(values):>6} {len(values) / result.seconds:>7.1f} "
              f"{percentile(values, .5):>7.0f} {percentile(values, .95):>7.0f} "
              f"{percentile(values, .99):>7.0f} {max(values):>7.0f}"
              + (f"  ({result.errors[kind]} errors)" if result.errors.get(kind) else ""))
    p50 = percentile(all_ms, .5) if all_ms else float("nan")
    p95 = percentile(all_ms, .95) if all_ms else float("nan")
    p99 = percentile(all_ms, .99) if all_ms else float("nan")
    print(f"  {'all':<16} {total:>6} {rps:>7.1f} {p50:>7.0f} {p95:>7.0f} {p99:>7.0f} "
          f"{max(all_ms, default=float('nan')):>7.0f}")
    if server_cpu is not None:
        per = 1000 / max(total, 1)
        print(f"  CPU per request: server process(es) {server_cpu * per:.1f} ms, database "
              + (f"{database_cpu * per:.1f} ms" if database_cpu is not None else "not measured")
              + f", this client {client_cpu * per:.1f} ms")
    checks = [("no errors", errors == 0, f"{errors}"),
              ("p99 under 1 s", p99 < MAX_P99_MS, f"{p99:.0f} ms"),
              ("p99 under 5x p50", p99 < MAX_P99_OVER_P50 * p50, f"{p99 / p50:.1f}x")]
    if regional_phase:
        checks.insert(1, (f"at least {MIN_REGIONAL_RPS:.0f} requests/s", rps >= MIN_REGIONAL_RPS,
                          f"{rps:.1f}"))
    print("  targets: " + "; ".join(f"{what}: {got} {'met' if ok else 'NOT met'}"
                                     for what, ok, got in checks))
    for line in result.first_errors:
        print(f"  error: {line}")
    return {"rps": rps, "p50": p50, "p95": p95, "p99": p99, "errors": errors}


def start_ours(url: str, workers: int, replica_urls: list[str], env_extra: dict,
               root: str | None = None, timing_log: str | None = None
               ) -> tuple[str, subprocess.Popen]:
    """Our API in uvicorn; ``root``: another checkout's code (to measure before and after);
    ``timing_log``: each request's steps written there (``bench/load/timing.py``)."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, **env_extra}
    factory = "api.app:create_app"
    if timing_log:
        env["LOCATIONS_BENCH_TIMING_LOG"] = timing_log
        factory = "bench.load.timing:create_app"
        # bench/ is a namespace package: this checkout's bench.load.timing beside the served code.
        here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [env.get("PYTHONPATH"), here]))
    env.pop("LOCATIONS_READ_REPLICA_URLS", None)
    if replica_urls:
        env["LOCATIONS_READ_REPLICA_URLS"] = ",".join(replica_urls)
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", factory, "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--workers", str(workers), "--log-level", "warning",
         "--no-access-log"], env=env, cwd=root,
        # The access lines are written as in production; kept only for a look after the run.
        stderr=open(os.path.join(tempfile.gettempdir(), f"bench-load-server-{os.getpid()}.log"), "w"))  # noqa: SIM115
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/health/ready", process, "the API")
    except RuntimeError:  # never ready (e.g. a database behind the code's migrations): stop it
        process.terminate()
        process.wait(timeout=20)
        raise
    return base, process


def start_tipg(python: str, url: str) -> tuple[str, subprocess.Popen]:
    base, process = start_tipg_for_tiles(os.path.abspath(python), url)
    wait_for(f"{base}/collections/public.plot", process, "tipg")
    return base, process


def run_phases(label: str, base: str, process: subprocess.Popen, ask, sample: Sample,
               phases: list[str], clients: int, seconds: float, seed: int,
               database: DatabaseCpu | None, timing_log: str | None = None,
               client: str = "wire") -> dict[str, dict]:
    figures = {}
    for phase in phases:
        pids = family(process.pid)
        before = {}

        def start(before=before, pids=pids) -> None:  # after the warm-up
            if database is not None:
                database.begin()
            before.update(server=cpu_seconds(pids), load=os.getloadavg(),
                          client=sum(resource.getrusage(resource.RUSAGE_SELF)[:2]))

        result = asyncio.run(hammer(base, ask, sample, phase, clients, seconds, seed, start,
                                    timed=timing_log is not None, client=client))
        if timing_log:  # the client's side, for bench.load.timing to lay beside the server's
            with open(f"{timing_log}.{phase}.client", "w") as out:
                out.writelines(json.dumps(entry) + "\n" for entry in result.timeline)
        server_before, client_before, load_before = before["server"], before["client"], before["load"]
        server_cpu = cpu_seconds(pids) - server_before
        client_cpu = sum(resource.getrusage(resource.RUSAGE_SELF)[:2]) - client_before
        database_cpu = database.end() if database is not None else None
        what = "the regional search" if phase == "regional" else "the mix"
        if ask is ours:  # which node served the reads (with replicas), as /metrics counts them
            scraped = httpx.get(f"{base}/metrics", timeout=30).text
            served = [line.split("{", 1)[1].replace('"}', "").replace('node="', "")
                      for line in scraped.splitlines() if line.startswith("locations_reads{")]
            if served:
                print("  reads served since start by node: " + ", ".join(served))
        figures[phase] = report(f"{label}, {what}, {clients} clients", result, server_cpu,
                                client_cpu, database_cpu, load_before, phase == "regional")
    return figures


def measure(url: str, *, clients: int = 32, seconds: float = 60,
            phases: tuple[str, ...] = ("regional", "mix"), seed: int = 1, sample: int = 2000,
            workers: int = 1, replica_urls: tuple[str, ...] = (), env_extra: dict | None = None,
            server_root: str | None = None, tipg_python: str | None = None,
            timing_log: str | None = None, client: str = "wire") -> dict[str, dict]:
    """Run each phase against our API (and tipg's with ``tipg_python``), printing as it goes.

    Returns figures by ``"ours <phase>"`` (and ``"tipg <phase>"``): requests/s (``rps``),
    ``p50``/``p95``/``p99`` in ms and ``errors``."""
    drawn = draw(url, sample, seed)
    local = not replica_urls  # a replica's backends are another cluster's: not counted
    env_extra = dict(env_extra or {})
    nodes = 1 + len(replica_urls)
    if server_root:
        env_extra["PYTHONPATH"] = server_root
    setup = (f"{workers} worker{'s' if workers > 1 else ''}, {nodes} database node"
             f"{'s' if nodes > 1 else ''}"
             + (f", {' '.join(f'{k}={v}' for k, v in env_extra.items())}" if env_extra else ""))
    print(f"{clients} clients ({client}) for {seconds:.0f} s per phase; "
          f"{len(drawn.plot_ids)} plots drawn; times in ms; ours: {setup}")
    figures = {}
    base, process = start_ours(url, workers, list(replica_urls), env_extra, server_root, timing_log)
    try:
        found = run_phases("ours", base, process, ours, drawn, list(phases), clients, seconds,
                           seed, DatabaseCpu(url, ("locations", "locations-read")) if local else None,
                           timing_log, client)
        figures.update({f"ours {phase}": values for phase, values in found.items()})
    finally:
        process.terminate()
        process.wait(timeout=20)
    if tipg_python:
        base, process = start_tipg(tipg_python, url)
        try:
            found = run_phases("tipg (1 worker)", base, process, tipg, drawn, list(phases),
                               clients, seconds, seed, None, client=client)
            figures.update({f"tipg {phase}": values for phase, values in found.items()})
        finally:
            process.terminate()
            process.wait(timeout=20)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--replica-url", action="append", default=[],
                        help="a hot standby of the database serving reads (repeatable)")
    parser.add_argument("--phases", default="regional,mix")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sample", type=int, default=2000, help="plots drawn for pages and tiles")
    parser.add_argument("--tipg-python", help="python of a virtualenv with tipg and uvicorn")
    parser.add_argument("--server-root", help="serve this checkout's code instead (before/after)")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting for our server (repeatable), to compare settings")
    parser.add_argument("--timing-log", help="write each request's steps in the server here "
                        "(bench/load/timing.py; sum it up with python -m bench.load.timing PATH)")
    parser.add_argument("--client", choices=("wire", "httpx"), default="wire",
                        help="the clients' HTTP: bench/load/wire.py (default) or httpx, "
                             "which cost more CPU than the server's answers (figures before "
                             "3 Dec 13:00 UTC)")
    args = parser.parse_args()
    measure(sqlalchemy_url(args.database_url), clients=args.clients, seconds=args.seconds,
            phases=tuple(args.phases.split(",")), seed=args.seed, sample=args.sample,
            workers=args.workers, replica_urls=tuple(args.replica_url),
            env_extra=dict(item.split("=", 1) for item in args.env),
            server_root=args.server_root, tipg_python=args.tipg_python,
            timing_log=args.timing_log, client=args.client)

if __name__ == "__main__":
    main()
