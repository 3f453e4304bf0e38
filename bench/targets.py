"""Issue 26's speed targets at a million plots, each beside its figure, from one command.

Runs the benchmarks' own measuring functions (``bench.search``, ``bench.scores``,
``bench.dashboard``, ``bench.pages``, ``bench.tiles``, ``bench.scoring``, ``bench.load``,
``bench/import``) and prints one table: the target, what was measured, the figure, met or
not met, the machine's load average (1 minute) at the start and end of that part, and the
command that measures it alone. The same table is written as Markdown (``--output``) to
paste into the README.

    python -m bench.targets --database-url postgresql://postgres:PW@127.0.0.1:PORT/bench_copy \\
        [--quick] [--scoring] [--load] [--bulk-load] [--all] [--output bench/out/targets.md]

The routes, pages, downloads and the densest tile (targets 1, 2, 6) are always measured;
the long parts only when asked: ``--scoring`` (target 3: a cold and a warm run; it empties
the database's scores and kept site metrics first), ``--load`` (target 4: 32 clients for
60 s, the regional search then the mix), ``--bulk-load`` (target 5: the import benchmark and
the synthetic load into a database of their own, made and dropped: ``<name>_targets_bulk``
on the same server). ``--all`` is all three: about 20 minutes on a quiet 2-core machine.
``--geopandas URL`` adds target 3's other half on a database of 100k plots: a cold and a
warm run against the same totals computed with geopandas (``bench.scoring.run``).
Before the routes are timed, every table written since its last vacuum (by ``--scoring``,
say) is vacuumed and analysed, printed as a step of its own (``bench.database.settle``):
autovacuum would otherwise do it, throttled, while they are timed.
Use a copy of the benchmark database (``CREATE DATABASE x TEMPLATE bench_1m``, then
``ANALYZE``): ``--scoring`` rewrites its scores. Without a finished run of the profile (and
without ``--scoring``) sorting by score and the ranked routes are left out, and say so.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import math
import os
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.dashboard import run as dashboard
from bench.database import print_settled, settle
from bench.load import run as load_test
from bench.pages import run as pages
from bench.scores import run as scores
from bench.search import run as search
from bench.tiles import run as tiles
from locations.db import sqlalchemy_url

#: Issue 26's targets, by number.
TARGETS = {
    1: "every route and page p95 < 200 ms; by score and rankings p95 < 30 ms",
    2: "pages < 500 kB, /zones in pages; 1,000-plot XLSX and exposé < 2 s, region report < 10 s",
    3: "scoring one profile at 1M: warm <= 20 s, cold <= 30 s; >= 10x geopandas at 100k",
    4: "32 clients for 60 s: no errors, >= 43 req/s, p99 < 1 s and < 5x p50",
    5: "1M synthetic load and 1M import <= 2.5x ogr2ogr's bare load",
    6: "the densest z14 tile p95 < 25 ms",
}

ROUTE_P95_MS = 200.0
SCORE_P95_MS = 30.0
TILE_P95_MS = 25.0
WARM_SCORING_S = 20.0
COLD_SCORING_S = 30.0
BULK_RATIO = 2.5
GEOPANDAS_COMMAND = "python -m bench.scoring.run --plots 100000 --database NAME --geopandas"
MIN_RPS = load_test.MIN_REGIONAL_RPS
MAX_P99_MS = load_test.MAX_P99_MS
MAX_P99_OVER_P50 = load_test.MAX_P99_OVER_P50


@dataclass
class Row:
    """One figure beside its target."""

    target: int
    what: str
    figure: str  # as shown: "153 ms", "412 kB"
    bound: str  # the target's bound: "< 200 ms"
    met: bool | None  # None: not measured
    command: str
    load: tuple[float, float] = (float("nan"), float("nan"))  # 1-minute load at start, end

    @property
    def verdict(self) -> str:
        return "not measured" if self.met is None else "met" if self.met else "not met"


def below(target: int, what: str, value: float, limit: float, unit: str, command: str,
          digits: int = 0) -> Row:
    return Row(target, what, f"{value:,.{digits}f} {unit}", f"< {limit:,.{digits}f} {unit}",
               value < limit, command)


def at_most(target: int, what: str, value: float, limit: float, unit: str, command: str,
            digits: int = 1) -> Row:
    return Row(target, what, f"{value:,.{digits}f} {unit}", f"<= {limit:,.{digits}f} {unit}",
               value <= limit, command)


def at_least(target: int, what: str, value: float, limit: float, unit: str, command: str,
             digits: int = 1) -> Row:
    return Row(target, what, f"{value:,.{digits}f} {unit}", f">= {limit:,.{digits}f} {unit}",
               value >= limit, command)


def not_measured(target: int, what: str, how: str, command: str) -> Row:
    return Row(target, what, f"({how})", "", None, command)


@contextmanager
def part(rows: list[Row], name: str, targets: tuple[int, ...]) -> Iterator[list[Row]]:
    """Collect a part's rows, stamped with the 1-minute load average at its start and end.
    A part that fails leaves a row saying so under each of its targets, and the run goes on."""
    started, load = time.perf_counter(), os.getloadavg()[0]
    print(f"\n== {name} (load average {load:.2f})", flush=True)
    collected: list[Row] = []
    try:
        yield collected
    except Exception as exc:  # noqa: BLE001 - the other parts' figures are still wanted
        traceback.print_exc()
        collected += [Row(number, f"{name}: failed", f"({type(exc).__name__}: {exc})"[:300],
                          "", None, "") for number in targets]
    finally:
        end = os.getloadavg()[0]
        for row in collected:
            row.load = (load, end)
        rows.extend(collected)
        print(f"== {name}: {time.perf_counter() - started:.0f} s, load average {end:.2f}",
              flush=True)


# -- the parts ----------------------------------------------------------------------------

def command(module: str, extra: str = "") -> str:
    return f"python -m {module} --database-url URL{extra}"


def measure_scoring(url: str, profile: str) -> list[Row]:
    """Target 3: a cold run (nothing kept) and a warm one, by bench.scoring.run."""
    from bench.scoring.run import cold_and_warm
    from locations.standard import DEFAULT_STANDARD, find_standard

    engine = create_engine(url)
    cold, (_, warm) = cold_and_warm(engine, find_standard(DEFAULT_STANDARD), profile,
                                    dt.date.today())
    engine.dispose()
    print(f"cold run: {cold}\nwarm run: {warm}")
    how = "python -m bench.scoring.run --plots 1000000 --database NAME"
    return [at_most(3, f"scoring {profile}, cold ({cold['plots']:,} plots)", cold["total"],
                    COLD_SCORING_S, "s", how),
            at_most(3, f"scoring {profile}, warm ({warm['plots']:,} plots)", warm["total"],
                    WARM_SCORING_S, "s", how)]


def measure_against_geopandas(url: str, profile: str) -> list[Row]:
    """Target 3's other half: a cold and a warm run on ``url`` (a database of about 100k
    plots) against the same totals computed with geopandas, by bench.scoring.run."""
    from bench.scoring.run import GEOPANDAS_TARGET_X, cold_and_warm, geopandas_scores
    from locations.standard import DEFAULT_STANDARD, find_standard

    engine = create_engine(url)
    standard = find_standard(DEFAULT_STANDARD)
    today = dt.date.today()
    cold, (_, warm) = cold_and_warm(engine, standard, profile, today)
    _, timings = geopandas_scores(engine, standard, profile, today)
    engine.dispose()
    reference = timings["total"]
    print(f"geopandas {reference:.1f} s, cold run {cold['total']:.1f} s, warm run "
          f"{warm['total']:.1f} s", flush=True)
    label = f"{cold['plots']:,} plots, geopandas {reference:.1f} s"
    return [at_least(3, f"geopandas / cold run ({label}, run {cold['total']:.1f} s)",
                     reference / cold["total"], GEOPANDAS_TARGET_X, "x", GEOPANDAS_COMMAND),
            at_least(3, f"geopandas / warm run ({label}, run {warm['total']:.1f} s)",
                     reference / warm["total"], GEOPANDAS_TARGET_X, "x", GEOPANDAS_COMMAND)]


def measure_routes(url: str, repeats: int, profile: str, rows: list[Row]) -> None:
    """Targets 1, 2 and 6 through one API process: searches, sorting by score and rankings,
    dashboards and comparisons, every other page and read route, downloads, tiles; each
    group's rows added to ``rows`` as soon as it is measured."""
    engine = create_engine(url)
    with engine.connect() as conn:
        scored = conn.execute(text("SELECT count(*) FROM score_run WHERE profile = :p AND "
                                   "status = 'finished'"), {"p": profile}).scalar_one()
    engine.dispose()
    base, process = search.start_api(url)
    try:
        with httpx.Client(base_url=base, timeout=120) as client:
            rows += _searches(url, client, base, repeats)
            if scored:
                rows += _by_score(client, base, profile, repeats)
            else:  # bench.dashboard leaves its ranked routes out too
                rows.append(not_measured(1, f"sorting by score and rankings: no finished run of "
                                         f"{profile}", "add --scoring", command("bench.scores.run")))
            rows += _dashboards(url, client, repeats)
            rows += _pages(url, client, repeats)
            rows += _densest_tile(url, client, base, repeats)
    finally:
        process.terminate()
        process.wait(timeout=20)


