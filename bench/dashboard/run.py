"""Dashboard, comparison, zone ranking, search page and report timings through the API at N plots.

The API runs in its own uvicorn process over a database holding the synthetic data set,
scored for at least one profile (``python -m bench.scoring.prepare`` then a scoring run);
each route is asked ``--repeats`` times after a warm-up, one request at a time, and p50/p95
are printed beside the target (issue 26: every page and analysis under 200 ms at p95 at a
million plots; a region's report, a download, under 10 s) with each answer's size beside its
own (a page under 500 kB of HTML) and the machine's load average (1 minute) as the line was
measured. Nothing is written to the database.

    python -m bench.dashboard.run --database-url postgresql://postgres@127.0.0.1:PORT/bench_dashboard
"""

from __future__ import annotations

import argparse
import os
import statistics
from dataclasses import dataclass

import httpx
from sqlalchemy import create_engine, text

from bench.search.run import percentile, start_api, timed
from locations.db import sqlalchemy_url

#: Issue 26's goal for every page and analysis (p95), and a report's (a download).
GOAL_MS = 200.0
REPORT_TARGET_MS = 10_000.0
#: Most HTML a page may carry (issue 26).
PAGE_TARGET_KB = 500.0


def routes(profile: str, codes: list[str], prefix: str) -> list[tuple[str, str, int]]:
    """(what, path, repeats divisor): the requests an agency makes."""
    first, second = codes[0], codes[1] if len(codes) > 1 else codes[0]
    # A region inside the NUTS-2 one, compared beside it: the maps share their outlines.
    inner = next((code for code in codes if code.startswith(prefix)), first)
    others = [code for code in codes if not code.startswith(prefix)][:2] or [first]
    return [
        (f"dashboard API, one NUTS-3 region ({first})", f"/dashboard/{first}", 1),
        (f"dashboard API, a NUTS-2 region ({prefix})", f"/dashboard/{prefix}", 1),
        (f"dashboard page ({prefix})", f"/maps/dashboard/{prefix}?lang=en", 1),
        # The investor's search over a whole region: 500 plots drawn, the page at its fullest.
        (f"search page, a whole region ({first})", f"/maps/search?lang=en&region={first}", 1),
        (f"land supply API ({prefix})", f"/regions/{prefix}/supply", 1),
        (f"comparison API ({first} vs {second})", f"/comparison?region={first}&region={second}", 1),
        (f"comparison page ({first} vs {prefix})",
         f"/maps/compare?lang=en&region={first}&region={prefix}", 1),
        ("comparison page (default: every region)", "/maps/compare?lang=en", 1),
        (f"comparison page ({prefix}, {inner} inside it, {', '.join(others)})",
         f"/maps/compare?lang=en&region={prefix}&region={inner}"
         + "".join(f"&region={code}" for code in others), 1),
        (f"comparison page by score ({profile})",
         f"/maps/compare?lang=en&measure=score&profile={profile}", 2),
        (f"/regions/compare ({profile})", f"/regions/compare?profile={profile}", 2),
        (f"zone ranking API, all zones by median ({profile})",
         f"/zones?profile={profile}&sort=-score", 2),
        (f"zone ranking API, {prefix}, by distance", f"/zones?region={prefix}&sort=motorway", 1),
        (f"/rankings, plots and zones ({prefix})", f"/rankings?profile={profile}&region={prefix}", 1),
        (f"zone ranking page ({prefix}, by available area)",
         f"/maps/rankings?lang=en&region={prefix}&profile={profile}&sort=-available", 1),
        (f"report XLSX ({prefix})", f"/maps/dashboard/{prefix}/report.xlsx", 4),
        (f"report PDF ({prefix})", f"/maps/dashboard/{prefix}/report.pdf", 8),
    ]


def _target(path: str) -> float:
    return REPORT_TARGET_MS if "/report." in path else GOAL_MS


