"""Synthetic data for benchmarks: N plots in realistic zones around real towns, loaded by COPY.

Zones sit on a grid of free slots nearest to real towns of Gorenjska, Podravje
and Styria (so no two zones overlap), each a slightly rotated rectangle cut
into a grid of plots of varying width and depth with 4 m service strips
between them. Geometry is built vectorised with numpy/shapely and every table
is loaded with one COPY. The database must be migrated and empty. Each plot then gets an
audit trail from 2022 to the demo's reference date that ends in its current state
(``locations.demo_history``), so land-supply monitoring has years of events to read.

    python -m bench.synthetic --plots 1000000 --database-url postgresql://...
"""

from __future__ import annotations

import argparse
import io
import math
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import shapely
from pyproj import Transformer
from sqlalchemy import Connection, Engine, create_engine, text

from locations.demo_build import DEFAULT_REFERENCE_DATE
from locations.demo_history import write_history
from locations.demo_load import HISTORY_START
from locations.imports import bulk_rebuild
from locations.imports.workspace import close_workspace, open_workspace, work_table
from locations.vocabulary import (
    BROADBAND,
    CONSTRAINT_KIND,
    OFFER,
    OWNERSHIP,
    PLOT_STATUS,
    READINESS,
    SEVERITY,
    SEWAGE,
    USE,
    ZONE_KIND,
    ZONE_LIFECYCLE,
)

#: (name, region code, lat, lon, population) of the towns zones gather around.
TOWNS: list[tuple[str, str, float, float, int]] = [
    ("Kranj", "SI042", 46.2389, 14.3556, 57000),
    ("Škofja Loka", "SI042", 46.1655, 14.3063, 23500),
    ("Jesenice", "SI042", 46.4324, 14.0623, 21500),
    ("Radovljica", "SI042", 46.3444, 14.1744, 19000),
    ("Tržič", "SI042", 46.3636, 14.3105, 15000),
    ("Cerklje na Gorenjskem", "SI042", 46.2544, 14.4856, 7800),
    ("Žiri", "SI042", 46.0472, 14.1072, 4900),
    ("Kranjska Gora", "SI042", 46.4847, 13.7856, 5300),
    ("Maribor", "SI032", 46.5547, 15.6459, 113000),
    ("Ptuj", "SI032", 46.4201, 15.8702, 23500),
    ("Slovenska Bistrica", "SI032", 46.3931, 15.5735, 26000),
    ("Ormož", "SI032", 46.4114, 16.1544, 11800),
    ("Lenart", "SI032", 46.5761, 15.8311, 8500),
    ("Ruše", "SI032", 46.5394, 15.5156, 7200),
    ("Hoče-Slivnica", "SI032", 46.5000, 15.6470, 12000),
    ("Kidričevo", "SI032", 46.4036, 15.7911, 6600),
    ("Graz", "AT221", 47.0707, 15.4395, 300000),
    ("Werndorf", "AT221", 46.9242, 15.4908, 2400),
    ("Gratkorn", "AT221", 47.1333, 15.3500, 7900),
    ("Kalsdorf bei Graz", "AT221", 46.9667, 15.4833, 7000),
    ("Premstätten", "AT221", 46.9667, 15.4000, 6500),
    ("Liezen", "AT222", 47.5670, 14.2400, 8200),
    ("Schladming", "AT222", 47.3928, 13.6872, 6800),
    ("Rottenmann", "AT222", 47.5167, 14.3500, 5100),
    ("Leoben", "AT223", 47.3765, 15.0914, 24500),
    ("Kapfenberg", "AT223", 47.4446, 15.2933, 22500),
    ("Bruck an der Mur", "AT223", 47.4106, 15.2686, 16000),
    ("Mürzzuschlag", "AT223", 47.6078, 15.6731, 8300),
    ("Weiz", "AT224", 47.2167, 15.6167, 12000),
    ("Gleisdorf", "AT224", 47.1056, 15.7101, 11500),
    ("Hartberg", "AT224", 47.2833, 15.9667, 6800),
    ("Feldbach", "AT224", 46.9547, 15.8886, 13500),
    ("Fürstenfeld", "AT224", 47.0500, 16.0833, 8700),
    ("Leibnitz", "AT225", 46.7833, 15.5333, 12500),
    ("Deutschlandsberg", "AT225", 46.8153, 15.2222, 11900),
    ("Voitsberg", "AT225", 47.0444, 15.1500, 9300),
    ("Lebring-Sankt Margarethen", "AT225", 46.8522, 15.5383, 2100),
    ("Judenburg", "AT226", 47.1720, 14.6600, 9900),
    ("Knittelfeld", "AT226", 47.2150, 14.8294, 12700),
    ("Murau", "AT226", 47.1100, 14.1700, 3600),
    ("Zeltweg", "AT226", 47.1900, 14.7500, 7100),
]