def _searches(url: str, client: httpx.Client, base: str, repeats: int) -> list[Row]:
    engine = create_engine(url)
    rows = []
    for case in search.cases(engine):
        durations = search.time_api(client, base, case, repeats)
        rows.append(below(1, f"search: {case.name}", search.percentile(durations, .95),
                          ROUTE_P95_MS, "ms", command("bench.search.run"), 1))
        print(f"  {rows[-1].what}: p95 {rows[-1].figure}", flush=True)
    engine.dispose()
    return rows


def _by_score(client: httpx.Client, base: str, profile: str, repeats: int) -> list[Row]:
    rows = []
    for name, _, p95 in scores.measure(client, base, profile, repeats, 3):
        # The same searches by area are there for comparison, and a what-if weighs every
        # ranked plot anew (no index holds a total of weights given in the request): both
        # are held to any route's bound.
        limit = (ROUTE_P95_MS if name.startswith("(other sort)") or "what-if" in name
                 else SCORE_P95_MS)
        rows.append(below(1, name, p95, limit, "ms", command("bench.scores.run"), 1))
        print(f"  {name}: p95 {rows[-1].figure}", flush=True)
    return rows


def _dashboards(url: str, client: httpx.Client, repeats: int) -> list[Row]:
    _, profile, codes, prefix = dashboard.facts(url)
    how = command("bench.dashboard.run")
    rows = []
    for timing in dashboard.measure(client, profile, codes, prefix, repeats,
                                    lambda t: print(f"  {t.what}: p95 {t.p95:.0f} ms", flush=True)):
        if "/report." in timing.path:
            rows.append(below(2, timing.what, timing.p95 / 1000, dashboard.REPORT_TARGET_MS / 1000,
                              "s", how, 1))
            continue
        rows.append(below(1, timing.what, timing.p95, ROUTE_P95_MS, "ms", how, 1))
        if timing.page:
            rows.append(below(2, f"size of {timing.what}", timing.kb, dashboard.PAGE_TARGET_KB,
                              "kB", how))
    return rows