def facts(url: str) -> tuple[int, str | None, list[str], str]:
    """The database's plots, newest scored profile, regions by zones and largest NUTS-2 prefix."""
    engine = create_engine(url)
    with engine.connect() as conn:
        plots = conn.execute(text("SELECT count(*) FROM plot")).scalar_one()
        profile = conn.execute(text("SELECT profile FROM score_run WHERE status = 'finished' "
                                    "ORDER BY finished_at DESC LIMIT 1")).scalar_one_or_none()
        codes = list(conn.execute(text("""
            SELECT r.code FROM region r JOIN municipality m ON m.region_id = r.id
            JOIN zone z ON z.municipality_id = m.id GROUP BY r.code
            ORDER BY count(*) DESC, r.code""")).scalars())
        # The NUTS-2 region covering most regions (AT22: Styria's six), the largest asked for.
        prefix = conn.execute(text("""
            SELECT left(code, 4) FROM region WHERE level = 'nuts3' GROUP BY 1
            ORDER BY count(*) DESC, 1 LIMIT 1
        """)).scalar_one()
    engine.dispose()
    return plots, profile, codes, prefix


@dataclass
class Timing:
    """One route's figures: p50/p95 in ms beside its target, and its answer's median size."""

    what: str
    path: str
    p50: float
    p95: float
    target_ms: float
    kb: float

    @property
    def page(self) -> bool:
        """An HTML page (held to the 500 kB bound), not an API answer or a download."""
        return self.path.startswith("/maps/") and "/report." not in self.path


def measure(client: httpx.Client, profile: str | None, codes: list[str], prefix: str,
            repeats: int, on_timing=lambda timing: None) -> list[Timing]:
    """Time each route of :func:`routes` through ``client`` (its base URL the API's), one
    request at a time after a warm-up; routes ranking by a score are left out without
    ``profile``. ``on_timing`` sees each route's figures as soon as they are taken."""
    timings = []
    for what, path, divisor in routes(profile or "logistics", codes, prefix):
        if profile is None and "profile=" in path:
            continue
        sizes = []

        def call(path=path, sizes=sizes):
            answer = client.get(path)
            answer.raise_for_status()
            sizes.append(len(answer.content))

        durations = timed(call, max(5, repeats // divisor), warmup=2)
        timing = Timing(what, path, statistics.median(durations), percentile(durations, 0.95),
                        _target(path), statistics.median(sizes) / 1024)
        on_timing(timing)
        timings.append(timing)
    return timings


def print_timing(timing: Timing) -> None:
    """One line: the figures beside their targets and the load as it was measured (also
    bench.pages's lines, whose timings carry the same fields)."""
    goal, p95 = timing.target_ms, timing.p95
    verdict = f"{goal:.0f} ms {'met' if p95 < goal else 'NOT met'}"
    size = timing.kb
    size_verdict = (f"{PAGE_TARGET_KB:.0f} kB {'met' if size < PAGE_TARGET_KB else 'NOT met'}"
                    if timing.page else "-")
    print(f"{timing.what:<52} {timing.p50:8.1f} {p95:8.1f}  {verdict:<18} {size:8.1f}  "
          f"{size_verdict:<16} {os.getloadavg()[0]:.1f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--repeats", type=int, default=40)
    args = parser.parse_args()
    url = sqlalchemy_url(args.database_url)
    plots, profile, codes, prefix = facts(url)
    if profile is None:
        print("no finished scoring run: the routes that rank by a score are left out "
              "(score a profile first: locations score run --profile logistics)")
    base, process = start_api(url)
    load = os.getloadavg()
    print(f"{plots:,} plots; profile {profile}; {args.repeats} requests per route after a "
          f"warm-up; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print(f"{'request':<52} {'p50 ms':>8} {'p95 ms':>8}  {'p95 target':<18} "
          f"{'size kB':>8}  {'size target':<16} load")
    try:
        with httpx.Client(base_url=base, timeout=120) as client:
            measure(client, profile, codes, prefix, args.repeats, print_timing)
    finally:
        process.terminate()
        process.wait()
    load = os.getloadavg()
    print(f"load average after: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")

if __name__ == "__main__":
    main()
