"""Benchmark: the platform's plot import from a GeoPackage beside ogr2ogr loading the same file.

    python bench/import/run.py --plots 1000000 [--database-url URL] [--cadastral]

Builds (once, cached in bench/out/) a GeoPackage of N synthetic plots in the generic
layout, empties the plot table, then times ``ogr2ogr -f PostgreSQL`` (COPY, GiST index)
into a scratch table of the same database and the platform's import (read, COPY to
staging, validation in SQL, insert, audit events, triggers, distances) into
``plot``. Prints both times, their ratio and where the platform's time goes: its phases,
and within the load the time of each kind of statement, taken as the import runs.

It also prints a floor: ogr2ogr's load followed by only what the plot table itself asks of
any row put into it (its validity check and its indexes, built once, on ogr2ogr's narrower
table). No import that fills ``plot`` can take less, whatever it checks or records besides.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.database import embedded_url, migrated_database, slowest_statements, time_statements
from bench.import_floor import TARGET_RATIO, floor_statements
from bench.synthetic import generate
from locations.importer import import_file

EXPORT_SQL = """
    SELECT p.cadastral_ref, z.name AS zone, m.name AS municipality, p.status, p.ownership,
           p.offer, p.price_eur_m2::float8 AS price_eur_m2,
           array_to_string(p.allowed_uses, ';') AS allowed_uses, p.readiness, p.brownfield,
           p.power_mw, p.available_from::text AS available_from,
           p.last_verified::text AS last_verified, p.boundary
    FROM plot p JOIN zone z ON z.id = p.zone_id JOIN municipality m ON m.id = z.municipality_id
