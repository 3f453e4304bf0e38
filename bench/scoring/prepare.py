"""Create (or reuse) a benchmark database with N synthetic plots on the embedded cluster.

    python -m bench.scoring.prepare --plots 1000000 --database bench_scoring

When it loads the plots, it prints the database's part of the load (plots, distances,
audit trail, indexes, statistics) beside a bare load of the same plot rows into a scratch
table (COPY and a GiST index, as ogr2ogr does), their ratio against the target, and the
floor: the bare load followed by only what the plot table asks of every row (its validity
check and its indexes, built once).
"""

from __future__ import annotations

import argparse
import io
import time

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench.database import migrated_database, slowest_statements, time_statements
from bench.import_floor import TARGET_RATIO, floor_statements
from bench.synthetic import generate
from locations.db import database_url

#: The plot columns the synthetic loader writes by COPY.
PLOT_COLUMNS = ("zone_id, country, cadastral_ref, status, ownership, offer, price_eur_m2, "
                "allowed_uses, readiness, brownfield, power_mw, available_from, last_verified, "
                "owner_contact, internal_note, boundary")


def bare_load(engine) -> tuple[float, float]:
    """Seconds of a bare load of the database's plot rows (COPY into a scratch table with a
    GiST index, as ogr2ogr loads a file) and of the floor (that, then plot's check and
    indexes). The rows are read out first, untimed; the scratch table is dropped."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        rows = io.BytesIO()
        cursor.copy_expert(f"COPY (SELECT {PLOT_COLUMNS} FROM plot) TO STDOUT", rows)
        cursor.execute(f"CREATE TABLE bench_bare_plots AS SELECT {PLOT_COLUMNS} FROM plot "
                       "WITH NO DATA; ALTER TABLE bench_bare_plots ADD COLUMN id bigserial "
                       "PRIMARY KEY")
        raw.commit()
        started = time.perf_counter()
        rows.seek(0)
        cursor.copy_expert(f"COPY bench_bare_plots ({PLOT_COLUMNS}) FROM STDIN", rows)
        cursor.execute("CREATE INDEX ON bench_bare_plots USING gist (boundary)")
        raw.commit()
        bare = time.perf_counter() - started
        cursor.execute("SET maintenance_work_mem = '512MB'")
        for statement in floor_statements("bench_bare_plots", "id", zone="zone_id",
                                          key="country, cadastral_ref"):
            cursor.execute(statement)
        raw.commit()
        floor = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_bare_plots")
        raw.commit()
    finally:
        raw.close()
    return bare, floor


def prepare(database: str, n_plots: int, *, fresh: bool = False, compare: bool = True) -> str:
    """URL of ``database`` holding ``n_plots`` synthetic plots (built when missing or ``fresh``;
    then with ``compare``, timed beside a bare load of the same rows)."""
    url = make_url(database_url()).set(database=database).render_as_string(hide_password=False)
    engine = migrated_database(url, replace=fresh)
    with engine.connect() as conn:
        have = conn.execute(text("SELECT count(*) FROM plot")).scalar_one()
    if have != n_plots:
        if have:
            raise SystemExit(f"{database} holds {have} plots, not {n_plots}: use --fresh")
        timings: dict[str, float] = {}
        timed = time_statements(engine)
        started = time.perf_counter()
        counts = generate(engine, n_plots, timings=timings)
        print(f"loaded {counts} in {time.perf_counter() - started:.1f} s")
        print("steps: " + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in timings.items()))
        print("slowest statements:")
        for seconds, head in slowest_statements(timed):
            print(f"  {seconds:6.1f} s  {head}")
        if compare:
            load = sum(timings.get(step, 0) for step in
                       ("plots_copy", "distances", "history", "indexes", "analyze"))
            bare, floor = bare_load(engine)
            print(f"database load (plots, distances, trail, indexes, statistics) {load:.1f} s; "
                  f"bare load of the plot rows {bare:.1f} s: ratio {load / bare:.2f} "
                  f"(target {TARGET_RATIO:.2f}, floor {floor / bare:.2f}: {floor:.1f} s)")
    engine.dispose()
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--plots", type=int, default=1_000_000)
    parser.add_argument("--database", default="bench_scoring")
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument("--no-compare", action="store_true",
                        help="skip the bare load of the same rows timed beside the load")
    args = parser.parse_args()
    print(prepare(args.database, args.plots, fresh=args.fresh, compare=not args.no_compare))


if __name__ == "__main__":
    main()
