"""OGC API - Features and Tiles timings beside tipg on the same tables: items pages, bbox,
CQL2 filters (the investor's search among them), output CRS, zones and plot tiles.

Both servers run in their own uvicorn process (one worker each) over the same
database; every case is fetched ``--requests`` times after a warm-up, and p50/p95
are printed in milliseconds with how many times faster the platform is at p50. The
servers take turns of ``--turn`` requests in a row (default 10), as clients meet them:
QGIS and GDAL page through one server's items, a map fetches a screen of tiles at once.
With ``--turn 1`` each request meets a server the other has just left, its caches
cooled by the other's work: a cost of a millisecond or two that weighs on the lighter
server's ratio most.
tipg serves ``plot`` and ``zone`` as they are, and a view ``bench_plot_search``
(created here, in the benchmark's own copy of the database) with the zone's power
and broadband and the plot's motorway distance beside each plot, so that the
investor's CQL2 filter means the same to both. Where tipg has no equivalent (an
output ``crs``: tipg implements no Part 2) only the platform's figures are given.

    python -m bench.ogc.run --database-url postgresql://postgres@127.0.0.1:PORT/bench_ogc \\
        --tipg-python .venv-tipg/bin/python [--requests 100]

tipg lives in its own virtualenv (``python -m venv .venv-tipg && .venv-tipg/bin/pip
install tipg uvicorn``). Use a copy of the benchmark database: the view is created in it.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

import httpx
from sqlalchemy import create_engine, text

from bench.search.run import _ok, free_port, percentile, tipg_plot_properties, wait_for
from locations.db import sqlalchemy_url

ITEMS = "/collections/plots/items"
TIPG_PLOTS = "/collections/public.plot/items"
TIPG_SEARCH = "/collections/public.bench_plot_search/items"
D96_TM = "http://www.opengis.net/def/crs/EPSG/0/3794"
MARIBOR = "15.55,46.50,15.75,46.62"
#: The investor's search of GET /plots (available, >= 1 ha, 5 MW, FTTH, <= 10 km to a
#: motorway junction) as one CQL2 filter over the queryables.
INVESTOR = ("status = 'available' AND area_m2 >= 10000 AND power_mw >= 5 "
            "AND broadband = 'ftth' AND motorway_km <= 10")
#: What tipg filters on, beside each plot (the search reads the same joins).
SEARCH_VIEW = """
    CREATE OR REPLACE VIEW bench_plot_search AS
    SELECT p.id, p.status, p.area_m2, p.price_eur_m2,
           coalesce(p.power_mw, z.power_mw) AS power_mw, z.broadband, pp.motorway_km,
           p.boundary
    FROM plot p JOIN zone z ON z.id = p.zone_id
    LEFT JOIN plot_proximity pp ON pp.plot_id = p.id
    WHERE p.retired_at IS NULL
"""


@dataclass
class Case:
    """One request to both servers: our path and query, tipg's (None: no equivalent)."""

    name: str
    path: str
    params: dict
    tipg_path: str | None = None
    tipg_params: dict | None = None
    pages_before: int = 0  # follow this many 'next' links first (ours): a deep page