"""


def pg_dsn(url: str) -> str:
    parsed = make_url(url)
    parts = [f"host={parsed.host or '127.0.0.1'}", f"port={parsed.port or 5432}",
             f"dbname={parsed.database}", f"user={parsed.username or 'postgres'}"]
    if parsed.password:
        parts.append(f"password={parsed.password}")
    return "PG:" + " ".join(parts)


def prepare(url: str, n_plots: int, gpkg: Path) -> float:
    """A fresh migrated database with synthetic zones, and the plots written to ``gpkg``;
    returns the seconds the synthetic data took to generate and load."""
    engine = migrated_database(url)
    started = time.perf_counter()
    generate(engine, n_plots, history=False)  # the source of a file: its trail is not read
    generated = time.perf_counter() - started
    print(f"synthetic data: {n_plots:,} plots generated in {generated:.1f} s")
    if not gpkg.exists():
        gpkg.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["ogr2ogr", "-f", "GPKG", str(gpkg), pg_dsn(url), "-sql", EXPORT_SQL,
                        "-nln", "plots", "-a_srs", "EPSG:3035"], check=True)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE plot CASCADE"))
    engine.dispose()
    return generated


def without_zones(gpkg: Path) -> Path:
    """The plots of ``gpkg`` without zone and municipality (cached beside it)."""
    cadastral = gpkg.with_name(gpkg.stem + "-cadastral.gpkg")
    if not cadastral.exists():
        columns = ["cadastral_ref", "status", "ownership", "offer", "price_eur_m2",
                   "allowed_uses", "readiness", "brownfield", "power_mw", "available_from",
                   "last_verified", "boundary"]
        subprocess.run(["ogr2ogr", "-f", "GPKG", str(cadastral), str(gpkg), "-nln", "plots",
                        "-sql", f"SELECT {', '.join(columns)} FROM plots"], check=True)
    return cadastral


#: Kinds of statement in the load, by how they start (the first match counts).
LOAD_STATEMENTS = {
    "plots inserted (triggers)": ("CREATE UNLOGGED TABLE import_written", "WITH written AS"),
    "distances (proximity)": ("SELECT plot_proximity_refresh", "SELECT plot_proximity_fill"),
    "audit events": ("INSERT INTO plot_event", "CREATE UNLOGGED TABLE import_new_values",
                     "ALTER TABLE plot_event DISABLE", "ALTER TABLE plot_event ENABLE",
                     "SELECT zone_supply_rebuild"),
    # Keys added back; their drops, a few milliseconds, are not counted.
    "indexes and keys rebuilt": ("CREATE INDEX", "ALTER TABLE plot ADD", "ALTER TABLE plot_event ADD",
                                 "ALTER TABLE plot_proximity ADD", "ANALYZE plot"),
}


def _floor_seconds(engine, cadastral: bool) -> float:
    """Seconds to give ogr2ogr's table the plot table's check and indexes, in one transaction
    with the memory the platform's own index rebuild gets (a cadastral file has no zone
    column to index: its zones are found by the import)."""
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
        for statement in floor_statements("bench_ogr_plots", "fid", key="cadastral_ref",
                                          zone=None if cadastral else "zone"):
            conn.execute(text(statement))
    return time.perf_counter() - started


def _seconds_by_kind(timed: list[tuple[float, str]]) -> dict[str, float]:
    """Seconds per kind of load statement (``LOAD_STATEMENTS``) of the statements timed."""
    seconds = dict.fromkeys(LOAD_STATEMENTS, 0.0)
    for took, statement in timed:
        for kind, starts in LOAD_STATEMENTS.items():
            if statement.startswith(starts):
                seconds[kind] += took
                break
    return seconds


def measure(url: str, n_plots: int, *, cadastral: bool = False,
            keep_database: bool = False) -> dict:
    """Time ogr2ogr's load, its floor and the platform's import of ``n_plots`` plots into the
    database at ``url`` (dropped and made afresh unless ``keep_database``). Returns seconds:
    ``ogr2ogr``, ``floor``, ``platform``, ``generated`` (the synthetic data, None when kept),
    the import's ``phases``, its load's ``statements`` by kind and its ``slowest`` statements
    (seconds, first words), and the ``file``."""
    gpkg = ROOT / "bench" / "out" / f"plots-{n_plots}.gpkg"
    generated = None if keep_database else prepare(url, n_plots, gpkg)
    if cadastral:
        gpkg = without_zones(gpkg)
    # A kept database is brought up to date first: the import is measured on today's schema.
    engine = migrated_database(url, replace=False)

    # ogr2ogr: COPY into a new scratch table with its GiST index, as GDAL does by default.
    env = {**os.environ, "PG_USE_COPY": "YES"}
    started = time.perf_counter()
    subprocess.run(["ogr2ogr", "-f", "PostgreSQL", pg_dsn(url), str(gpkg), "-nln",
                    "bench_ogr_plots", "-overwrite", "-lco", "SPATIAL_INDEX=GIST",
                    "-lco", "GEOMETRY_NAME=boundary"], check=True, env=env)
    ogr_seconds = time.perf_counter() - started
    floor_seconds = ogr_seconds + _floor_seconds(engine, cadastral)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE bench_ogr_plots"))

    marks: dict[str, float] = {}
    started = time.perf_counter()

    def progress(phase: str, done: int, total: int) -> None:
        if done == 0 and phase not in marks:
            marks[phase] = time.perf_counter() - started
        elif done >= total:
            marks[phase + " end"] = time.perf_counter() - started

    timed = time_statements(engine)
    report = import_file(engine, "plots", gpkg, progress=progress)
    platform_seconds = time.perf_counter() - started
    assert report.created == n_plots and not report.problems, report.summary()
    engine.dispose()

    def span(phase: str) -> float:
        return marks.get(phase + " end", 0) - marks.get(phase, 0)

    phases = {"read file (GDAL, Arrow)": span("reading"),
              "field checks + COPY": marks.get("staging end", 0) - marks.get("reading end", 0),
              "validate in SQL": span("checking"),
              "load": span("loading")}
    return {"ogr2ogr": ogr_seconds, "floor": floor_seconds, "platform": platform_seconds,
            "generated": generated, "phases": phases, "file": gpkg,
            "statements": _seconds_by_kind(timed), "slowest": slowest_statements(timed)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plots", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--cadastral", action="store_true",
                        help="the same plots without their zone column, as a cadastral file "
                             "comes: each plot's zone is the one it lies in")
    parser.add_argument("--keep-database", action="store_true",
                        help="reuse the prepared database (its plot table must be empty)")
    args = parser.parse_args()
    url = args.database_url or embedded_url("bench_import")
    figures = measure(url, args.plots, cadastral=args.cadastral, keep_database=args.keep_database)
    gpkg, ogr_seconds, platform_seconds = figures["file"], figures["ogr2ogr"], figures["platform"]
    floor_seconds = figures["floor"]

    print(f"plots: {args.plots:,}   file: {gpkg.name} ({gpkg.stat().st_size / 1e6:.0f} MB)")
    print(f"ogr2ogr -f PostgreSQL (COPY, GiST):  {ogr_seconds:8.1f} s")
    print(f"platform import (validated, audited): {platform_seconds:8.1f} s")
    print(f"ratio platform / ogr2ogr:             {platform_seconds / ogr_seconds:8.2f}"
          f"   (target {TARGET_RATIO:.2f}, floor {floor_seconds / ogr_seconds:.2f})")
    print(f"floor: ogr2ogr + plot's check and indexes {floor_seconds:5.1f} s,"
          f" ratio {floor_seconds / ogr_seconds:.2f} before any import's own work")
    print("platform phases:")
    for phase, seconds in figures["phases"].items():
        print(f"  {phase:<25} {seconds:8.1f} s" + (", of which" if phase == "load" else ""))
    for kind, seconds in figures["statements"].items():
        print(f"    {kind:27s} {seconds:6.1f} s")
    print("slowest statements:")
    for seconds, head in figures["slowest"]:
        print(f"  {seconds:6.1f} s  {head}")


if __name__ == "__main__":
    main()
