"""Benchmark: exports of every plot to each format, as ``locations export plots -o FILE`` writes them.

    python bench/import/run.py --plots 1000000 --keep-database ...   # loads the plots first
    python bench/export/run.py [--database-url URL] [--formats gpkg,csv,geojson,xlsx]

Runs on the import benchmark's database (its plots stay after a run). Prints, per
format, the time to select the plots and to write the file, and the file's size.
XLSX is left out above Excel's row limit, which the export refuses.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.database import embedded_url
from locations import formats
from locations.imports.exports import select, write


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--formats", default="gpkg,csv,geojson,xlsx")
    args = parser.parse_args()
    engine = create_engine(args.database_url or embedded_url("bench_import"))
    with engine.connect() as conn:
        plots = conn.execute(text("SELECT count(*) FROM plot WHERE retired_at IS NULL")).scalar_one()
    print(f"plots: {plots:,}")
    print(f"{'format':8s} {'select':>8s} {'write':>8s} {'total':>8s} {'size':>9s}")
    with tempfile.TemporaryDirectory(prefix="bench-export-") as folder:
        for fmt in args.formats.split(","):
            if fmt == "xlsx" and plots >= formats.XLSX_MAX_ROWS:
                print(f"{fmt:8s} refused: more rows than an XLSX sheet holds")
                continue
            started = time.perf_counter()
            with engine.connect() as conn:
                frame = select(conn, "plots", {})
            selected = time.perf_counter()
            files = write(frame, Path(folder) / f"plots.{fmt}", "plots")
            done = time.perf_counter()
            size = sum(f.stat().st_size for f in files) / 1e6
            print(f"{fmt:8s} {selected - started:7.1f}s {done - selected:7.1f}s "
                  f"{done - started:7.1f}s {size:7.0f} MB")
            del frame


if __name__ == "__main__":
    main()
