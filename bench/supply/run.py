"""Land-supply monitoring timings: a region's monthly series, in the core (one SQL statement
over the kept zone_supply_month) and through the HTTP API (uvicorn), p50 and p95 in ms; and
what keeping zone_supply_month costs: a rebuild from the whole audit trail, and one PATCH.

With ``--plots N`` it first loads N synthetic plots with their audit trail of several
years into a fresh database (``bench.synthetic``); otherwise it uses the database as it is.

    python -m bench.supply.run --database-url postgresql://postgres@127.0.0.1:PORT/bench_supply \
        [--plots 1000000] [--requests 20]
"""

from __future__ import annotations

import argparse
import time

import httpx
from sqlalchemy import create_engine, text

from bench.search.run import load, percentile, start_api, timed
from locations import land_supply
from locations.db import sqlalchemy_url

#: The series asked for: the largest regions, all of Styria, whole countries.
REGIONS = ("SI042", "SI032", "AT221", "AT22", "SI", "AT")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--plots", type=int,
                        help="load this many synthetic plots first (drops the database)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--requests", type=int, default=20, help="timed series per region")
    args = parser.parse_args()
    url = sqlalchemy_url(args.database_url)
    engine = load(url, args.plots, args.seed) if args.plots else create_engine(url)
    with engine.connect() as conn:
        plots, events = conn.execute(text(
            "SELECT (SELECT count(*) FROM plot), (SELECT count(*) FROM plot_event)")).one()
    print(f"{plots:,} plots, {events:,} events in the audit trail")
    with engine.begin() as conn:
        started = time.perf_counter()
        conn.execute(text("SELECT zone_supply_rebuild()"))
        print(f"zone_supply_month rebuilt from the whole trail in "
              f"{time.perf_counter() - started:.1f} s (the trigger does this per statement, "
              "for the plots it touches)")

    write_cost(engine, args.requests)

    api = None
    try:
        api_base, api = start_api(url)
        client = httpx.Client(timeout=120)
        print(f"\n{args.requests} series per region, its whole trail to this month; times in ms")
        print(f"{'region':<8} {'plots':>9} {'events':>10} {'months':>7} "
              f"{'core p50':>9} {'core p95':>9} {'API p50':>8} {'API p95':>8}")
        for region in REGIONS:
            with engine.connect() as conn:
                counted = conn.execute(text(
                    "SELECT count(DISTINCT p.id), count(e.id) FROM plot p "
                    "JOIN zone z ON z.id = p.zone_id JOIN municipality m ON m.id = z.municipality_id "
                    "JOIN region r ON r.id = m.region_id JOIN plot_event e ON e.plot_id = p.id "
                    "WHERE r.code LIKE :code || '%'"), {"code": region}).one()
                months = len(land_supply.supply_series(conn, region).months)
                core_ms = timed(lambda c=conn, r=region: land_supply.supply_series(c, r),
                                args.requests, warmup=2)
            api_ms = timed(lambda r=region: client.get(f"{api_base}/regions/{r}/supply")
                           .raise_for_status(), args.requests, warmup=2)
            print(f"{region:<8} {counted[0]:>9,} {counted[1]:>10,} {months:>7} "
                  f"{percentile(core_ms, 0.5):>9.1f} {percentile(core_ms, 0.95):>9.1f} "
                  f"{percentile(api_ms, 0.5):>8.1f} {percentile(api_ms, 0.95):>8.1f}")
    finally:
        if api is not None:
            api.terminate()
            api.wait(timeout=30)


def write_cost(engine, repeats: int) -> None:
    """What keeping zone_supply_month adds to one plot write (a status change through
    ``update_plot``, rolled back), with the trigger and without it."""
    from locations.accounts import account_by_name, create_account
    from locations.plot_updates import update_plot

    with engine.connect() as conn:
        plots = conn.execute(text(
            "SELECT id, version FROM plot WHERE status = 'available' AND retired_at IS NULL "
            "ORDER BY md5(id::text) LIMIT :n"), {"n": repeats}).all()
    figures = {}
    for trigger in ("with the trigger", "without it"):
        durations = []
        for plot_id, version in plots:
            with engine.connect() as conn:
                transaction = conn.begin()
                create_account(conn, "bench-supply-admin", "admin")
                account = account_by_name(conn, "bench-supply-admin")
                if trigger == "without it":
                    conn.execute(text("ALTER TABLE plot_event DISABLE TRIGGER zone_supply_event"))
                started = time.perf_counter()
                update_plot(conn, account, plot_id, version, {"status": "reserved"})
                durations.append((time.perf_counter() - started) * 1000)
                transaction.rollback()
        figures[trigger] = durations
    print("one status change (update_plot, ms p50/p95): " + "; ".join(
        f"{name} {percentile(values, 0.5):.1f} / {percentile(values, 0.95):.1f}"
        for name, values in figures.items()))


if __name__ == "__main__":
    main()