def cases(engine) -> list[Case]:
    # The busiest zone wholly in one municipality, and the busiest shared one: a plot of a
    # shared zone is named with the municipality holding most of it (kept per plot since
    # 0121; it measured the plot's overlap with each candidate municipality per read).
    busiest = """
        SELECT p.zone_id FROM plot p
        WHERE p.zone_id {} (SELECT zone_id FROM zone_municipality WHERE share < 0.999)
        GROUP BY p.zone_id ORDER BY count(*) DESC LIMIT 1"""
    with engine.connect() as conn:
        single = conn.execute(text(busiest.format("NOT IN"))).scalar_one()
        shared = conn.execute(text(busiest.format("IN"))).scalar_one()
    limit = {"limit": 50}

    def one_zone(zone_id: int) -> dict:
        return limit | {"filter-lang": "cql2-json",
                        "filter": f'{{"op": "=", "args": [{{"property": "zone_id"}}, {zone_id}]}}'}

    return [
        Case("plots, first page", ITEMS, limit, TIPG_PLOTS, limit),
        Case("plots, page 21 (next links / offset 1000)", ITEMS, limit, TIPG_PLOTS,
             limit | {"offset": 1000}, pages_before=20),
        Case("plots, bbox around Maribor", ITEMS, limit | {"bbox": MARIBOR}, TIPG_PLOTS,
             limit | {"bbox": MARIBOR}),
        Case("plots, CQL2: available, >= 1 ha", ITEMS,
             limit | {"filter": "status = 'available' AND area_m2 >= 10000"}, TIPG_PLOTS,
             limit | {"filter": "status = 'available' AND area_m2 >= 10000",
                      "filter-lang": "cql2-text"}),
        Case("plots, CQL2 JSON: one zone", ITEMS, one_zone(single), TIPG_PLOTS,
             one_zone(single)),
        Case("plots, CQL2 JSON: one zone shared by two", ITEMS, one_zone(shared), TIPG_PLOTS,
             one_zone(shared)),
        Case("plots, CQL2: the investor's search", ITEMS, limit | {"filter": INVESTOR},
             TIPG_SEARCH, limit | {"filter": INVESTOR, "filter-lang": "cql2-text"}),
        Case("plots, CQL2 + bbox, cheapest first", ITEMS,
             limit | {"filter": "status = 'available'", "bbox": MARIBOR,
                      "sortby": "price_eur_m2"},
             TIPG_SEARCH, limit | {"filter": "status = 'available'", "bbox": MARIBOR,
                                   "filter-lang": "cql2-text", "sortby": "price_eur_m2"}),
        Case("plots, S_INTERSECTS a polygon", ITEMS,
             limit | {"filter": "S_INTERSECTS(geometry, POLYGON((15.55 46.5, 15.75 46.5, "
                                "15.75 46.62, 15.55 46.5)))"},
             TIPG_PLOTS, limit | {"filter": "S_INTERSECTS(boundary, POLYGON((15.55 46.5, "
                                            "15.75 46.5, 15.75 46.62, 15.55 46.5)))",
                                  "filter-lang": "cql2-text"}),
        Case("plots, crs=EPSG:3794 (D96/TM)", ITEMS, limit | {"crs": D96_TM}),
        Case("plots, CQL2 + bbox + crs=EPSG:3794", ITEMS,
             limit | {"filter": "status = 'available' AND area_m2 >= 10000",
                      "bbox": MARIBOR, "crs": D96_TM}),
        Case("zones, CQL2: industrial", "/collections/zones/items",
             limit | {"filter": "kind = 'industrial'"}, "/collections/public.zone/items",
             limit | {"filter": "kind = 'industrial'", "filter-lang": "cql2-text"}),
        # The same in one order for both (tipg, asked for none, lists in table order).
        Case("zones, CQL2: industrial, sortby=name", "/collections/zones/items",
             limit | {"filter": "kind = 'industrial'", "sortby": "name"},
             "/collections/public.zone/items",
             limit | {"filter": "kind = 'industrial'", "filter-lang": "cql2-text",
                      "sortby": "name"}),
    ]


def start_api(database_url: str) -> tuple[str, subprocess.Popen]:
    """The platform in its own uvicorn process, as a user runs it; its request log (a JSON
    line per request) goes to a file in the temporary folder, keeping the table readable."""
    port = free_port()
    # Left open for the server's lifetime; the process holds it.
    log = tempfile.NamedTemporaryFile(  # noqa: SIM115
        "w", prefix="bench-ogc-api-", suffix=".log", delete=False)
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--host",
         "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"],
        env={**os.environ, "DATABASE_URL": database_url}, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    wait_for(f"{base}/collections/plots/items?limit=1", process, "the API")
    return base, process


