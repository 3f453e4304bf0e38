"""Create (or reuse) a benchmark database with N synthetic plots on the embedded cluster.

    python -m bench.scoring.prepare --plots 1000000 --database bench_scoring
"""

from __future__ import annotations

import argparse
import time

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.synthetic import generate
from locations.db import database_url
from locations.migrate import migrate


def prepare(database: str, n_plots: int, *, fresh: bool = False) -> str:
    """URL of ``database`` holding ``n_plots`` synthetic plots (built when missing or ``fresh``)."""
    server = make_url(database_url())
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"),
                              {"d": database}).first()
        if exists and fresh:
            conn.execute(text(f'DROP DATABASE "{database}" WITH (FORCE)'))
            exists = None
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{database}"'))
    admin.dispose()
    url = server.set(database=database).render_as_string(hide_password=False)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    migrate(engine)
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