REGIONS: dict[str, tuple[str, str]] = {
    "SI042": ("Gorenjska", "SI"), "SI032": ("Podravska", "SI"), "AT221": ("Graz", "AT"),
    "AT222": ("Liezen", "AT"), "AT223": ("Östliche Obersteiermark", "AT"),
    "AT224": ("Oststeiermark", "AT"), "AT225": ("West- und Südsteiermark", "AT"),
    "AT226": ("Westliche Obersteiermark", "AT"),
}
#: The levels above them, coarsest first (each adopts the regions its code begins: AT22 is
#: all of Styria), so a dashboard or comparison of a whole region can be timed.
PARENT_REGIONS: tuple[tuple[tuple[str, str, str], ...], ...] = (
    (("SI", "Slovenija", "SI"), ("AT", "Österreich", "AT")),
    (("SI0", "Slovenija", "SI"), ("AT2", "Südösterreich", "AT")),
    (("SI03", "Vzhodna Slovenija", "SI"), ("SI04", "Zahodna Slovenija", "SI"),
     ("AT22", "Steiermark", "AT")),
)

#: Real airports near the regions (lat, lon).
AIRPORTS = [("Ljubljana Jože Pučnik", 46.2237, 14.4576), ("Maribor Edvard Rusjan", 46.4799, 15.6861),
            ("Graz", 46.9911, 15.4396), ("Klagenfurt", 46.6425, 14.3377)]
#: Towns with a rail freight terminal.
FREIGHT_TOWNS = ("Kranj", "Jesenice", "Maribor", "Ptuj", "Werndorf", "Graz", "Leoben", "Kapfenberg",
                 "Knittelfeld", "Leibnitz", "Liezen")

STATUSES = PLOT_STATUS.codes
STATUS_SHARES = (0.40, 0.10, 0.07, 0.13, 0.25, 0.05)
USES = USE.codes
ZONE_KINDS = ZONE_KIND.codes

#: Rows per COPY chunk: big enough that each COPY statement's overhead is nothing, small
#: enough that the next chunk is formatted while the server takes in this one.
COPY_CHUNK = 100_000

#: Service strip left between neighbouring plots, metres.
STRIP_M = 4.0

_TO_LAEA = Transformer.from_crs(4326, 3035, always_xy=True)


def _choice(rng: np.random.Generator, values: tuple, shares: tuple | None, n: int) -> np.ndarray:
    return np.asarray(values, dtype=object)[rng.choice(len(values), size=n, p=shares)]


def _copy(cursor: Any, table: str, frame: pd.DataFrame) -> None:
    """``frame`` into ``table`` by COPY, in chunks written as CSV by Arrow in a worker thread
    while the server takes in the chunk before: the client's and the server's work overlap
    on two cores. pandas' ``to_csv`` formatted a million plot rows cell by cell in Python
    (59 s at load 8, more than the COPY itself); Arrow writes them in C++ (about 25x faster,
    the same values: text is quoted, a NULL an unquoted empty field, which COPY reads as
    NULL, and floats are written in their shortest exact form)."""
    columns = ", ".join(frame.columns)
    copy_sql = f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv)"
    starts = range(0, max(len(frame), 1), COPY_CHUNK)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="synthetic-csv") as worker:
        pending = worker.submit(_csv, frame, starts[0])
        for number in range(len(starts)):
            csv = pending.result()
            if number + 1 < len(starts):
                pending = worker.submit(_csv, frame, starts[number + 1])
            # One read of the whole chunk: psycopg2 sends it without the GIL, so the worker
            # formats the next one meanwhile.
            cursor.copy_expert(copy_sql, io.BytesIO(csv), size=max(len(csv), 1))