def _pages(url: str, client: httpx.Client, repeats: int) -> list[Row]:
    how = command("bench.pages.run")
    rows = []
    for timing in pages.measure(client, pages.draw(url), repeats,
                                lambda t: print(f"  {t.what}: p95 {t.p95:.0f} ms", flush=True)):
        if timing.target_ms == pages.DOWNLOAD_TARGET_MS:
            rows.append(below(2, timing.what, timing.p95 / 1000, timing.target_ms / 1000, "s",
                              how, 2))
            continue
        rows.append(below(1, timing.what, timing.p95, timing.target_ms, "ms", how, 1))
        if timing.page:
            rows.append(below(2, f"size of {timing.what}", timing.kb, pages.PAGE_TARGET_KB,
                              "kB", how))
    zones = pages.zones_pages(client)
    rows.append(Row(2, f"GET /zones, every zone by its next links ({zones['zones']:,} zones, "
                       f"{zones['pages']} pages, all {zones['total_ms']:,.0f} ms)",
                    f"largest page {zones['largest_kb']:,.0f} kB, slowest {zones['slowest_ms']:,.0f} ms",
                    f"every zone once, pages < {pages.PAGE_TARGET_KB:.0f} kB",
                    zones["whole"] and zones["largest_kb"] < pages.PAGE_TARGET_KB, how))
    return rows


