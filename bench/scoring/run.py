"""Benchmark: one scoring run over N synthetic plots, cold and warm, and a geopandas comparison.

    python -m bench.scoring.run --plots 1000000 --database bench_scoring
    python -m bench.scoring.run --plots 100000 --database scoring_bench_100k --geopandas

Each figure is printed beside its target (20 s warm and 30 s cold at 1M plots, 10x
faster than geopandas) and the machine's load average.

Cold: the kept site metrics (shape, constraint shares, labour pool) are emptied
first, so the run computes them. Warm: a second run reuses them, as every run
after the first does until plots, constraint areas or municipalities change.
Distances come from ``plot_proximity``, kept by triggers since the data was
loaded; ``--proximity`` also times recomputing them for every plot.

With ``--geopandas`` the same criteria are computed the straightforward way
(read the tables with geopandas, nearest joins, overlays, group-bys, numpy),
the totals are compared with the stored ones, and the time ratio is printed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from bench.load.run import DatabaseCpu
from bench.scoring.prepare import prepare
from locations.rankings import compare_regions, rankings
from locations.scoring import DAYS_PER_MONTH, execute_run, start_run
from locations.search import PlotFilter, search_plots
from locations.standard import (
    DEFAULT_STANDARD,
    MEASURES,
    CategoriesRule,
    LinearRule,
    PlateauRule,
    Standard,
    TargetRule,
    find_standard,
)

#: Issue 26's targets for one profile at a million plots (seconds), and against geopandas.
WARM_TARGET_S = 20
COLD_TARGET_S = 30
GEOPANDAS_TARGET_X = 10


def _verdict(measured: float, limit: float) -> str:
    return "met" if measured <= limit else "NOT met"


def _local(url: str) -> bool:
    return make_url(url).host in (None, "", "localhost", "127.0.0.1", "::1")


def _load() -> str:
    """The machine's load average, printed beside each figure: the machine may be shared."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


def timed_run(engine: Engine, standard: Standard, profile: str, as_of: dt.date,
              server: DatabaseCpu | None = None) -> tuple[int, dict, dict]:
    """Run once; return the run id, seconds per phase and the database's CPU seconds per
    phase (empty when the database does not run on this machine)."""
    marks: list[tuple[float, str]] = []
    cpu_marks: list[float] = []

    def progress(done: int, total: int, what: str) -> None:
        marks.append((time.perf_counter(), what))
        if server is not None:
            cpu_marks.append(server.end())

    started = time.perf_counter()
    if server is not None:
        server.begin()
    run_id = start_run(engine, standard, profile, requested_by="bench", as_of=as_of)
    summary = execute_run(engine, run_id, progress)
    phases = {what: round(marks[i + 1][0] - at, 2) for i, (at, what) in enumerate(marks[:-1])}
    phases["total"] = round(time.perf_counter() - started, 2)
    phases["plots"] = summary.plots
    cpu = {what: round(cpu_marks[i + 1] - at, 2)
           for i, (at, (_, what)) in enumerate(zip(cpu_marks[:-1], marks[:-1]))}
    if cpu_marks:
        cpu["total"] = round(cpu_marks[-1], 2)
    return run_id, phases, cpu


def cold_and_warm(engine: Engine, standard: Standard, profile: str, as_of: dt.date,
                  server: DatabaseCpu | None = None) -> tuple[dict, tuple[int, dict]]:
    """A cold run (no scores, runs nor site metrics kept) then a warm one: the cold run's
    seconds per phase, and the warm run's id and seconds per phase; each with the load
    average as it ended (``load``) and, given ``server``, the database's CPU seconds per
    phase (``database CPU s``)."""
    with engine.begin() as conn:
        # Earlier benchmark runs would only weigh on the tables: start from none (a deleted
        # run drops its partition of plot_score).
        conn.execute(text("DELETE FROM score_run"))
        conn.execute(text("TRUNCATE plot_score, zone_score, plot_site_metrics"))
    runs = []
    for _ in range(2):
        run_id, phases, cpu = timed_run(engine, standard, profile, as_of, server)
        phases["load"] = _load()
        if cpu:
            phases["database CPU s"] = cpu
        runs.append((run_id, phases))
    return runs[0][1], runs[1]