def _csv(frame: pd.DataFrame, start: int) -> bytes:
    """Rows ``start`` to ``start + COPY_CHUNK`` of ``frame`` as CSV for COPY."""
    chunk = pa.Table.from_pandas(frame.iloc[start:start + COPY_CHUNK], preserve_index=False)
    buffer = io.BytesIO()
    pa_csv.write_csv(chunk, buffer, pa_csv.WriteOptions(include_header=False))
    return buffer.getvalue()


def _pg_array(values: list[str]) -> str:
    return "{" + ",".join(values) + "}"


def _ewkb(geometries: np.ndarray) -> np.ndarray:
    return shapely.to_wkb(shapely.set_srid(geometries, 3035), hex=True, include_srid=True)


def _rotated_boxes(x0, y0, x1, y1, cx, cy, angle) -> np.ndarray:
    """Rectangles given in a zone's local frame, rotated by ``angle`` and moved to (cx, cy)."""
    xs = np.stack([x0, x1, x1, x0, x0], axis=1)
    ys = np.stack([y0, y0, y1, y1, y0], axis=1)
    cos, sin = np.cos(angle)[:, None], np.sin(angle)[:, None]
    gx = np.round(cx[:, None] + xs * cos - ys * sin, 2)
    gy = np.round(cy[:, None] + xs * sin + ys * cos, 2)
    rings = np.stack([gx, gy], axis=2)
    polygons = shapely.polygons(rings)
    return shapely.multipolygons(polygons, indices=np.arange(len(polygons)))


def _zone_count(n_plots: int) -> int:
    return int(max(1, min(n_plots, round(2.5 * math.sqrt(n_plots)))))


