"""The public pages and read routes no other benchmark times, and the downloads' own targets.

Each request is asked ``--repeats`` times through the API in its own uvicorn process, one at a
time after a warm-up, over plots and zones drawn from the database (each request a different
one, as visitors ask). Printed: p50/p95 beside issue 26's targets (a page or route under
200 ms at p95; a 1,000-plot XLSX and a plot's exposé under 2 s) and each answer's size
beside its own (a page under 500 kB of HTML). ``GET /zones`` is also walked once by its
``next`` links, as a client reads every zone: the pages must hold every zone once, each page
well under 500 kB. Nothing is written to the database.

    python -m bench.pages.run --database-url postgresql://postgres:PW@127.0.0.1:PORT/bench_1m \\
        [--repeats 40] [--profile logistics]
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import statistics
import time
from dataclasses import dataclass

import httpx
from sqlalchemy import create_engine, text

from bench.dashboard.run import PAGE_TARGET_KB, print_timing
from bench.search.run import percentile, start_api, timed
from locations.db import sqlalchemy_url

#: Issue 26: every page and read route under this at p95 (ms).
ROUTE_TARGET_MS = 200.0
#: A 1,000-plot XLSX and a plot's exposé (ms).
DOWNLOAD_TARGET_MS = 2000.0


@dataclass
class Timing:
    """One request's figures: p50/p95 in ms beside its target, and its answer's median size."""

    what: str
    path: str
    p50: float
    p95: float
    target_ms: float
    kb: float
    page: bool  # an HTML page, held to PAGE_TARGET_KB


@dataclass
class Sample:
    """Plots and zones the requests are asked about, drawn from the database once."""

    plot_ids: list[int]
    zone_ids: list[int]
    region: str
    scored_profile: str | None


def draw(url: str, n: int = 200, seed: int = 1) -> Sample:
    engine = create_engine(url)
    rng = random.Random(seed)
    with engine.connect() as conn:
        top = conn.execute(text("SELECT max(id) FROM plot")).scalar_one()
        plots = conn.execute(text("SELECT id FROM plot WHERE id = ANY(:ids) AND retired_at IS NULL"),
                             {"ids": [rng.randint(1, top) for _ in range(n * 2)]}).scalars().all()
        zones = conn.execute(text("SELECT DISTINCT zone_id FROM plot WHERE id = ANY(:ids)"),
                             {"ids": list(plots)}).scalars().all()
        region = conn.execute(text("""
            SELECT r.code FROM region r JOIN municipality m ON m.region_id = r.id
            JOIN zone z ON z.municipality_id = m.id GROUP BY r.code
            ORDER BY count(*) DESC, r.code LIMIT 1""")).scalar_one()
        profile = conn.execute(text("SELECT profile FROM score_run WHERE status = 'finished' "
                                    "ORDER BY finished_at DESC LIMIT 1")).scalar_one_or_none()
    engine.dispose()
    rng.shuffle(plots := list(plots)[:n])
    return Sample(plots, sorted(zones), region, profile)


def requests(sample: Sample) -> list[tuple[str, str, float, bool]]:
    """(what, path, target ms, is a page): ``{plot}``, ``{zone}`` and ``{plots}`` are filled
    with drawn ones, a different one each time."""
    region, profile = sample.region, sample.scored_profile
    scored = [
        ("plot's score API", f"/plots/{{plot}}/score?profile={profile}", ROUTE_TARGET_MS, False),
        ("zone's score API", f"/zones/{{zone}}/score?profile={profile}", ROUTE_TARGET_MS, False),
        ("plot page with scores", f"/maps/plots/{{plot}}?lang=en&profile={profile}",
         ROUTE_TARGET_MS, True),
    ] if profile else []
    return [
        ("start page", "/?lang=en", ROUTE_TARGET_MS, True),
        ("overview page", "/maps/overview?lang=en", ROUTE_TARGET_MS, True),
        ("search page (default)", "/maps/search?lang=en", ROUTE_TARGET_MS, True),
        ("plot page", "/maps/plots/{plot}?lang=en", ROUTE_TARGET_MS, True),
        ("plot history page", "/maps/plots/{plot}/history?lang=en", ROUTE_TARGET_MS, True),
        ("zone page", "/maps/zones/{zone}?lang=en", ROUTE_TARGET_MS, True),
        ("shortlist page, five plots", "/maps/shortlist?lang=en&plots={plots}",
         ROUTE_TARGET_MS, True),
        ("zone ranking page (default)", "/maps/rankings?lang=en", ROUTE_TARGET_MS, True),
        ("plot API", "/plots/{plot}", ROUTE_TARGET_MS, False),
        ("zone API", "/zones/{zone}", ROUTE_TARGET_MS, False),
        (f"zones of a region API ({region})", f"/zones?region={region}", ROUTE_TARGET_MS, False),
        ("regions API", "/regions", ROUTE_TARGET_MS, False),
        ("municipalities API", "/municipalities", ROUTE_TARGET_MS, False),
        ("standards API", "/standards", ROUTE_TARGET_MS, False),
        *scored,
        (f"1,000 plots as XLSX ({region})", f"/plots?region={region}&limit=1000&f=xlsx",
         DOWNLOAD_TARGET_MS, False),
        ("a plot's exposé (PDF)", "/maps/plots/{plot}/expose.pdf?lang=en", DOWNLOAD_TARGET_MS,
         False),
    ]


def measure(client: httpx.Client, sample: Sample, repeats: int,
            on_timing=lambda timing: None) -> list[Timing]:
    """Time each of :func:`requests` through ``client`` (its base URL the API's)."""
    plots = itertools.cycle(sample.plot_ids)
    zones = itertools.cycle(sample.zone_ids)
    timings = []
    for what, template, target, page in requests(sample):
        sizes: list[int] = []

        def call(template=template, sizes=sizes):
            path = template.format(plot=next(plots), zone=next(zones),
                                   plots=",".join(str(next(plots)) for _ in range(5)))
            answer = client.get(path)
            answer.raise_for_status()
            sizes.append(len(answer.content))

        # A download takes seconds: fewer of them.
        count = max(5, repeats // 4) if target == DOWNLOAD_TARGET_MS else repeats
        durations = timed(call, count, warmup=2)
        timing = Timing(what, template, statistics.median(durations), percentile(durations, .95),
                        target, statistics.median(sizes) / 1024, page)
        on_timing(timing)
        timings.append(timing)
    return timings


def zones_pages(client: httpx.Client) -> dict:
    """``GET /zones`` for every zone, page by page as a client follows the ``next`` links:
    how many pages and zones, the slowest page in ms and the largest in kB, all of it in ms
    and kB, and whether the pages held every zone the first one counted, once."""
    started = time.perf_counter()
    address, ids, slowest, largest, size, pages = "/zones", [], 0.0, 0, 0, 0
    matched = None
    while address:
        asked = time.perf_counter()
        answer = client.get(address)
        answer.raise_for_status()
        slowest = max(slowest, (time.perf_counter() - asked) * 1000)
        largest, size, pages = max(largest, len(answer.content)), size + len(answer.content), pages + 1
        body = answer.json()
        matched = body["numberMatched"] if matched is None else matched
        ids += [feature["id"] for feature in body["features"]]
        address = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
    return {"pages": pages, "zones": len(ids), "whole": len(set(ids)) == len(ids) == matched,
            "slowest_ms": slowest, "largest_kb": largest / 1024,
            "total_ms": (time.perf_counter() - started) * 1000, "kb": size / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--repeats", type=int, default=40)
    args = parser.parse_args()
    url = sqlalchemy_url(args.database_url)
    sample = draw(url)
    base, process = start_api(url)
    load = os.getloadavg()
    print(f"{len(sample.plot_ids)} plots drawn; profile {sample.scored_profile}; load average "
          f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print(f"{'request':<52} {'p50 ms':>8} {'p95 ms':>8}  {'p95 target':<18} "
          f"{'size kB':>8}  {'size target':<16} load")
    try:
        with httpx.Client(base_url=base, timeout=120) as client:
            measure(client, sample, args.repeats, print_timing)
            zones = zones_pages(client)
        print(f"GET /zones, every zone: {zones['zones']:,} zones in {zones['pages']} pages "
              f"({'every zone once' if zones['whole'] else 'NOT every zone once'}), the slowest "
              f"{zones['slowest_ms']:.0f} ms, the largest {zones['largest_kb']:.0f} kB; all "
              f"{zones['kb']:,.0f} kB after {zones['total_ms']:.0f} ms")
    finally:
        process.terminate()
        process.wait()
    load = os.getloadavg()
    print(f"load average after: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")


if __name__ == "__main__":
    main()