def _score(values: pd.Series, rule, measure: str, target: float) -> np.ndarray:
    x = values.to_numpy(dtype=float)
    if isinstance(rule, (LinearRule, TargetRule)):
        best = rule.best if isinstance(rule, LinearRule) else target
        score = np.clip(100 * (rule.worst - x) / (rule.worst - best), 0, 100)
    elif isinstance(rule, PlateauRule):
        rising = (np.zeros_like(x) if rule.best_low == rule.zero_low else
                  100 * (x - rule.zero_low) / (rule.best_low - rule.zero_low))
        falling = (np.zeros_like(x) if rule.best_high == rule.zero_high else
                   100 * (rule.zero_high - x) / (rule.zero_high - rule.best_high))
        score = np.clip(np.where(x < rule.best_low, rising,
                                 np.where(x > rule.best_high, falling, 100)), 0, 100)
    else:
        assert isinstance(rule, CategoriesRule)
        lookup = np.array([rule.scores[v] for v in MEASURES[measure].values])
        index = np.nan_to_num(x, nan=0).round().astype(int)
        score = lookup[np.clip(index, 0, len(lookup) - 1)]
    return np.where(np.isnan(x), 0.0, score)


def _codes(series: pd.Series, measure: str) -> pd.Series:
    values = list(MEASURES[measure].values)
    return series.map(lambda v: values.index(v) if v in values else np.nan).astype(float)