def generate(engine: Engine, n_plots: int, seed: int = 1,
             timings: dict[str, float] | None = None, *, history: bool = True) -> dict[str, int]:
    """Load ``n_plots`` plots with their regions, municipalities, zones and infrastructure,
    and (``history``) their audit trail of several years.

    ``timings``, when given, receives seconds per step (``plots_copy`` includes the
    plot triggers, among them the proximity refresh).

    Returns:
        Rows loaded per table.

    Raises:
        ValueError: the database already holds regions (it must be migrated and empty).
    """
    if n_plots < 1:
        raise ValueError("n_plots must be at least 1")
    rng = np.random.default_rng(seed)
    timings = timings if timings is not None else {}
    started = time.perf_counter()

    towns = pd.DataFrame(TOWNS, columns=["name", "region", "lat", "lon", "population"])
    towns["x"], towns["y"] = _TO_LAEA.transform(towns["lon"].to_numpy(), towns["lat"].to_numpy())

    # -- zones: how many plots each, their grid and cell sizes ------------------------------
    n_zones = _zone_count(n_plots)
    # Cell size varies by zone (small workshops to large logistics lots); zones with large
    # cells get fewer plots so that zones are of comparable extent and pack into slots.
    cell = np.clip(rng.lognormal(math.log(80), 0.4, n_zones), 25, 250)
    weights = rng.uniform(0.5, 1.5, n_zones) / cell**2
    per_zone = np.maximum(1, np.floor(weights / weights.sum() * n_plots)).astype(int)
    shortfall = n_plots - per_zone.sum()
    if shortfall > 0:
        per_zone[:shortfall] += 1
    while per_zone.sum() > n_plots:  # only when rounding up the minimum of 1 overshot
        per_zone[np.argmax(per_zone)] -= 1
    cols = np.ceil(np.sqrt(per_zone * rng.uniform(0.6, 1.6, n_zones))).astype(int)
    cols = np.clip(cols, 1, per_zone)
    rows = np.ceil(per_zone / cols).astype(int)
    angle = np.radians(rng.uniform(-15, 15, n_zones))

    col_width = np.repeat(cell, cols) * rng.uniform(0.6, 1.8, cols.sum())
    row_depth = np.repeat(cell, rows) * rng.uniform(0.7, 1.4, rows.sum())
    col_first = np.concatenate([[0], np.cumsum(cols)[:-1]])
    row_first = np.concatenate([[0], np.cumsum(rows)[:-1]])
    col_start = np.cumsum(col_width) - col_width
    col_start -= np.repeat(col_start[col_first], cols)
    row_start = np.cumsum(row_depth) - row_depth
    row_start -= np.repeat(row_start[row_first], rows)
    zone_w = np.add.reduceat(col_width, col_first)
    zone_h = np.add.reduceat(row_depth, row_first)

    # -- zone placement: free grid slots nearest to towns, big towns get more zones ----------
    slot = float(np.max(np.hypot(zone_w, zone_h))) + 400.0
    share = towns["population"].to_numpy() ** 0.5
    zone_town = rng.choice(len(towns), size=n_zones, p=share / share.sum())
    centre_x, centre_y = towns["x"].mean(), towns["y"].mean()
    side = math.ceil(math.sqrt(n_zones * 4 + len(towns) * 60)) + 60
    gx, gy = np.meshgrid(np.arange(side) - side / 2, np.arange(side) - side / 2)
    slot_x = centre_x + gx.ravel() * slot
    slot_y = centre_y + gy.ravel() * slot
    taken = np.zeros(slot_x.size, dtype=bool)
    order_by_town = {
        t: np.argsort(np.hypot(slot_x - towns.at[t, "x"], slot_y - towns.at[t, "y"]))
        for t in np.unique(zone_town)
    }
    cursor_by_town = dict.fromkeys(order_by_town, 0)
    zone_cx = np.empty(n_zones)
    zone_cy = np.empty(n_zones)
    for z, t in enumerate(zone_town):  # a few thousand zones: cheap, and keeps zones apart
        order = order_by_town[t]
        k = cursor_by_town[t]
        while taken[order[k]]:
            k += 1
        taken[order[k]] = True
        cursor_by_town[t] = k + 1
        zone_cx[z], zone_cy[z] = slot_x[order[k]], slot_y[order[k]]

    # -- plots: every cell of every zone's grid, row by row, up to the zone's count ----------
    zone_of_plot = np.repeat(np.arange(n_zones), per_zone)
    within = np.arange(n_plots) - np.repeat(np.cumsum(per_zone) - per_zone, per_zone)
    plot_col = within % cols[zone_of_plot]
    plot_row = within // cols[zone_of_plot]
    cx0 = col_start[col_first[zone_of_plot] + plot_col]
    cy0 = row_start[row_first[zone_of_plot] + plot_row]
    cw = col_width[col_first[zone_of_plot] + plot_col]
    ch = row_depth[row_first[zone_of_plot] + plot_row]
    half_w, half_h = zone_w[zone_of_plot] / 2, zone_h[zone_of_plot] / 2
    plot_geoms = _rotated_boxes(
        cx0 - half_w + STRIP_M / 2, cy0 - half_h + STRIP_M / 2,
        cx0 + cw - half_w - STRIP_M / 2, cy0 + ch - half_h - STRIP_M / 2,
        zone_cx[zone_of_plot], zone_cy[zone_of_plot], angle[zone_of_plot],
    )
    zone_geoms = _rotated_boxes(-zone_w / 2, -zone_h / 2, zone_w / 2, zone_h / 2,
                                zone_cx, zone_cy, angle)
    timings["geometry"] = time.perf_counter() - started

    with engine.begin() as conn:
        if conn.execute(text("SELECT count(*) FROM region")).scalar_one():
            raise ValueError("the database already holds data; generate needs a migrated, empty one")
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        step = time.perf_counter()
        counts = _load_places(cursor, rng, towns, zone_town, zone_geoms)
        counts["infrastructure"] = _load_infrastructure(cursor, rng, towns)
        counts["constraint_area"] = _load_constraints(cursor, rng, towns)
        raw.commit()
        timings["places"] = time.perf_counter() - step

        step = time.perf_counter()
        plots = _plot_facts(rng, zone_of_plot, zone_town, towns, within)
        plots["boundary"] = _ewkb(plot_geoms)
        timings["plot_rows"] = time.perf_counter() - step
    finally:
        raw.close()
    counts["plot"] = n_plots
    counts |= _load_plots(engine, plots, history=history, timings=timings)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        step = time.perf_counter()
        cursor.execute("ANALYZE")
        raw.commit()
        timings["analyze"] = time.perf_counter() - step
    finally:
        raw.close()
    timings["total"] = time.perf_counter() - started
    return counts