def _densest_tile(url: str, client: httpx.Client, base: str, repeats: int) -> list[Row]:
    engine = create_engine(url)
    (x, y, plots), = tiles.densest_tiles(engine, 14)
    engine.dispose()
    fetch = tiles.api_tiles(client, base)
    for _ in range(3):
        fetch(14, x, y)
    durations, sizes = tiles.time_calls(fetch, [(14, x, y)] * repeats)
    return [below(6, f"densest z14 tile 14/{x}/{y} ({plots:,} plots, {sizes[0] / 1024:.0f} kB)",
                  search.percentile(durations, .95), TILE_P95_MS, "ms",
                  "python -m bench.targets --database-url URL", 1)]


def measure_load(url: str, clients: int, seconds: float) -> list[Row]:
    """Target 4, by bench.load.run: the regional search alone, then the mix."""
    figures = load_test.measure(url, clients=clients, seconds=seconds)
    how = command("bench.load.run", f" --clients {clients} --seconds {seconds:.0f}")
    rows = []
    for phase, name in (("regional", "the regional search"), ("mix", "the mix")):
        found = figures[f"ours {phase}"]
        what = f"{name}, {clients} clients, {seconds:.0f} s"
        rows.append(Row(4, f"{what}: errors", f"{found['errors']}", "0", found["errors"] == 0,
                        how))
        if phase == "regional":
            rows.append(at_least(4, f"{what}: throughput", found["rps"], MIN_RPS, "req/s", how))
        rows.append(below(4, f"{what}: p99 (p50 {found['p50']:,.0f} ms)", found["p99"],
                          MAX_P99_MS, "ms", how))
        rows.append(below(4, f"{what}: p99 / p50", found["p99"] / found["p50"],
                          MAX_P99_OVER_P50, "x", how, 1))
    return rows


