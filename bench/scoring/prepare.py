"""Create (or reuse) a benchmark database with N synthetic plots on the embedded cluster.

    python -m bench.scoring.prepare --plots 1000000 --database bench_scoring
"""

from __future__ import annotations

import argparse
import time

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench.database import migrated_database
from bench.synthetic import generate
from locations.db import database_url


def prepare(database: str, n_plots: int, *, fresh: bool = False) -> str:
    """URL of ``database`` holding ``n_plots`` synthetic plots (built when missing or ``fresh``)."""
    url = make_url(database_url()).set(database=database).render_as_string(hide_password=False)
    engine = migrated_database(url, replace=fresh)
    with engine.connect() as conn:
        have = conn.execute(text("SELECT count(*) FROM plot")).scalar_one()
    if have != n_plots:
        if have:
            raise SystemExit(f"{database} holds {have} plots, not {n_plots}: use --fresh")
        timings: dict[str, float] = {}
        started = time.perf_counter()
        counts = generate(engine, n_plots, timings=timings)
        print(f"loaded {counts} in {time.perf_counter() - started:.1f} s "
              f"(plots COPY incl. proximity triggers {timings.get('plots_copy', 0):.1f} s)")
    engine.dispose()
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--plots", type=int, default=1_000_000)
    parser.add_argument("--database", default="bench_scoring")
    parser.add_argument("--fresh", action="store_true")
    args = parser.parse_args()
    print(prepare(args.database, args.plots, fresh=args.fresh))


if __name__ == "__main__":
    main()