def _load_plots(engine: Engine, plots: pd.DataFrame, *, history: bool,
                timings: dict[str, float]) -> dict[str, int]:
    """The plots, their distances and (``history``) their audit trail, in one transaction by
    the import's first-load path (``locations.imports.bulk_rebuild``): secondary indexes and
    keys dropped and built once after the load, the distances filled on every core, the
    land-supply months counted once after the trail. Each plot brings its zone's country,
    which the plot table's statement trigger checks, instead of a query per row. A database
    already holding plots gets them the ordinary way: row by row, each trigger as it fires.
    """
    counts: dict[str, int] = {}
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL jit = off"))  # each statement here runs once
        conn.execute(text("SET LOCAL work_mem = '256MB'"))
        restore = bulk_rebuild.drop_for_bulk_load(conn, len(plots))
        conn.execute(text("SET LOCAL locations.plot_country_given = 'on'"))
        if restore:
            conn.execute(text("SET LOCAL locations.defer_proximity = 'on'"))
        step = time.perf_counter()
        if restore:
            _insert_placed(conn, plots)
        else:
            _copy(conn.connection.dbapi_connection.cursor(), "plot", plots)
        timings["plots_copy"] = time.perf_counter() - step
        if restore:
            step = time.perf_counter()
            conn.execute(text("SELECT plot_proximity_fill()"))
            conn.execute(text("SET LOCAL locations.defer_proximity = 'off'"))
            timings["distances"] = time.perf_counter() - step
        conn.execute(text("SET LOCAL locations.plot_country_given = 'off'"))
        if history:
            step = time.perf_counter()
            with bulk_rebuild.supply_kept_once(conn):
                counts["plot_event"] = write_history(conn, None, start=HISTORY_START,
                                                     end=DEFAULT_REFERENCE_DATE,
                                                     actor="synthetic history")
            timings["history"] = time.perf_counter() - step
        step = time.perf_counter()
        bulk_rebuild.restore_after_bulk_load(conn, restore)
        timings["indexes"] = time.perf_counter() - step
    return counts


