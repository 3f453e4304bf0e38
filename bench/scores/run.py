"""Searches by score and rankings through the HTTP API: p50/p95 beside the 30 ms target.

Sorting by score and the rankings must be as fast as any other sort at a million plots
(issue 26: p95 under 30 ms, also with an investor's filters and a region). Each case is
requested ``--requests`` times through uvicorn after a few warm-up requests; the machine's
load average is printed with the figures, since other work on the machine weighs on them.
A database without a finished run of the profile is scored first; tables written since
their last vacuum are vacuumed before anything is timed (``bench.database.settle``).

    LOCATIONS_EMBEDDED_DIR=/work/bench-pg python -m bench.scores.run \\
        --database-url postgresql://postgres:PASSWORD@127.0.0.1:PORT/bench_scores [--requests 100]
"""

from __future__ import annotations

import argparse
import os
import time

import httpx
from sqlalchemy import create_engine, text

from bench.database import print_settled, settle
from bench.search.run import _ok, percentile, start_api, timed
from locations.db import sqlalchemy_url
from locations.scoring import run_scoring

#: The issue's target for sorting by score and rankings, p95 in ms.
TARGET_P95_MS = 30.0

INVESTOR = {"status": "available", "min_area_m2": 10000, "min_power_mw": 5,
            "use": "manufacturing", "max_motorway_km": 10}


def cases(profile: str) -> list[tuple[str, str, dict, int]]:
    """(name, path, query, pages to follow first) of each timed request."""
    by_score = {"sort": "-score", "profile": profile, "limit": 50}
    return [
        ("plots by score", "/plots", by_score, 0),
        ("plots by score, lowest first", "/plots", by_score | {"sort": "score"}, 0),
        ("plots by score, investor's filters", "/plots", by_score | INVESTOR, 0),
        ("plots by score, region SI042", "/plots", by_score | {"region": "SI042"}, 0),
        ("plots by score, filters + SI042 or AT221", "/plots",
         by_score | INVESTOR | {"region": ["SI042", "AT221"]}, 0),
        ("plots by score, page 21 (cursor)", "/plots", by_score, 20),
        # Other sorts of the same searches, for comparison.
        ("(other sort) plots by area", "/plots", {"sort": "-area", "limit": 50}, 0),
        ("(other sort) by area, region SI042", "/plots",
         {"sort": "-area", "limit": 50, "region": "SI042"}, 0),
        ("(other sort) by area, filters + SI042/AT221", "/plots",
         {"sort": "-area", "limit": 50, "region": ["SI042", "AT221"]} | INVESTOR, 0),
        ("rankings, all regions", "/rankings", {"profile": profile, "limit": 50}, 0),
        ("rankings, region SI042", "/rankings", {"profile": profile, "region": "SI042",
                                                 "limit": 50}, 0),
        ("rankings, region AT221", "/rankings", {"profile": profile, "region": "AT221",
                                                 "limit": 50}, 0),
        # A region's plots are its municipalities' (plot.municipality_id, issue 24/25).
        ("plots of region AT221, 500 by id", "/plots", {"region": "AT221", "limit": 500}, 0),
        ("plots by score, region AT221 (100)", "/plots",
         {"region": "AT221", "sort": "-score", "profile": profile}, 0),
        ("rankings what-if, region SI042", "/rankings",
         {"profile": profile, "region": "SI042", "limit": 50,
          "weights": "accessibility:50,infrastructure:30,market:20"}, 0),
        # Over every region: the zones reaching the top anywhere (0139), not one region's.
        ("rankings what-if, all regions", "/rankings",
         {"profile": profile, "limit": 50,
          "weights": "accessibility:50,infrastructure:30,market:20"}, 0),
        ("regions compared", "/regions/compare", {"profile": profile}, 0),
    ]


def score_if_unscored(engine, profile: str) -> float | None:
    """Score ``profile`` when the database holds no finished run of it; the seconds it took."""
    with engine.connect() as conn:
        scored = conn.execute(text("SELECT count(*) FROM score_run WHERE profile = :p "
                                   "AND status = 'finished'"), {"p": profile}).scalar_one()
    if scored:
        return None
    started = time.perf_counter()
    run_scoring(engine, profile, requested_by="bench")
    return time.perf_counter() - started


def measure(client: httpx.Client, api_base: str, profile: str, requests: int, warmup: int,
            on_timing=lambda name, p50, p95: None) -> list[tuple[str, float, float]]:
    """(name, p50, p95) in ms of each case through the API at ``api_base``."""
    timings = []
    for name, path, query, pages_before in cases(profile):
        address, params = f"{api_base}{path}", dict(query)
        for _ in range(pages_before):  # the last page in a database too small for the page
            body = client.get(address, params=params).json()
            following = [link["href"] for link in body["links"] if link["rel"] == "next"]
            if not following:
                break
            address, params = following[0], None
        durations = timed(lambda a=address, p=params: _ok(client.get(a, params=p)),
                          requests, warmup)
        p50, p95 = percentile(durations, .5), percentile(durations, .95)
        on_timing(name, p50, p95)
        timings.append((name, p50, p95))
    return timings


def _print_timing(name: str, p50: float, p95: float) -> None:
    verdict = "met" if p95 < TARGET_P95_MS else "MISSED"
    print(f"{name:<44} {p50:>7.1f} {p95:>7.1f} {TARGET_P95_MS:>9.0f} ms  {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--profile", default="logistics")
    parser.add_argument("--requests", type=int, default=100, help="timed requests per case")
    parser.add_argument("--warmup", type=int, default=5, help="untimed requests per case first")
    args = parser.parse_args()
    url = sqlalchemy_url(args.database_url)
    engine = create_engine(url)
    with engine.connect() as conn:
        plots = conn.execute(text("SELECT count(*) FROM plot")).scalar_one()
    seconds = score_if_unscored(engine, args.profile)
    if seconds is not None:
        print(f"scored {plots:,} plots for {args.profile} in {seconds:.1f} s")
    # The tables just written vacuumed now, not by autovacuum while requests are timed.
    print_settled(settle(engine))
    api = None
    try:
        api_base, api = start_api(url)
        client = httpx.Client(timeout=120)
        print(f"{plots:,} plots; {args.requests} requests per case through the API (uvicorn, one "
              f"worker); times in ms; load average before: {_load()}")
        print(f"{'case':<44} {'p50':>7} {'p95':>7} {'target p95':>11}  result")
        measure(client, api_base, args.profile, args.requests, args.warmup, _print_timing)
        print(f"load average after: {_load()} (2 cores)")
    finally:
        if api is not None:
            api.terminate()
            api.wait(timeout=10)

def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


if __name__ == "__main__":
    main()