def measure_bulk_load(url: str, plots: int) -> list[Row]:
    """Target 5: the import benchmark (ogr2ogr, its floor, the platform's import) and the
    synthetic load (bench.synthetic, audit trail and all), into a database made and dropped."""
    from bench.database import migrated_database
    from bench.synthetic import generate

    importer = importlib.import_module("bench.import.run")  # 'import' is a keyword
    bulk = make_url(url)
    bulk = bulk.set(database=f"{bulk.database}_targets_bulk")
    bulk_url = bulk.render_as_string(hide_password=False)
    try:
        figures = importer.measure(bulk_url, plots)
        ogr = figures["ogr2ogr"]
        print(f"ogr2ogr {ogr:.1f} s, floor {figures['floor']:.1f} s, import "
              f"{figures['platform']:.1f} s", flush=True)
        engine = migrated_database(bulk_url)
        started = time.perf_counter()
        generate(engine, plots)
        synthetic = time.perf_counter() - started
        engine.dispose()
        print(f"synthetic load {synthetic:.1f} s", flush=True)
    finally:
        admin = create_engine(bulk.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{bulk.database}" WITH (FORCE)'))
        admin.dispose()
    label = f"{plots:,} plots, ogr2ogr {ogr:.1f} s"
    return [
        at_most(5, f"import / ogr2ogr ({label}, import {figures['platform']:.1f} s; floor "
                   f"{figures['floor'] / ogr:.2f}x)", figures["platform"] / ogr, BULK_RATIO, "x",
                f"python bench/import/run.py --plots {plots}", 2),
        at_most(5, f"synthetic load / ogr2ogr ({label}, load {synthetic:.1f} s)", synthetic / ogr,
                BULK_RATIO, "x", f"python -m bench.scoring.prepare --plots {plots} "
                "--database NAME --fresh", 2),
    ]


# -- the table ------------------------------------------------------------------------------

def complete(rows: list[Row]) -> list[Row]:
    """``rows`` in target order, with a 'not measured' row for each target none measured."""
    routes = "leave out --no-routes"
    missing = {1: ("routes and pages", routes, command("bench.dashboard.run")),
               2: ("sizes and downloads", routes, command("bench.pages.run")),
               3: ("scoring runs", "add --scoring", "python -m bench.scoring.run --plots 1000000"),
               4: ("load test", "add --load", command("bench.load.run", " --clients 32 --seconds 60")),
               5: ("bulk loads", "add --bulk-load", "python bench/import/run.py --plots 1000000"),
               6: ("densest z14 tile", routes, command("bench.targets"))}
    result = list(rows)
    for number, (what, how, measuring) in missing.items():
        if not any(row.target == number and "geopandas" not in row.what for row in result):
            result.append(not_measured(number, what, how, measuring))
    # Target 3's comparison runs on a database of its own (100k plots): its row says so.
    if not any(row.target == 3 and "geopandas" in row.what for row in result):
        result.append(not_measured(
            3, "scoring against geopandas (100k plots)", "add --geopandas URL",
            GEOPANDAS_COMMAND))
    return sorted(result, key=lambda row: row.target)


def table(rows: list[Row]) -> list[list[str]]:
    """Header and one line per row: target, what, figure, bound, result, load, command."""
    lines = [["target", "what", "figure", "target's bound", "result", "load start-end",
              "command"]]
    for row in rows:
        load = ("" if row.met is None or math.isnan(row.load[0])
                else f"{row.load[0]:.1f}-{row.load[1]:.1f}")
        lines.append([str(row.target), row.what, row.figure, row.bound, row.verdict, load,
                      row.command])
    return lines


def markdown(rows: list[Row], heading: str) -> str:
    lines = table(rows)
    out = [heading, "", "| " + " | ".join(lines[0]) + " |",
           "| " + " | ".join("---" for _ in lines[0]) + " |"]
    for line in lines[1:]:
        cells = [cell.replace("|", "\\|") for cell in line]
        cells[2] = f"**{cells[2]}**" if line[4] == "not met" else cells[2]
        cells[6] = f"`{cells[6]}`" if cells[6] else ""
        out.append("| " + " | ".join(cells) + " |")
    out += ["", "Targets (issue 26):", ""]
    out += [f"{number}. {what}" for number, what in TARGETS.items()]
    return "\n".join(out) + "\n"


#: Widest a column of the printed table gets (the Markdown file has every cell whole).
WIDEST = (6, 64, 26, 15, 12, 14)


def plain(rows: list[Row]) -> str:
    lines = table(rows)
    widths = [min(max(len(line[i]) for line in lines), most) for i, most in enumerate(WIDEST)]
    return "\n".join("  ".join(cell[:width].ljust(width) for cell, width in zip(line, widths))
                     + "  " + line[-1] for line in lines)


def run(url: str, *, repeats: int, profile: str, scoring: bool, load: bool, bulk_load: bool,
        clients: int, seconds: float, bulk_plots: int, routes: bool = True,
        geopandas_url: str | None = None) -> tuple[list[Row], tuple, str]:
    """Every part asked for; returns the rows (each target present), the load average at the
    start and end of the whole run, and the database's size in plots."""
    engine = create_engine(url)
    with engine.connect() as conn:
        plots = conn.execute(text("SELECT count(*) FROM plot WHERE retired_at IS NULL")).scalar_one()
    engine.dispose()
    started = os.getloadavg()
    rows: list[Row] = []
    if scoring:  # first: the routes then read the run it leaves
        with part(rows, "target 3: scoring", (3,)) as found:
            found += measure_scoring(url, profile)
    if geopandas_url:
        with part(rows, "target 3: against geopandas", (3,)) as found:
            found += measure_against_geopandas(geopandas_url, profile)
    if routes:
        # What the scoring (or anything before) wrote is vacuumed before the routes are
        # timed, as a deployment's tables are when it serves: not by autovacuum during them.
        engine = create_engine(url)
        started_settling = time.perf_counter()
        print_settled(settle(engine))
        engine.dispose()
        print(f"== settling: {time.perf_counter() - started_settling:.0f} s, load average "
              f"{os.getloadavg()[0]:.2f}", flush=True)
        with part(rows, "targets 1, 2, 6: routes, pages, downloads, tiles", (1, 2, 6)) as found:
            measure_routes(url, repeats, profile, found)
    if load:
        with part(rows, "target 4: under load", (4,)) as found:
            found += measure_load(url, clients, seconds)
    if bulk_load:
        with part(rows, "target 5: bulk loads", (5,)) as found:
            found += measure_bulk_load(url, bulk_plots)
    return (complete(rows),
            (started, os.getloadavg()), f"{plots:,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     epilog=__doc__.split("\n\n", 2)[2],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True,
                        help="a copy of the 1M-plot benchmark database (it may be scored)")
    parser.add_argument("--quick", action="store_true",
                        help="few requests per route, a 10 s load test: a check, not figures")
    parser.add_argument("--repeats", type=int, help="requests per route (default 40, quick 5)")
    parser.add_argument("--profile", default="logistics")
    parser.add_argument("--scoring", action="store_true", help="target 3: cold and warm runs")
    parser.add_argument("--load", action="store_true", help="target 4: the load test")
    parser.add_argument("--bulk-load", action="store_true", help="target 5: import, synthetic load")
    parser.add_argument("--all", action="store_true", help="--scoring --load --bulk-load")
    parser.add_argument("--no-routes", action="store_true",
                        help="leave out targets 1, 2 and 6 (to run a long part alone)")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, help="of each load phase (default 60, quick 10)")
    parser.add_argument("--bulk-plots", type=int, default=1_000_000)
    parser.add_argument("--geopandas", metavar="URL",
                        help="target 3 against geopandas: a database of 100k plots (its scores "
                             "are rewritten), e.g. made by bench.scoring.prepare --plots 100000")
    parser.add_argument("--output", default=str(Path(__file__).parent / "out" / "targets.md"),
                        help="the table as Markdown (default bench/out/targets.md)")
    args = parser.parse_args()
    url = sqlalchemy_url(args.database_url)
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    rows, (before, after), plots = run(
        url, repeats=args.repeats or (5 if args.quick else 40), profile=args.profile,
        scoring=args.scoring or args.all, load=args.load or args.all,
        bulk_load=args.bulk_load or args.all, clients=args.clients,
        seconds=args.seconds or (10 if args.quick else 60), bulk_plots=args.bulk_plots,
        routes=not args.no_routes,
        geopandas_url=sqlalchemy_url(args.geopandas) if args.geopandas else None)
    heading = (f"Issue 26's targets at {plots} plots, {when}, {os.cpu_count()} cores; load "
               f"average at start {before[0]:.2f} {before[1]:.2f} {before[2]:.2f}, at end "
               f"{after[0]:.2f} {after[1]:.2f} {after[2]:.2f}"
               + (" (--quick: a check, not figures)" if args.quick else ""))
    print("\n" + heading + "\n")
    print(plain(rows))
    missed = sum(row.met is False for row in rows)
    print(f"\n{sum(row.met is True for row in rows)} met, {missed} not met, "
          f"{sum(row.met is None for row in rows)} not measured")
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(markdown(rows, heading))
    print(f"written to {output}")


if __name__ == "__main__":
    main()