def _insert_placed(conn: Connection, plots: pd.DataFrame) -> None:
    """A first load's plots with what plot's row triggers would derive one row at a time
    (area, web-mercator copy, municipality) derived set-based on every core beforehand, as
    the import does: the rows go by COPY to a staging table in a schema of the load's own
    (unlogged, so parallel workers read it), the derived values by a ``CREATE TABLE AS``
    that PostgreSQL runs in parallel (an ``INSERT`` it runs on one core), each plot's
    municipality from its zone where the zone decides alone (``zone_placement``) and by
    ``plot_municipality`` where its outline does. The plot ``INSERT`` then tells the row
    triggers so (``locations.plot_*_given``) and they are skipped; the statement triggers
    (zone summaries, the country check) run as for any insert. Each row takes the id the
    COPY would have given it: the sequence's next values in the frame's order."""
    schema = open_workspace(conn)
    try:
        conn.execute(text(
            f"CREATE {work_table(conn)} import_synthetic_plot AS "
            f"SELECT 0::bigint AS n, {', '.join(plots.columns)} FROM plot WITH NO DATA"))
        _copy(conn.connection.dbapi_connection.cursor(), "import_synthetic_plot",
              plots.reset_index(drop=True).rename_axis("n").reset_index())
        # Handing a million rows up from the workers is cheap beside deriving them.
        conn.execute(text("SET LOCAL parallel_tuple_cost = 0"))
        conn.execute(text(
            f"""
            CREATE {work_table(conn)} import_synthetic_derived AS
            SELECT s.n, ST_Area(s.boundary) AS area_m2,
                   ST_Transform(s.boundary, 3857) AS boundary_3857,
                   CASE WHEN zp.by_area THEN plot_municipality(s.zone_id, s.boundary)
                        ELSE zp.municipality_id END AS municipality_id
            FROM import_synthetic_plot s LEFT JOIN zone_placement zp ON zp.zone_id = s.zone_id
            """))
        conn.execute(text("RESET parallel_tuple_cost"))
        first = conn.execute(text("SELECT nextval('plot_id_seq')")).scalar_one()
        conn.execute(text("SELECT setval('plot_id_seq', :last)"),
                     {"last": first + len(plots) - 1})
        conn.execute(text("SET LOCAL locations.plot_geometry_given = 'on'"))
        conn.execute(text("SET LOCAL locations.plot_municipality_given = 'on'"))
        conn.execute(text(
            f"""
            INSERT INTO plot (id, {', '.join(plots.columns)}, area_m2, boundary_3857,
                              municipality_id)
            SELECT :first + s.n, {', '.join('s.' + c for c in plots.columns)},
                   d.area_m2, d.boundary_3857, d.municipality_id
            FROM import_synthetic_plot s JOIN import_synthetic_derived d ON d.n = s.n
            """), {"first": first})
        conn.execute(text("SET LOCAL locations.plot_geometry_given = 'off'"))
        conn.execute(text("SET LOCAL locations.plot_municipality_given = 'off'"))
    finally:
        close_workspace(conn, schema)


def _load_places(cursor: Any, rng: np.random.Generator, towns: pd.DataFrame,
                 zone_town: np.ndarray, zone_geoms: np.ndarray) -> dict[str, int]:
    regions = pd.DataFrame(
        [(i + 1, code, name, country) for i, (code, (name, country)) in enumerate(REGIONS.items())],
        columns=["id", "code", "name", "country"],
    )
    region_id = dict(zip(regions["code"], regions["id"]))
    _copy(cursor, "region", regions)

    municipalities = pd.DataFrame({
        "id": np.arange(1, len(towns) + 1),
        "code": [f"S{i + 1:03d}" for i in range(len(towns))],
        "name": towns["name"],
        "region_id": towns["region"].map(region_id),
        "country": towns["region"].str[:2],
        "population": towns["population"],
        "seat": _ewkb(shapely.points(towns["x"], towns["y"])),
    })
    _copy(cursor, "municipality", municipalities)

    n_zones = len(zone_town)
    zone_ids = np.arange(1, n_zones + 1)
    uses = [
        _pg_array(sorted(rng.choice(USES, size=rng.integers(1, 4), replace=False).tolist()))
        for _ in range(n_zones)
    ]
    verified_days = rng.integers(0, 3 * 365, n_zones)
    zones = pd.DataFrame({
        "id": zone_ids,
        "municipality_id": zone_town + 1,
        "name": [f"{towns.at[t, 'name']} Business Zone {z}" for z, t in zip(zone_ids, zone_town)],
        "kind": _choice(rng, ZONE_KINDS, (0.4, 0.2, 0.2, 0.1, 0.1), n_zones),
        "lifecycle": _choice(rng, ZONE_LIFECYCLE.codes, (0.1, 0.2, 0.7), n_zones),
        "allowed_uses": uses,
        "brownfield": rng.random(n_zones) < 0.1,
        "power_mw": np.round(rng.uniform(1, 40, n_zones), 1),
        "gas": rng.random(n_zones) < 0.7,
        "water": rng.random(n_zones) < 0.95,
        "sewage": _choice(rng, SEWAGE.codes, (0.8, 0.15, 0.05), n_zones),
        "broadband": _choice(rng, BROADBAND.codes, (0.05, 0.2, 0.35, 0.4), n_zones),
        "rail_siding": rng.random(n_zones) < 0.15,
        "district_heating": rng.random(n_zones) < 0.2,
        "manager_name": "Zone management",
        "manager_email": [f"zone{z}@example.org" for z in zone_ids],
        "boundary": _ewkb(zone_geoms),
        "last_verified": pd.Timestamp("2026-10-01") - pd.to_timedelta(verified_days, unit="D"),
    })
    zones["last_verified"] = zones["last_verified"].dt.date
    _copy(cursor, "zone", zones)

    # Outlines follow from the zones: a municipality hugs its zones, a region its municipalities.
    cursor.execute(
        """
        UPDATE municipality m SET boundary = ST_Multi(ST_Buffer(ST_ConvexHull(
            ST_Collect(z.boundary, m.seat)), 1000))
        FROM (SELECT municipality_id, ST_Collect(boundary) AS boundary FROM zone
              GROUP BY municipality_id) z
        WHERE z.municipality_id = m.id;
        UPDATE municipality SET boundary = ST_Multi(ST_Buffer(seat, 3000)) WHERE boundary IS NULL;
        UPDATE region r SET boundary = ST_Multi(ST_Buffer(u.boundary, 0))
        FROM (SELECT region_id, ST_Union(boundary) AS boundary FROM municipality
              GROUP BY region_id) u
        WHERE u.region_id = r.id;
        SELECT setval('region_id_seq', (SELECT max(id) FROM region));
        SELECT setval('municipality_id_seq', (SELECT max(id) FROM municipality));
        SELECT setval('zone_id_seq', (SELECT max(id) FROM zone));
        """
    )
    # One level per statement: a region finds its parent among those already stored.
    for level in PARENT_REGIONS:
        cursor.execute("INSERT INTO region (code, name, country) VALUES "
                       + ", ".join(["(%s, %s, %s)"] * len(level)),
                       [value for region in level for value in region])
    return {"region": len(regions) + sum(map(len, PARENT_REGIONS)), "municipality": len(towns),
            "zone": n_zones}