def geopandas_scores(engine: Engine, standard: Standard, profile_id: str,
                     as_of: dt.date, kept_distances: bool = False) -> tuple[pd.Series, dict]:
    """Every plot's total computed with geopandas; returns totals by plot id and timings.

    ``kept_distances``: read each plot's distances from ``plot_proximity``, as a run does,
    instead of finding them with nearest joins (the like-for-like comparison with a run)."""
    timings: dict[str, float] = {}
    step = time.perf_counter()
    plots = gpd.read_postgis(
        """SELECT p.id, p.zone_id, p.status, p.price_eur_m2::float AS price, p.readiness,
                  p.ownership, p.power_mw AS plot_mw, p.brownfield AS plot_brownfield,
                  p.allowed_uses AS plot_uses, p.last_verified AS plot_verified, p.boundary,
                  z.power_mw AS zone_mw, z.broadband, z.water, z.sewage, z.gas, z.rail_siding,
                  z.brownfield AS zone_brownfield, z.allowed_uses AS zone_uses,
                  z.last_verified AS zone_verified, z.manager_name, z.manager_email,
                  z.manager_phone, z.description_en, z.description_sl, z.description_de,
                  z.property_sheet_url, m.region_id
           FROM plot p JOIN zone z ON z.id = p.zone_id
           JOIN municipality m ON m.id = z.municipality_id
           WHERE p.retired_at IS NULL""",
        engine, geom_col="boundary").set_index("id", drop=False)
    infrastructure = gpd.read_postgis("SELECT kind, geom FROM infrastructure", engine,
                                      geom_col="geom")
    constraints = gpd.read_postgis("SELECT kind, severity, boundary FROM constraint_area",
                                   engine, geom_col="boundary")
    seats = gpd.read_postgis("SELECT population, seat FROM municipality "
                             "WHERE seat IS NOT NULL AND population IS NOT NULL",
                             engine, geom_col="seat")
    timings["read"] = time.perf_counter() - step

    step = time.perf_counter()
    facts = pd.DataFrame(index=plots.index)
    outlines = plots[["boundary"]]
    if kept_distances:
        kept = pd.read_sql("SELECT plot_id, motorway_km, rail_freight_km, airport_km, "
                           "public_transport_km FROM plot_proximity", engine, index_col="plot_id")
        facts = facts.join(kept)
    for measure, kinds in () if kept_distances else (("motorway_km", ["motorway_junction"]),
                           ("rail_freight_km", ["rail_freight_terminal"]),
                           ("airport_km", ["airport"]),
                           ("public_transport_km", ["rail_station", "bus_stop"])):
        targets = infrastructure[infrastructure["kind"].isin(kinds)]
        if targets.empty:
            facts[measure] = np.nan
            continue
        nearest = gpd.sjoin_nearest(outlines, targets[["geom"]], distance_col="metres")
        facts[measure] = nearest.groupby(level=0)["metres"].min() / 1000
    facts.loc[plots["rail_siding"].fillna(False).astype(bool), "rail_freight_km"] = 0.0
    timings["nearest"] = time.perf_counter() - step

    step = time.perf_counter()
    area = plots.geometry.area
    facts["compactness"] = 4 * math.pi * area / plots.geometry.length ** 2
    if len(constraints):
        everything = shapely.union_all(constraints.geometry.values)
        flood = constraints[(constraints["kind"] == "flood_risk")
                            & (constraints["severity"] == "high")]
        flood_all = shapely.union_all(flood.geometry.values) if len(flood) else None
        geoms = plots.geometry.values
        shapely.prepare(everything)
        hit = shapely.intersects(everything, geoms)
        share = np.zeros(len(plots))
        share[hit] = shapely.area(shapely.intersection(geoms[hit], everything)) / area[hit]
        facts["constraint_share"] = np.minimum(share, 1)
        flood_share = np.zeros(len(plots))
        if flood_all is not None:
            shapely.prepare(flood_all)
            hit = shapely.intersects(flood_all, geoms)
            flood_share[hit] = shapely.area(shapely.intersection(geoms[hit], flood_all)) / area[hit]
        facts["flood_high_share"] = flood_share
    else:
        facts["constraint_share"] = np.nan
        facts["flood_high_share"] = 0.0
    timings["constraints"] = time.perf_counter() - step

    step = time.perf_counter()
    near = gpd.sjoin(outlines, seats, predicate="dwithin", distance=30_000)
    facts["labour_pool"] = near.groupby(level=0)["population"].sum()
    timings["labour_pool"] = time.perf_counter() - step

    step = time.perf_counter()
    available = plots["status"] == "available"
    median = plots[available & plots["price"].notna()].groupby("region_id")["price"].median()
    facts["price_ratio"] = plots["price"] / plots["region_id"].map(median)
    taken = plots["status"].isin(["sold", "occupied"])
    zone_area = area.groupby(plots["zone_id"]).sum()
    zone_taken = area[taken].groupby(plots["zone_id"][taken]).sum()
    facts["zone_occupancy"] = plots["zone_id"].map(
        zone_taken.reindex(zone_area.index, fill_value=0) / zone_area)
    # Contiguous available land: dissolve each zone's available plots grown by half the
    # tolerance, split into parts, and add up the plots whose centre lies in each part.
    free = plots[available]
    grown = gpd.GeoDataFrame({"zone_id": free["zone_id"].to_numpy()},
                             geometry=free.geometry.buffer(0.5).to_numpy(), crs=plots.crs)
    parts = grown.dissolve(by="zone_id").explode(index_parts=False).reset_index()
    centres = gpd.GeoDataFrame({"area": area[available].to_numpy(),
                                "zone_id": free["zone_id"].to_numpy()},
                               geometry=free.geometry.representative_point().to_numpy(),
                               crs=plots.crs)
    inside = gpd.sjoin(centres, parts[["zone_id", "geometry"]].rename_geometry("part"),
                       predicate="within")
    inside = inside[inside["zone_id_left"] == inside["zone_id_right"]]
    cluster_area = inside.groupby(["zone_id_left", "index_right"])["area"].sum()
    expansion = cluster_area.groupby(level=0).max()
    facts["expansion_ha"] = plots["zone_id"].map(expansion).fillna(0) / 10_000
    timings["zones"] = time.perf_counter() - step

    step = time.perf_counter()
    facts["power_mw"] = plots["plot_mw"].fillna(plots["zone_mw"])
    facts["plot_area_ha"] = area / 10_000
    for measure, column in (("broadband", "broadband"), ("sewage", "sewage"),
                            ("readiness", "readiness"), ("ownership", "ownership")):
        facts[measure] = _codes(plots[column], measure)
    for measure in ("water", "gas"):
        facts[measure] = plots[measure].map({True: 1.0, False: 0.0}).astype(float)

    def present(column: str) -> pd.Series:
        return plots[column].fillna("").str.strip() != ""

    facts["zone_manager"] = (present("manager_name")
                             & (present("manager_email") | present("manager_phone"))).astype(float)
    languages = present("description_en").astype(int) + present("description_sl") + present(
        "description_de")
    facts["marketing_items"] = ((languages >= 2).astype(int)
                                + present("property_sheet_url").astype(int)).astype(float)
    verified = pd.to_datetime(plots["plot_verified"].fillna(plots["zone_verified"]))
    facts["months_since_verified"] = (pd.Timestamp(as_of) - verified).dt.days / DAYS_PER_MONTH
    facts["brownfield"] = (plots["plot_brownfield"] | plots["zone_brownfield"]).astype(float)

    profile = standard.profile(profile_id)
    weights = standard.criterion_weights(profile_id)
    total = np.zeros(len(plots))
    for cid, criterion in standard.criteria.items():
        total += _score(facts[criterion.measure], criterion.rule, criterion.measure,
                        profile.target_plot_ha) * weights[cid] / 100
    timings["score"] = time.perf_counter() - step
    timings["total"] = sum(timings.values())
    return pd.Series(np.clip(total, 0, 100), index=plots.index), timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plots", type=int, default=1_000_000)
    parser.add_argument("--database", default="bench_scoring")
    parser.add_argument("--profile", default="logistics")
    parser.add_argument("--geopandas", action="store_true", help="compare with geopandas")
    parser.add_argument("--proximity", action="store_true",
                        help="also time recomputing every plot's distances")
    args = parser.parse_args()

    url = prepare(args.database, args.plots)
    # The server's own CPU per phase tells a run's cost apart from the load of a shared
    # machine (wall-clock seconds grow with every other process running).
    engine = create_engine(url, connect_args={"application_name": "bench-scoring"})
    server = DatabaseCpu(url, ("bench-scoring",)) if _local(url) else None
    standard = find_standard(DEFAULT_STANDARD)
    as_of = dt.date.today()
    print(f"{args.plots} plots in {args.database}, profile {args.profile}")
    if args.proximity:
        started = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(text("SELECT plot_proximity_refresh(NULL)"))
        print(f"  distances (KNN, 5 kinds, kept in plot_proximity): "
              f"{time.perf_counter() - started:.1f} s")
    cold, (warm_id, warm) = cold_and_warm(engine, standard, args.profile, as_of, server)
    for name, phases, target in (("cold run (computes kept site metrics)", cold, COLD_TARGET_S),
                                 ("warm run (site metrics kept)", warm, WARM_TARGET_S)):
        cpu = phases.pop("database CPU s", None)
        print(f"  {name}: {phases['total']:.1f} s, target {target} s "
              f"({_verdict(phases['total'], target)}); {phases.pop('load')}\n"
              f"    phases: {phases}" + (f"\n    database CPU s: {cpu}" if cpu else ""))
    with engine.connect() as conn:
        size = conn.execute(text("SELECT pg_size_pretty(sum(pg_total_relation_size(relid))) "
                                 "FROM pg_partition_tree('plot_score')"))
        print(f"  plot_score size after two runs: {size.scalar_one()}")
        for what, read in (
            ("rankings, top 50 of all regions", lambda: rankings(conn, args.profile, limit=50)),
            ("rankings, top 50 of SI042", lambda: rankings(conn, args.profile, region="SI042")),
            ("what-if rankings of SI042", lambda: rankings(
                conn, args.profile, region="SI042", weights="accessibility:50,site:50")),
            ("regions compared", lambda: compare_regions(conn, args.profile)),
            ("plot search sort=-score, first page", lambda: search_plots(
                conn, PlotFilter(sort="-score", profile=args.profile, limit=50))),
        ):
            started = time.perf_counter()
            read()
            print(f"  {what}: {time.perf_counter() - started:.2f} s")

    if args.geopandas:
        with engine.connect() as conn:
            stored = pd.read_sql(text("SELECT plot_id, total FROM plot_score WHERE run_id = :r"),
                                 conn, params={"r": warm_id}).set_index("plot_id")["total"]
        # Like for like: a run reads the distances kept in plot_proximity, so geopandas reads
        # them too; and the other way, geopandas finding them itself beside a run plus the
        # recomputation of every plot's distances.
        kept_totals, kept_timings = geopandas_scores(engine, standard, args.profile, as_of,
                                                     kept_distances=True)
        totals, timings = geopandas_scores(engine, standard, args.profile, as_of)
        for what, found, spent in (("geopandas", totals, timings),
                                   ("geopandas reading the kept distances", kept_totals,
                                    kept_timings)):
            difference = (found - stored.reindex(found.index)).abs()
            print(f"  {what}: {({k: round(v, 2) for k, v in spent.items()})}")
            print(f"    totals agree: max |difference| {difference.max():.4f}, "
                  f"{(difference < 0.01).mean():.2%} of plots within 0.01")
        started = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(text("SELECT plot_proximity_refresh(NULL)"))
        distances = time.perf_counter() - started
        print(f"  like for like: geopandas with the kept distances / run "
              f"{kept_timings['total'] / cold['total']:.1f}x cold, "
              f"{kept_timings['total'] / warm['total']:.1f}x warm; geopandas finding the "
              f"distances / run and every plot's distances recomputed ({distances:.1f} s) "
              f"{timings['total'] / (cold['total'] + distances):.1f}x cold, "
              f"{timings['total'] / (warm['total'] + distances):.1f}x warm")
        print(f"  geopandas / PostGIS: {timings['total'] / cold['total']:.1f}x the cold run, "
              f"{timings['total'] / warm['total']:.1f}x the warm run, target "
              f"{GEOPANDAS_TARGET_X}x ({_verdict(GEOPANDAS_TARGET_X, timings['total'] / cold['total'])} "
              f"cold, {_verdict(GEOPANDAS_TARGET_X, timings['total'] / warm['total'])} warm) "
              f"(geopandas without reading: {(timings['total'] - timings['read']):.1f} s); "
              f"{_load()}")


if __name__ == "__main__":
    main()
