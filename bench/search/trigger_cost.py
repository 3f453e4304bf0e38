"""What the plot_proximity insert trigger adds to one bulk insert: the same INSERT with and without it.

Copies N existing plots (moved 300 km north, so nothing overlaps) in one
``INSERT ... SELECT`` statement, once with the trigger and once with it disabled,
each in a transaction that is rolled back, and prints both times.

    python -m bench.search.trigger_cost --database-url postgresql://...bench_search [--plots 1000000]
"""

from __future__ import annotations

import argparse
import time

from sqlalchemy import create_engine, text

INSERT = """
    INSERT INTO plot (zone_id, cadastral_ref, boundary, status, ownership, offer, price_eur_m2,
                      allowed_uses, readiness, brownfield, power_mw, available_from, last_verified)
    SELECT zone_id, cadastral_ref || '/copy', ST_Translate(boundary, 0, 300000), status, ownership,
           offer, price_eur_m2, allowed_uses, readiness, brownfield, power_mw, available_from,
           last_verified
    FROM plot ORDER BY id LIMIT :n
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--plots", type=int, default=1_000_000)
    args = parser.parse_args()
    url = args.database_url.replace("postgresql://", "postgresql+psycopg2://", 1)
    engine = create_engine(url)
    results = {}
    for label, disable in (("with the proximity trigger", False), ("without it", True)):
        with engine.connect() as conn:
            if disable:
                conn.execute(text("ALTER TABLE plot DISABLE TRIGGER plot_proximity_insert"))
            started = time.perf_counter()
            inserted = conn.execute(text(INSERT), {"n": args.plots}).rowcount
            results[label] = time.perf_counter() - started
            conn.rollback()  # also undoes the DISABLE
        print(f"INSERT of {inserted:,} plots {label}: {results[label]:.1f} s", flush=True)
    extra = results["with the proximity trigger"] - results["without it"]
    print(f"the trigger adds {extra:.1f} s, {extra / max(inserted, 1) * 1e6:.0f} µs per plot")


if __name__ == "__main__":
    main()