def start_tipg(python: str, database_url: str) -> tuple[str, subprocess.Popen]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url.replace("+psycopg2", ""),
           "TIPG_DB_TABLES": '["public.plot", "public.zone", "public.bench_plot_search"]',
           "TIPG_MAX_FEATURES_PER_QUERY": "1000", "TIPG_MAX_FEATURES_PER_TILE": "1000000",
           # Views have no primary key: name it.
           "TIPG_TABLE_CONFIG__public_bench_plot_search__PK": "id",
           **tipg_plot_properties(database_url)}
    # A folder of its own, so tipg reads no .env meant for someone else.
    process = subprocess.Popen(
        [os.path.abspath(python), "-m", "uvicorn", "tipg.main:app", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning", "--no-access-log"], env=env,
        cwd=tempfile.gettempdir())
    base = f"http://127.0.0.1:{port}"
    wait_for(f"{base}/collections/public.plot", process, "tipg")
    return base, process


def sample_tiles(engine, zoom: int, samples: int, seed: int) -> list[tuple[int, int, int]]:
    """The tiles at ``zoom`` under randomly drawn plots (where users look)."""
    with engine.connect() as conn:
        top = conn.execute(text("SELECT max(id) FROM plot")).scalar_one()
        rng = random.Random(seed)
        points = conn.execute(text("""
            SELECT ST_X(pt), ST_Y(pt) FROM plot p,
                   ST_Transform(ST_PointOnSurface(p.boundary), 3857) AS pt
            WHERE p.id = ANY(:ids) LIMIT :n
        """), {"ids": [rng.randint(1, top) for _ in range(samples * 3)], "n": samples}).all()
    half = 20037508.342789244
    size = 2 * half / (1 << zoom)
    return [(zoom, int((x + half) // size), int((half - y) // size)) for x, y in points]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--tipg-python", help="python of a virtualenv with tipg and uvicorn")
    parser.add_argument("--requests", type=int, default=100, help="timed requests per case")
    parser.add_argument("--tiles", type=int, default=60, help="tiles sampled per zoom")
    parser.add_argument("--only", help="run only the cases whose name holds this text")
    parser.add_argument("--turn", type=int, default=10,
                        help="requests in a row to one server before the other's turn (1: "
                             "request by request, each server always met just after the other)")
    args = parser.parse_args()
    url = sqlalchemy_url(args.database_url)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(SEARCH_VIEW))
        plots = conn.execute(text("SELECT count(*) FROM plot")).scalar_one()
    api = tipg = None
    try:
        api_base, api = start_api(url)
        tipg_base, tipg = start_tipg(args.tipg_python, url) if args.tipg_python else (None, None)
        client = httpx.Client(timeout=120, headers={"Accept": "application/geo+json"})
        print(f"{plots:,} plots; {args.requests} requests per case, limit 50, one uvicorn "
              f"worker each, turns of {args.turn}; times in ms")
        print(f"{'case':<44} {'ours p50':>8} {'ours p95':>8} {'tipg p50':>9} {'tipg p95':>9} "
              f"{'tipg/ours':>9}")
        for case in cases(engine):
            if args.only and args.only not in case.name:
                continue
            path, params = f"{api_base}{case.path}", case.params
            for _ in range(case.pages_before):
                body = client.get(path, params=params).json()
                path = next(link["href"] for link in body["links"] if link["rel"] == "next")
                params = None
            first = client.get(path, params=params)
            _ok(first)
            returned = first.json()["numberReturned"]
            calls = [lambda u=path, p=params: _ok(client.get(u, params=p))]
            theirs_returned = None
            if tipg and case.tipg_path:
                tipg_url = f"{tipg_base}{case.tipg_path}"
                answer = client.get(tipg_url, params=case.tipg_params)
                _ok(answer)
                theirs_returned = answer.json()["numberReturned"]
                calls.append(lambda u=tipg_url, p=case.tipg_params: _ok(client.get(u, params=p)))
            ours, theirs = alternately(calls, args.requests, turn=args.turn)
            line = f"{case.name[:44]:<44} {percentile(ours, .5):>8.1f} {percentile(ours, .95):>8.1f}"
            if theirs:
                t50 = percentile(theirs, .5)
                line += (f" {t50:>9.1f} {percentile(theirs, .95):>9.1f}"
                         f" {t50 / percentile(ours, .5):>8.1f}x")
                if theirs_returned != returned:
                    line += f"  (tipg returned {theirs_returned})"
            else:
                line += f" {'n/a':>9} {'n/a':>9} {'':>9}"
            print(f"{line}   ({returned} features)")
        for zoom in (12, 14, 16) if not args.only or args.only in "plot tiles" else ():
            addresses = sample_tiles(engine, zoom, args.tiles, seed=zoom)
            templates = [api_base + "/collections/plots/tiles/WebMercatorQuad/{z}/{y}/{x}"]
            if tipg:
                templates.append(tipg_base + "/collections/public.plot/tiles/WebMercatorQuad/"
                                 "{z}/{x}/{y}")
            ours, theirs = timed_tiles(client, addresses, templates, turn=args.turn)
            line = (f"{f'plot tiles z{zoom} ({len(addresses)} under plots)':<44} "
                    f"{percentile(ours, .5):>8.1f} {percentile(ours, .95):>8.1f}")
            if theirs:
                t50 = percentile(theirs, .5)
                line += (f" {t50:>9.1f} {percentile(theirs, .95):>9.1f}"
                         f" {t50 / percentile(ours, .5):>8.1f}x")
            print(line)
        print("\nours = the platform's OGC API (uvicorn, one worker); tipg = tipg on the same "
              "tables; tipg/ours = how many times faster ours is at p50. The two servers take "
              f"turns of {args.turn} requests in a row (a client paging through one server's "
              "items, a map fetching a screen of tiles), every request timed. Tiles: each "
              "sampled tile fetched once per server after one warm-up pass.")
    finally:
        for process in (api, tipg):
            if process is not None:
                process.terminate()
                process.wait(timeout=10)


def alternately(calls: list, repeats: int, warmup: int = 3, turn: int = 1
                ) -> tuple[list[float], list[float]]:
    """Each call's durations (ms), the calls taking turns of ``turn`` requests in a row, so
    that the load of a shared machine weighs on both servers alike. Every request of a turn
    is timed, the first (which meets a server the other one has just left) included."""
    durations: list[list[float]] = [[] for _ in calls]
    for _ in range(warmup):
        for call in calls:
            call()
    while len(durations[0]) < repeats:
        size = min(turn, repeats - len(durations[0]))
        for call, series in zip(calls, durations, strict=True):
            for _ in range(size):
                started = time.perf_counter()
                call()
                series.append((time.perf_counter() - started) * 1000)
    return durations[0], durations[1] if len(durations) > 1 else []


def timed_tiles(client: httpx.Client, addresses, templates: list[str], turn: int = 1
                ) -> tuple[list[float], list[float]]:
    """Each tile fetched from each server after one warm-up pass, the servers taking turns
    of ``turn`` tiles (a map fetches a screen's tiles at once); ms per tile."""
    for template in templates:
        for z, x, y in addresses:
            _ok(client.get(template.format(z=z, x=x, y=y)))
    durations: list[list[float]] = [[] for _ in templates]
    for start in range(0, len(addresses), turn):
        for template, series in zip(templates, durations, strict=True):
            for z, x, y in addresses[start:start + turn]:
                started = time.perf_counter()
                _ok(client.get(template.format(z=z, x=x, y=y)))
                series.append((time.perf_counter() - started) * 1000)
    return durations[0], durations[1] if len(durations) > 1 else []


if __name__ == "__main__":
    main()
