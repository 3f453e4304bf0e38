"""Plot search timings: the same searches as raw SQL, through the HTTP API (uvicorn), and in tipg.

Prints p50 and p95 in milliseconds per search, the API/SQL ratio, and, when a
tipg installation is given, tipg's figures on the same table and how many
times faster the API is. With ``--plots N`` it first loads N synthetic plots
into a fresh database (and prints what the load and the proximity trigger
cost); otherwise it uses the database as it is.

    python -m bench.search.run --database-url postgresql://postgres@127.0.0.1:PORT/bench_search \
        [--plots 1000000] [--requests 200] [--tipg-python .venv-tipg/bin/python]

A quick run: ``--plots 20000 --requests 50``. tipg lives in its own virtualenv
(``python -m venv .venv-tipg && .venv-tipg/bin/pip install tipg uvicorn``).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from sqlalchemy import Engine, create_engine, text

from locations import search
from locations.db import sqlalchemy_url


@dataclass
class Case:
    """One representative search: our API's query, its filters, and tipg's equivalent."""

    name: str
    api_params: dict
    tipg_params: dict | None
    pages_before: int = 0  # follow this many 'next' links first: timing a deep page


def cases(engine: Engine) -> list[Case]:
    with engine.connect() as conn:
        gorenjska_zones = conn.execute(text(
            "SELECT z.id FROM zone z JOIN municipality m ON m.id = z.municipality_id "
            "JOIN region r ON r.id = m.region_id WHERE r.code = 'SI042' ORDER BY z.id")).scalars().all()
        busiest_zone = conn.execute(text(
            "SELECT zone_id FROM plot GROUP BY zone_id ORDER BY count(*) DESC LIMIT 1")).scalar_one()
    zone_list = ",".join(str(z) for z in gorenjska_zones)
    return [
        Case("regional page (SI042, available, >= 1 ha)",
             {"region": "SI042", "status": "available", "min_area_m2": 10000},
             {"filter-lang": "cql2-text",
              "filter": f"zone_id IN ({zone_list}) AND status='available' AND area_m2>=10000"}),
        Case("available, >= 1 ha, all regions",
             {"status": "available", "min_area_m2": 10000},
             {"filter-lang": "cql2-text", "filter": "status='available' AND area_m2>=10000"}),
        Case("bbox around Maribor", {"bbox": "15.55,46.50,15.75,46.62"},
             {"bbox": "15.55,46.50,15.75,46.62"}),
        Case("available, cheapest first", {"status": "available", "sort": "price"},
             {"status": "available", "sortby": "price_eur_m2"}),
        Case("one zone", {"zone": busiest_zone}, {"zone_id": busiest_zone}),
        Case("page 21 of a region (keyset / offset 1000)", {"region": "SI042"},
             {"filter-lang": "cql2-text", "filter": f"zone_id IN ({zone_list})", "offset": 1000},
             pages_before=20),
        Case("investor: 1 ha, 5 MW, ftth, manufacturing, <= 10 km motorway, SI042 or AT22",
             {"region": ["SI042", "AT22"], "status": "available", "min_area_m2": 10000,
              "min_power_mw": 5, "broadband": "ftth", "use": "manufacturing", "max_motorway_km": 10},
             None),
    ]


def page_address(client: httpx.Client, api_base: str, case: Case) -> tuple[str, dict | None]:
    """The URL and query of the page ``case`` times (its deep page walked to once; the last
    one in a database too small to have it)."""
    params = case.api_params | {"limit": 50}
    api_url = f"{api_base}/plots"
    for _ in range(case.pages_before):
        body = client.get(api_url, params=params).json()
        following = [link["href"] for link in body["links"] if link["rel"] == "next"]
        if not following:
            break
        api_url, params = following[0], None
    return api_url, params


def time_api(client: httpx.Client, api_base: str, case: Case, requests: int) -> list[float]:
    """Milliseconds of ``requests`` requests of ``case``'s page through the API."""
    api_url, params = page_address(client, api_base, case)
    return timed(lambda: _ok(client.get(api_url, params=params)), requests)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def timed(call: Callable[[], object], repeats: int, warmup: int = 5) -> list[float]:
    for _ in range(warmup):
        call()
    durations = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        durations.append((time.perf_counter() - started) * 1000)
    return durations


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, what: str) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not start")


def start_api(database_url: str, env_extra: dict | None = None) -> tuple[str, subprocess.Popen]:
    """Our API in its own uvicorn process, as a user runs it. Its log (a JSON line per
    request) goes to a file of the temporary folder, named if the server fails to start."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, **(env_extra or {})}
    log = os.path.join(tempfile.gettempdir(), f"bench-api-{os.getpid()}-{port}.log")
    with open(log, "w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--host",
             "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"],
            env=env, stderr=stderr)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/plots?limit=1", process, "the API")
    except RuntimeError as exc:
        process.kill()
        raise RuntimeError(f"{exc}; its log: {log}") from None
    return base, process


def tipg_plot_properties(database_url: str) -> dict[str, str]:
    """tipg's setting for the plot table's properties: every column but the plot's kept
    GeoJSON outline (``boundary_geojson``, migration 0138), a copy of its geometry that tipg
    would otherwise send beside it as one more property (and in its tiles), making its
    answers larger than they were before the column existed and than ours."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            columns = conn.execute(text(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public'"
                " AND table_name = 'plot' AND column_name <> 'boundary_geojson'"
                " ORDER BY ordinal_position")).scalars().all()
    finally:
        engine.dispose()
    return {"TIPG_TABLE_CONFIG__public_plot__properties": json.dumps(columns)}