def _load_infrastructure(cursor: Any, rng: np.random.Generator, towns: pd.DataFrame) -> int:
    rows: list[tuple[str, str, float, float]] = []

    def near(t: int, low: float, high: float) -> tuple[float, float]:
        distance, bearing = rng.uniform(low, high), rng.uniform(0, 2 * math.pi)
        return (towns.at[t, "x"] + distance * math.cos(bearing),
                towns.at[t, "y"] + distance * math.sin(bearing))

    for t in range(len(towns)):
        name = towns.at[t, "name"]
        for k in range(int(rng.integers(1, 4))):
            rows.append(("motorway_junction", f"{name} junction {k + 1}", *near(t, 2000, 9000)))
        for k in range(int(rng.integers(1, 3))):
            rows.append(("rail_station", f"{name} station {k + 1}", *near(t, 0, 3000)))
        for k in range(int(rng.integers(4, 12))):
            rows.append(("bus_stop", f"{name} bus stop {k + 1}", *near(t, 0, 8000)))
        rows.append(("substation", f"{name} substation", *near(t, 1000, 6000)))
        rows.append(("broadband_node", f"{name} broadband node", *near(t, 0, 2000)))
        if name in FREIGHT_TOWNS:
            rows.append(("rail_freight_terminal", f"{name} freight terminal", *near(t, 1000, 5000)))
    for name, lat, lon in AIRPORTS:
        rows.append(("airport", name, *_TO_LAEA.transform(lon, lat)))
    frame = pd.DataFrame(rows, columns=["kind", "name", "x", "y"])
    frame["geom"] = _ewkb(shapely.points(frame["x"], frame["y"]))
    _copy(cursor, "infrastructure", frame[["kind", "name", "geom"]])
    return len(frame)