def start_tipg(python: str, database_url: str) -> tuple[str, subprocess.Popen]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url.replace("+psycopg2", ""),
           "TIPG_DB_TABLES": '["public.plot"]', "TIPG_MAX_FEATURES_PER_QUERY": "1000",
           **tipg_plot_properties(database_url)}
    # A folder of its own, so tipg reads no .env meant for someone else.
    process = subprocess.Popen(
        [os.path.abspath(python), "-m", "uvicorn", "tipg.main:app", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning", "--no-access-log"], env=env, cwd=tempfile.gettempdir())
    base = f"http://127.0.0.1:{port}"
    wait_for(f"{base}/collections/public.plot", process, "tipg")
    return base, process


def load(url: str, n_plots: int, seed: int) -> Engine:
    """A fresh migrated database at ``url`` with ``n_plots`` synthetic plots."""
    from bench.database import migrated_database
    from bench.synthetic import generate

    engine = migrated_database(url)
    timings: dict[str, float] = {}
    counts = generate(engine, n_plots, seed, timings=timings)
    print(f"loaded {counts['plot']:,} plots in {counts['zone']:,} zones: "
          + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in timings.items()))
    return engine


def proximity_cost(engine: Engine) -> None:
    """What the insert trigger does for a bulk load: every plot's distances, in one statement."""
    with engine.connect() as conn:
        plots = conn.execute(text("SELECT count(*) FROM plot")).scalar_one()
        started = time.perf_counter()
        conn.execute(text("SELECT plot_proximity_refresh(NULL)"))
        seconds = time.perf_counter() - started
        conn.rollback()
    print(f"proximity for all {plots:,} plots (the work the insert trigger adds to a bulk load): "
          f"{seconds:.1f} s, {seconds / plots * 1e6:.0f} µs per plot")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--plots", type=int, help="load this many synthetic plots first (drops the database)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--requests", type=int, default=200, help="timed requests per search")
    parser.add_argument("--tipg-python", help="python of a virtualenv with tipg and uvicorn")
    parser.add_argument("--proximity-cost", action="store_true",
                        help="also time the proximity refresh of every plot")
    args = parser.parse_args()
    url = sqlalchemy_url(args.database_url)
    engine = load(url, args.plots, args.seed) if args.plots else create_engine(url)
    if args.plots or args.proximity_cost:
        proximity_cost(engine)

    api = tipg = None
    try:
        api_base, api = start_api(url)
        tipg_base, tipg = start_tipg(args.tipg_python, url) if args.tipg_python else (None, None)
        client = httpx.Client(timeout=60)
        print(f"\n{args.requests} requests per search, limit 50, GeoJSON in CRS84; times in ms")
        header = f"{'search':<58} {'SQL p50':>8} {'SQL p95':>8} {'API p50':>8} {'API p95':>8} {'API/SQL':>8}"
        if tipg:
            header += f" {'tipg p50':>9} {'tipg p95':>9} {'tipg/API':>9}"
        print(header)
        for case in cases(engine):
            api_url, params = page_address(client, api_base, case)
            filters = _filters_of(api_url, params)
            with engine.connect() as conn:
                conn.execute(text("SELECT set_config('max_parallel_workers_per_gather', '0', false),"
                                  " set_config('jit', 'off', false)"))
                query = search.plot_query(conn, filters)
                sql_ms = timed(lambda q=query: conn.execute(text(q.sql), q.params).fetchall(),
                               args.requests)
            returned = client.get(api_url, params=params).json()["numberReturned"]
            api_ms = timed(lambda u=api_url, p=params: _ok(client.get(u, params=p)), args.requests)
            sql50, sql95 = percentile(sql_ms, .5), percentile(sql_ms, .95)
            api50, api95 = percentile(api_ms, .5), percentile(api_ms, .95)
            line = (f"{case.name[:58]:<58} {sql50:>8.1f} {sql95:>8.1f} {api50:>8.1f} {api95:>8.1f}"
                    f" {api50 / sql50:>7.1f}x")
            if tipg and case.tipg_params is not None:
                tipg_params = case.tipg_params | {"limit": 50}
                tipg_url = f"{tipg_base}/collections/public.plot/items"
                tipg_ms = timed(lambda u=tipg_url, p=tipg_params: _ok(client.get(u, params=p)),
                                args.requests)
                t50, t95 = percentile(tipg_ms, .5), percentile(tipg_ms, .95)
                line += f" {t50:>9.1f} {t95:>9.1f} {t50 / api50:>8.1f}x"
            elif tipg:
                line += f" {'n/a':>9} {'n/a':>9} {'':>9}"
            print(line + f"   ({returned} plots)")
        print("\nSQL = the page query the API runs, timed on one connection (its zone lookup not "
              "included); API = HTTP round trip to uvicorn (one worker); tipg/API = how many times "
              "faster the API is at p50.")
    finally:
        for process in (api, tipg):
            if process is not None:
                process.terminate()
                process.wait(timeout=10)


def _ok(response: httpx.Response) -> None:
    if response.status_code != 200:
        raise RuntimeError(f"{response.request.url} answered {response.status_code}: {response.text[:300]}")


def _filters_of(api_url: str, params: dict | None) -> search.PlotFilter:
    """The PlotFilter the API builds for this request, to time its SQL directly."""
    query = httpx.URL(api_url, params=params).params
    values: dict = {}
    lists = {"region", "municipality", "zone", "status", "use", "ownership"}
    for key in query:
        if key in lists:
            values[key] = query.get_list(key)
        elif key == "bbox":
            values[key] = search.parse_bbox(query[key])
        else:
            values[key] = query[key]
    return search.PlotFilter(**values)


if __name__ == "__main__":
    main()