def _load_constraints(cursor: Any, rng: np.random.Generator, towns: pd.DataFrame) -> int:
    picks = rng.choice(len(towns), size=min(12, len(towns)), replace=False)
    kinds = CONSTRAINT_KIND.codes
    frame = pd.DataFrame({
        "kind": [kinds[i % 3] for i in range(len(picks))],
        "severity": _choice(rng, SEVERITY.codes, None, len(picks)),
        "name": [f"{towns.at[t, 'name']} {kinds[i % 3].replace('_', ' ')}" for i, t in enumerate(picks)],
        "boundary": _ewkb(shapely.multipolygons(
            shapely.buffer(shapely.points(towns.loc[picks, "x"] + rng.uniform(-4000, 4000, len(picks)),
                                          towns.loc[picks, "y"] + rng.uniform(-4000, 4000, len(picks))),
                           rng.uniform(500, 2500, len(picks))),
            indices=np.arange(len(picks)))),
    })
    _copy(cursor, "constraint_area", frame)
    return len(frame)


def _plot_facts(rng: np.random.Generator, zone_of_plot: np.ndarray, zone_town: np.ndarray,
                towns: pd.DataFrame, within: np.ndarray) -> pd.DataFrame:
    n = len(zone_of_plot)
    austrian = (towns["region"].str[:2].to_numpy() == "AT")[zone_town[zone_of_plot]]
    price = np.round(rng.lognormal(np.where(austrian, 4.4, 3.9), 0.35), 2)
    price = np.where(rng.random(n) < 0.1, np.nan, np.maximum(price, 1.0))
    # A plot's own uses: a subset of all uses, empty (the zone's apply) for a third of them.
    use_masks = rng.integers(0, 1 << len(USES), n)
    use_masks[rng.random(n) < 0.33] = 0
    use_literals = np.array(
        [_pg_array([u for b, u in enumerate(USES) if mask >> b & 1]) for mask in range(1 << len(USES))],
        dtype=object,
    )
    power = np.where(rng.random(n) < 0.6, np.nan, np.round(rng.uniform(0.1, 12, n), 1))
    verified = pd.Timestamp("2026-10-01") - pd.to_timedelta(rng.integers(0, 3 * 365, n), unit="D")
    available_from = pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 730, n), unit="D")
    frame = pd.DataFrame({
        "zone_id": zone_of_plot + 1,
        # The zone's country, which the plot table checks per statement (not looked up per row).
        "country": np.where(austrian, "AT", "SI"),
        "cadastral_ref": pd.Series(zone_of_plot + 1).astype(str).radd("S")
        + "/" + pd.Series(within + 1).astype(str),
        "status": _choice(rng, STATUSES, STATUS_SHARES, n),
        "ownership": _choice(rng, OWNERSHIP.codes, (0.45, 0.45, 0.10), n),
        "offer": _choice(rng, OFFER.codes, (0.5, 0.2, 0.3), n),
        "price_eur_m2": price,
        "allowed_uses": use_literals[use_masks],
        "readiness": _choice(rng, READINESS.codes, (0.3, 0.5, 0.2), n),
        "brownfield": rng.random(n) < 0.1,
        "power_mw": power,
        "available_from": np.where(rng.random(n) < 0.3, available_from.date, None),
        "last_verified": np.where(rng.random(n) < 0.05, None, verified.date),
        "owner_contact": np.where(rng.random(n) < 0.5, "owner@example.org", None),
        "internal_note": np.where(rng.random(n) < 0.2, "synthetic internal note", None),
    })
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plots", type=int, default=10_000, help="how many plots (default 10000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", required=True,
                        help="a migrated, empty database, e.g. postgresql://postgres@127.0.0.1:5432/x")
    args = parser.parse_args()
    url = args.database_url
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg2://" + url[len("postgresql://"):]
    engine = create_engine(url)
    timings: dict[str, float] = {}
    counts = generate(engine, args.plots, args.seed, timings=timings)
    print("loaded: " + ", ".join(f"{n} {table}" for table, n in counts.items()))
    print("seconds: " + ", ".join(f"{step} {s:.1f}" for step, s in timings.items()))


if __name__ == "__main__":
    main()
