"""Scoring plots and zones against a location standard in PostGIS: runs, explanations, rankings.

A run is a few set-based statements over every plot of its scope: fill the kept
site metrics that are missing, score every plot in one ``INSERT ... SELECT``
(facts -> raw values -> 0-100 scores -> weighted total, gates, completeness),
then aggregate the zones. Distances come from ``plot_proximity`` (kept current
by triggers), so a run does no nearest-neighbour search of its own.

SQL is generated from the validated standard: its numbers are bound as
parameters; only the names of measures and columns known to this module are
written into the text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, text

from locations import current_scores, regions
from locations.accounts import Account, authorise
from locations.errors import InvalidInput, NotFound
from locations.standard import (
    DEFAULT_STANDARD,
    MEASURES,
    CategoriesRule,
    LinearRule,
    PlateauRule,
    Standard,
    TargetRule,
    find_standard,
    parse_standard,
)
from locations.vocabulary import YARDSTICK_LEVEL

#: Progress callback: (steps done, steps in all, what happens now).
Progress = Callable[[int, int, str], None]

#: Days per month when freshness is counted in months (a Julian year over twelve).
DAYS_PER_MONTH = 365.25 / 12

#: Plots within this distance of a municipality's seat count its population as labour pool.
LABOUR_POOL_RADIUS_M = 30_000

#: Available plots closer than this (metres) count as one contiguous area for expansion room.
CONTIGUOUS_TOLERANCE_M = 1.0

#: Statements a run splits its plots into and runs side by side (one server process each).
SCORING_PARTS = 2


def _category_index(column: str, measure: str) -> str:
    # Categorical values are stored as their position in the measure's fixed value list.
    values = ", ".join(f"'{v}'" for v in MEASURES[measure].values or ())
    return f"(array_position(ARRAY[{values}]::text[], {column}) - 1)"


#: How each measure is computed from the facts of a plot (``p``), its zone (``z``), its kept
#: distances (``pp``) and site metrics (``sm``), the region's prices (``rp``); zone-level
#: measures from the zone's plot areas (``zs``) and largest contiguous available area (``e``).
MEASURE_SQL: dict[str, str] = {
    "motorway_km": "pp.motorway_km",
    "rail_freight_km": "CASE WHEN z.rail_siding THEN 0 ELSE pp.rail_freight_km END",
    "airport_km": "pp.airport_km",
    "public_transport_km": "pp.public_transport_km",
    "power_mw": "coalesce(p.power_mw, z.power_mw)",
    "broadband": _category_index("z.broadband", "broadband"),
    "water": "z.water::int",
    "sewage": _category_index("z.sewage", "sewage"),
    "gas": "z.gas::int",
    "plot_area_ha": "p.area_m2 / 10000",
    "compactness": "sm.compactness",
    "expansion_ha": "coalesce(e.expansion_m2, 0) / 10000",
    "readiness": _category_index("p.readiness", "readiness"),
    "ownership": _category_index("p.ownership", "ownership"),
    "constraint_share": "CASE WHEN :has_constraint_data THEN sm.constraint_share END",
    "price_ratio": "CAST(p.price_eur_m2 AS float8) / rp.median_price",
    "labour_pool": "sm.labour_pool",
    "zone_occupancy": "zs.taken_m2 / nullif(zs.plot_m2, 0)",
    "zone_manager": (
        "(nullif(trim(z.manager_name), '') IS NOT NULL AND "
        "(nullif(trim(z.manager_email), '') IS NOT NULL "
        "OR nullif(trim(z.manager_phone), '') IS NOT NULL))::int"
    ),
    "months_since_verified": (
        "CAST(CAST(:as_of AS date) - coalesce(p.last_verified, z.last_verified) AS float8) / "
        f"{DAYS_PER_MONTH}"
    ),
    "marketing_items": (
        "((num_nonnulls(nullif(trim(z.description_en), ''), nullif(trim(z.description_sl), ''), "
        "nullif(trim(z.description_de), '')) >= 2)::int "
        "+ (nullif(trim(z.property_sheet_url), '') IS NOT NULL)::int)"
    ),
    "brownfield": "(p.brownfield OR z.brownfield)::int",
}

assert set(MEASURE_SQL) == set(MEASURES), "every measure needs its SQL"

# A statement's share of the run: the plots of the zones in ``:zone_ids`` (see _zone_parts).
_IN_PART = "p.zone_id = ANY(CAST(:zone_ids AS int[]))"

# Shape, constraint shares and labour pool of the plots in scope that have none kept yet.
_FILL_SITE_METRICS = f"""
INSERT INTO plot_site_metrics (plot_id, compactness, constraint_share, flood_high_share,
                               labour_pool)
SELECT p.id,
       4 * pi() * p.area_m2 / (ST_Perimeter(p.boundary) ^ 2),
       least(1, coalesce(ST_Area(c.covered), 0) / p.area_m2),
       least(1, coalesce(ST_Area(c.flooded), 0) / p.area_m2),
       labour.population
FROM plot p
LEFT JOIN LATERAL (
    -- A plot inside an area is covered whole; only plots on an edge need an intersection.
    SELECT ST_Union(piece) AS covered,
           ST_Union(piece) FILTER (WHERE ca.kind = 'flood_risk' AND ca.severity = 'high')
               AS flooded
    FROM constraint_area ca
    CROSS JOIN LATERAL (
        SELECT CASE WHEN ST_Covers(ca.boundary, p.boundary) THEN p.boundary
                    ELSE ST_Intersection(ca.boundary, p.boundary) END AS piece
    ) cut
    WHERE ST_Intersects(ca.boundary, p.boundary)
) c ON true
LEFT JOIN LATERAL (
    SELECT sum(m.population) AS population FROM municipality m
    WHERE m.population IS NOT NULL AND ST_DWithin(m.seat, p.boundary, {LABOUR_POOL_RADIUS_M})
) labour ON true
WHERE p.retired_at IS NULL AND {_IN_PART}
  AND NOT EXISTS (SELECT 1 FROM plot_site_metrics s WHERE s.plot_id = p.id)
ON CONFLICT (plot_id) DO NOTHING
"""


@dataclass(frozen=True)
class RunSummary:
    """What a finished run did."""

    run_id: int
    profile: str
    standard: str
    version: str
    region: str | None
    plots: int
    zones: int
    passed: int
    seconds: float


def _rule_sql(
    rule: Any, measure: str, raw: str, key: str, params: dict[str, Any], target: float
) -> str:
    """SQL scoring ``raw`` 0-100 under ``rule``; NULL when raw is NULL (the caller makes it 0)."""
    if isinstance(rule, (LinearRule, TargetRule)):
        best = rule.best if isinstance(rule, LinearRule) else target
        params[f"{key}_best"], params[f"{key}_worst"] = best, rule.worst
        return (f"greatest(0, least(100, 100 * (CAST(:{key}_worst AS float8) - {raw}) "
                f"/ (CAST(:{key}_worst AS float8) - :{key}_best)))")
    if isinstance(rule, PlateauRule):
        params.update({f"{key}_zl": rule.zero_low, f"{key}_bl": rule.best_low,
                       f"{key}_bh": rule.best_high, f"{key}_zh": rule.zero_high})
        # A vertical edge (zero_low = best_low) means "0 below best_low": no division then.
        rising = ("0" if rule.best_low == rule.zero_low else
                  f"100 * ({raw} - :{key}_zl) / (CAST(:{key}_bl AS float8) - :{key}_zl)")
        falling = ("0" if rule.best_high == rule.zero_high else
                   f"100 * (CAST(:{key}_zh AS float8) - {raw}) / (:{key}_zh - :{key}_bh)")
        return (f"greatest(0, least(100, CASE WHEN {raw} < :{key}_bl THEN {rising} "
                f"WHEN {raw} > :{key}_bh THEN {falling} ELSE 100 END))")
    assert isinstance(rule, CategoriesRule)
    cases = []
    for index, value in enumerate(MEASURES[measure].values or ()):
        params[f"{key}_v{index}"] = rule.scores[value]
        cases.append(f"WHEN {index} THEN CAST(:{key}_v{index} AS float8)")
    return f"CASE round({raw})::int {' '.join(cases)} END"


def _plot_score_sql(
    standard: Standard, profile_id: str, order: list[str], params: dict[str, Any]
) -> str:
    """The one statement that scores every plot in scope and stores it under ``:run_id``.

    ``order`` is the run's criterion order, which the stored arrays follow. Zone-level
    criteria (broadband, occupancy ...) are measured and scored once per zone, not per plot.
    """
    profile = standard.profile(profile_id)
    weights = standard.criterion_weights(profile_id)
    measures = {level: sorted({standard.criteria[c].measure for c in order
                               if MEASURES[standard.criteria[c].measure].level == level})
                for level in ("plot", "zone")}
    columns: dict[str, list[str]] = {"plot": [], "zone": []}
    contributions, backed, plot_columns = [], [], []
    for index, cid in enumerate(order):
        criterion = standard.criteria[cid]
        level = MEASURES[criterion.measure].level
        raw = f"f.{criterion.measure}"
        score = _rule_sql(criterion.rule, criterion.measure, raw, f"c{index}", params,
                          profile.target_plot_ha)
        # Explicitly 0 for missing data: least()/greatest() would skip a NULL and give 100.
        columns[level].append(f"CAST({raw} AS real) AS r{index}, CAST(CASE WHEN {raw} IS NULL "
                              f"THEN 0 ELSE coalesce({score}, 0) END AS real) AS s{index}")
        if level == "zone":
            plot_columns.append(f"zsc.r{index}, zsc.s{index}")
        params[f"w{index}"] = weights[cid]
        contributions.append(f"s.s{index} * CAST(:w{index} AS float8)")
        backed.append(f"CASE WHEN s.r{index} IS NOT NULL THEN CAST(:w{index} AS float8) ELSE 0 END")

    gate_conditions = []
    for index, gate in enumerate(standard.gates):
        params[f"g{index}_id"] = gate.id
        if gate.kind == "status":
            params[f"g{index}_allowed"] = list(gate.allowed or [])
            condition = f"p.status = ANY(CAST(:g{index}_allowed AS text[]))"
        elif gate.kind == "zoning":
            params["profile_use"] = profile.use
            # A plot's own allowed uses override its zone's; none listed means the zone's.
            condition = ("CAST(:profile_use AS text) = ANY(CASE WHEN cardinality(p.allowed_uses) > 0 "
                         "THEN p.allowed_uses ELSE z.allowed_uses END)")
        else:
            params[f"g{index}_max"] = gate.max
            condition = f"coalesce(sm.{gate.measure}, 0) <= CAST(:g{index}_max AS float8)"
        gate_conditions.append((index, condition))

    def listed(items: list[str]) -> str:
        return "".join(f",\n           {item}" for item in items)

    gate_columns = listed([f"({cond}) AS gate{i}" for i, cond in gate_conditions])
    failed = ", ".join(f"CASE WHEN NOT s.gate{i} THEN CAST(:g{i}_id AS text) END"
                       for i, _ in gate_conditions)
    passed = " AND ".join(f"s.gate{i}" for i, _ in gate_conditions) or "true"
    raw_array = ", ".join(f"s.r{i}" for i in range(len(order)))
    score_array = ", ".join(f"s.s{i}" for i in range(len(order)))
    return f"""
WITH yardstick AS (
    -- Each municipality's yardstick region: its region at the yardstick level (NUTS-3),
    -- whatever level a run, an account or the municipality's own region is given at.
    SELECT m.id AS municipality_id, coalesce(mr.region_id, m.region_id) AS region_id
    FROM municipality m
    LEFT JOIN municipality_region mr ON mr.municipality_id = m.id AND mr.level = '{YARDSTICK_LEVEL}'
),
region_price AS (
    -- The median asking price of available plots, per yardstick region (the E1 yardstick).
    SELECT y.region_id,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY p.price_eur_m2) AS median_price
    FROM plot p
    JOIN zone z ON z.id = p.zone_id
    JOIN yardstick y ON y.municipality_id = z.municipality_id
    WHERE p.status = 'available' AND p.retired_at IS NULL AND p.price_eur_m2 IS NOT NULL
    GROUP BY y.region_id
),
zone_area AS (
    SELECT p.zone_id, sum(p.area_m2) AS plot_m2,
           coalesce(sum(p.area_m2) FILTER (WHERE p.status IN ('sold', 'occupied')), 0) AS taken_m2
    FROM plot p
    WHERE p.retired_at IS NULL AND {_IN_PART}
    GROUP BY p.zone_id
),
available_cluster AS (
    SELECT p.zone_id, p.area_m2,
           ST_ClusterDBSCAN(p.boundary, {CONTIGUOUS_TOLERANCE_M}, 1)
               OVER (PARTITION BY p.zone_id) AS cluster
    FROM plot p
    WHERE p.status = 'available' AND p.retired_at IS NULL
      AND {_IN_PART}
),
expansion AS (
    SELECT zone_id, max(cluster_m2) AS expansion_m2
    FROM (SELECT zone_id, cluster, sum(area_m2) AS cluster_m2
          FROM available_cluster GROUP BY zone_id, cluster) c
    GROUP BY zone_id
),
zone_scored AS MATERIALIZED (
    SELECT f.zone_id{listed(columns["zone"])}
    FROM (
        SELECT z.id AS zone_id{listed([f"{MEASURE_SQL[m]} AS {m}" for m in measures["zone"]])}
        FROM zone_area zs
        JOIN zone z ON z.id = zs.zone_id
        LEFT JOIN expansion e ON e.zone_id = zs.zone_id
    ) f
),
f AS (
    SELECT p.id AS plot_id, p.zone_id{listed([f"{MEASURE_SQL[m]} AS {m}" for m in measures["plot"]])}{gate_columns}
    FROM plot p
    JOIN zone z ON z.id = p.zone_id
    JOIN municipality m ON m.id = z.municipality_id
    LEFT JOIN plot_proximity pp ON pp.plot_id = p.id
    LEFT JOIN plot_site_metrics sm ON sm.plot_id = p.id
    JOIN yardstick y ON y.municipality_id = m.id
    LEFT JOIN region_price rp ON rp.region_id = y.region_id
    WHERE p.retired_at IS NULL AND {_IN_PART}
),
s AS (
    SELECT f.plot_id{listed([f"f.gate{i}" for i, _ in gate_conditions])}{listed(columns["plot"])}{listed(plot_columns)}
    FROM f JOIN zone_scored zsc ON zsc.zone_id = f.zone_id
)
INSERT INTO plot_score (run_id, plot_id, total, completeness, passed, gates_failed, raw, score)
SELECT :run_id, s.plot_id,
       greatest(0, least(100, ({' + '.join(contributions)}) / 100)),
       greatest(0, least(1, ({' + '.join(backed)}) / 100)),
       {passed},
       array_remove(ARRAY[{failed or 'NULL'}]::text[], NULL),
       ARRAY[{raw_array}]::real[],
       ARRAY[{score_array}]::real[]
FROM s
"""


def _zone_score_sql(
    standard: Standard, profile_id: str, order: list[str], params: dict[str, Any]
) -> str:
    """Aggregate the run's plot scores per zone, with the zone-level criteria."""
    weights = standard.criterion_weights(profile_id)
    zone_items = []
    for index, cid in enumerate(order):
        criterion = standard.criteria[cid]
        if MEASURES[criterion.measure].level != "zone":
            continue
        params[f"zc{index}"] = cid
        params[f"zw{index}"] = weights[cid]
        position = index + 1
        zone_items.append(
            f"jsonb_build_object('id', CAST(:zc{index} AS text), "
            f"'raw', ps.raw[{position}], 'score', ps.score[{position}], "
            f"'weight', CAST(:zw{index} AS float8))")
    criteria = f"jsonb_build_array({', '.join(zone_items)})"
    # Aggregate narrow rows only (no arrays in a sort); the zone-level criteria, the same
    # for every plot of a zone, are read from one plot per zone by key.
    return f"""
WITH per_plot AS MATERIALIZED (
    SELECT p.zone_id, ps.plot_id, ps.total, ps.passed, p.area_m2
    FROM plot_score ps
    JOIN plot p ON p.id = ps.plot_id
    WHERE ps.run_id = :run_id AND {_IN_PART}
),
totals AS (
    SELECT zone_id, count(*) AS plots, min(plot_id) AS some_plot,
           count(*) FILTER (WHERE passed) AS ranked,
           coalesce(sum(area_m2) FILTER (WHERE passed), 0) AS ranked_m2,
           max(total) FILTER (WHERE passed) AS best_total,
           sum(total * area_m2) FILTER (WHERE passed)
               / nullif(sum(area_m2) FILTER (WHERE passed), 0) AS mean_total,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY total) FILTER (WHERE passed)
               AS median_total,
           coalesce(array_agg(total ORDER BY total) FILTER (WHERE passed), '{{}}')
               AS passed_totals
    FROM per_plot GROUP BY zone_id
),
best AS (
    SELECT DISTINCT ON (zone_id) zone_id, plot_id
    FROM per_plot WHERE passed
    ORDER BY zone_id, total DESC, plot_id
)
INSERT INTO zone_score (run_id, zone_id, plot_count, available_plots, available_area_m2,
                        best_plot_id, best_total, mean_total, median_total, passed_totals,
                        criteria)
SELECT :run_id, t.zone_id, t.plots, t.ranked, t.ranked_m2, b.plot_id, t.best_total,
       t.mean_total, t.median_total, t.passed_totals, {criteria}
FROM totals t
LEFT JOIN best b ON b.zone_id = t.zone_id
JOIN plot_score ps ON ps.run_id = :run_id AND ps.plot_id = t.some_plot
"""


def register_standard(conn: Connection, standard: Standard) -> int:
    """The id of ``standard`` in the database, storing its full text on first use."""
    row = conn.execute(
        text("SELECT id FROM standard WHERE name = :n AND version = :v AND digest = :d"),
        {"n": standard.name, "v": standard.version, "d": standard.digest},
    ).first()
    if row:
        return row[0]
    return conn.execute(
        text("INSERT INTO standard (name, version, digest, document) "
             "VALUES (:n, :v, :d, CAST(:doc AS jsonb)) "
             "ON CONFLICT (name, version, digest) DO UPDATE SET name = EXCLUDED.name "
             "RETURNING id"),
        {"n": standard.name, "v": standard.version, "d": standard.digest,
         "doc": standard.model_dump_json()},
    ).scalar_one()


def start_run(
    engine: Engine,
    standard: Standard,
    profile: str,
    *,
    region: str | None = None,
    requested_by: str = "cli",
    as_of: dt.date | None = None,
    account: Account | None = None,
) -> int:
    """Record a new run (status ``running``) and return its id; :func:`execute_run` does the work.

    ``account`` is the caller over HTTP, checked against every region the run scores (a
    run without ``region`` scores, and sets the public ranking of, all of them); None is
    the command line's operator, who may score anything.

    Raises:
        InvalidInput: unknown profile or region.
        Forbidden: ``account`` may not score every region the run covers.
    """
    standard.profile(profile)
    weights = standard.criterion_weights(profile)
    with engine.begin() as conn:
        selection = regions.resolve_one(conn, region)
        region = selection.codes[0] if selection else None
        if account is not None:
            covered = regions.municipality_ids(conn, selection)
            if covered is None:
                covered = conn.execute(text("SELECT id FROM municipality")).scalars().all()
            authorise(account, "score", municipality_ids=covered,
                      what=f"region {region}" if region is not None else "all regions")
        standard_id = register_standard(conn, standard)
        return conn.execute(
            text("""
                INSERT INTO score_run (standard_id, profile, region_code, as_of, requested_by,
                                       criteria, weights)
                VALUES (:s, :p, :r, coalesce(CAST(:as_of AS date), current_date), :who,
                        CAST(:criteria AS text[]), CAST(:weights AS float8[]))
                RETURNING id
            """),
            {"s": standard_id, "p": profile, "r": region, "as_of": as_of, "who": requested_by,
             "criteria": standard.criterion_ids,
             "weights": [weights[c] for c in standard.criterion_ids]},
        ).scalar_one()


def _zone_parts(engine: Engine, region: str | None, parts: int) -> list[list[int]]:
    """The zones in scope split into ``parts`` lists of about equal plot counts."""
    with engine.connect() as conn:
        counts = conn.execute(text("""
            SELECT z.id, count(p.id) AS plots
            FROM zone z
            JOIN plot p ON p.zone_id = z.id AND p.retired_at IS NULL
            WHERE CAST(:region AS text) IS NULL
               OR EXISTS (SELECT 1 FROM zone_municipality zm
                          JOIN municipality_region mr ON mr.municipality_id = zm.municipality_id
                          JOIN region r ON r.id = mr.region_id
                          WHERE zm.zone_id = z.id AND r.code = :region)
            GROUP BY z.id ORDER BY plots DESC, z.id
        """), {"region": region}).all()
    split: list[list[int]] = [[] for _ in range(parts)]
    load = [0] * parts
    for zone_id, plots in counts:  # largest first, each to the lightest part
        lightest = load.index(min(load))
        split[lightest].append(zone_id)
        load[lightest] += plots
    return [zones for zones in split if zones] or [[]]


def _in_parts(engine: Engine, sql: str, params: dict[str, Any], zone_parts: list[list[int]]) -> int:
    """Run ``sql`` once per list of zones, the parts side by side; return the rows written.

    Each part is its own set-based statement on its own connection, so a run uses as
    many server processes (cores) as parts. Zone ids (not ``zone_id % n``) keep the
    planner's row estimates right.
    """

    def one(zone_ids: list[int]) -> int:
        with engine.begin() as conn:
            # JIT would spend 5-6 s compiling these wide statements (measured at 100k plots:
            # a 1 s statement took 7 s), more than it ever saves on them.
            conn.execute(text("SET LOCAL jit = off"))
            return conn.execute(text(sql), {**params, "zone_ids": zone_ids}).rowcount

    if len(zone_parts) == 1:
        return one(zone_parts[0])
    with ThreadPoolExecutor(max_workers=len(zone_parts)) as pool:
        return sum(pool.map(one, zone_parts))


def execute_run(
    engine: Engine, run_id: int, progress: Progress | None = None, *, parts: int = SCORING_PARTS
) -> RunSummary:
    """Score every plot and zone of the run's scope; the run ends ``finished`` or ``failed``.

    Plots are scored in ``parts`` statements side by side (by zone); their rows only
    count once the run is marked finished, and a failed run's rows are removed.

    Raises:
        NotFound: no such run.
    """
    report = progress or (lambda done, total, what: None)
    with engine.connect() as conn:
        run = conn.execute(
            text("SELECT r.profile, r.region_code, r.as_of, r.criteria, s.document "
                 "FROM score_run r JOIN standard s ON s.id = r.standard_id WHERE r.id = :id"),
            {"id": run_id},
        ).mappings().first()
    if run is None:
        raise NotFound(f"scoring run {run_id} does not exist")
    standard = parse_standard(run["document"], f"stored standard of run {run_id}")
    params: dict[str, Any] = {"run_id": run_id, "region": run["region_code"],
                              "as_of": run["as_of"]}
    started = dt.datetime.now()
    try:
        report(0, 4, "site metrics (shape, constraints, labour pool)")
        zone_parts = _zone_parts(engine, run["region_code"], parts)
        _in_parts(engine, _FILL_SITE_METRICS, {}, zone_parts)
        with engine.connect() as conn:
            params["has_constraint_data"] = conn.execute(
                text("SELECT EXISTS (SELECT 1 FROM constraint_area)")).scalar_one()
        report(1, 4, "plot scores")
        plots = _in_parts(
            engine, _plot_score_sql(standard, run["profile"], run["criteria"], params), params,
            zone_parts)
        with engine.begin() as conn:
            # The zone statement and later rankings must know this run's million rows exist,
            # or the planner picks nested loops over what it takes for an empty run.
            conn.execute(text("ANALYZE plot_score"))
        report(2, 4, "zone scores")
        zones = _in_parts(
            engine, _zone_score_sql(standard, run["profile"], run["criteria"], params), params,
            zone_parts)
        with engine.begin() as conn:
            report(3, 4, "finishing")
            passed = conn.execute(
                text("SELECT coalesce(sum(available_plots), 0) FROM zone_score WHERE run_id = :r"),
                {"r": run_id}).scalar_one()
            conn.execute(
                text("UPDATE score_run SET status = 'finished', finished_at = clock_timestamp(), "
                     "plot_count = :n, zone_count = :z WHERE id = :id"),
                {"n": plots, "z": zones, "id": run_id},
            )
            conn.execute(text("ANALYZE score_run, zone_score"))
        report(4, 4, "done")
    except Exception as exc:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM plot_score WHERE run_id = :id"), {"id": run_id})
            conn.execute(
                text("UPDATE score_run SET status = 'failed', finished_at = clock_timestamp(), "
                     "error = :e WHERE id = :id"),
                {"e": str(exc).splitlines()[0][:500], "id": run_id},
            )
        raise
    return RunSummary(
        run_id=run_id, profile=run["profile"], standard=standard.name, version=standard.version,
        region=run["region_code"], plots=plots, zones=zones, passed=passed,
        seconds=(dt.datetime.now() - started).total_seconds(),
    )


def run_scoring(
    engine: Engine,
    profile: str,
    *,
    standard: Standard | None = None,
    region: str | None = None,
    requested_by: str = "cli",
    as_of: dt.date | None = None,
    progress: Progress | None = None,
) -> RunSummary:
    """Start and execute a run in one go (default standard: the newest shipped one)."""
    standard = standard or find_standard(DEFAULT_STANDARD)
    run_id = start_run(engine, standard, profile, region=region, requested_by=requested_by,
                       as_of=as_of)
    return execute_run(engine, run_id, progress)


def get_run(conn: Connection, run_id: int) -> dict[str, Any]:
    """A run's record: standard, profile, scope, who, when, status, counts.

    Raises:
        NotFound: no such run.
    """
    row = conn.execute(
        text("""
            SELECT r.id, s.name AS standard, s.version, r.profile, r.region_code AS region,
                   r.as_of, r.requested_by, r.status, r.started_at, r.finished_at,
                   r.plot_count, r.zone_count, r.error
            FROM score_run r JOIN standard s ON s.id = r.standard_id WHERE r.id = :id
        """),
        {"id": run_id},
    ).mappings().first()
    if row is None:
        raise NotFound(f"scoring run {run_id} does not exist")
    return _plain(row)


def _plain(row: Any) -> dict[str, Any]:
    result = {}
    for key, value in dict(row).items():
        if isinstance(value, (dt.date, dt.datetime)):
            value = value.isoformat()
        result[key] = value
    return result


def _display_raw(measure: str, raw: float | None) -> Any:
    """A stored raw value as the user reads it: km as a number, a category by its name."""
    if raw is None:
        return None
    values = MEASURES[measure].values if measure in MEASURES else None
    if values:
        index = round(raw)
        if values == ("no", "yes"):
            return bool(index)
        if values == ("0", "1", "2"):
            return index
        return values[index] if 0 <= index < len(values) else None
    return round(float(raw), 4)


def _latest_run_for_plot(conn: Connection, plot_id: int, profile: str) -> int:
    if conn.execute(text("SELECT 1 FROM plot WHERE id = :id"), {"id": plot_id}).first() is None:
        raise NotFound(f"plot {plot_id} does not exist")
    found = current_scores.current_scores(conn, profile, [plot_id])
    if plot_id not in found:
        raise NotFound(f"plot {plot_id} has no score for profile {profile!r} yet: "
                       f"run 'locations score run --profile {profile}'")
    return found[plot_id][1]


def explain_plot(
    conn: Connection, plot_id: int, profile: str, run_id: int | None = None
) -> dict[str, Any]:
    """A plot's stored score with its full breakdown, read with the standard the run used.

    Raises:
        NotFound: no such plot, or no finished run scored it for ``profile``.
    """
    run_id = run_id if run_id is not None else _latest_run_for_plot(conn, plot_id, profile)
    row = conn.execute(
        text("""
            SELECT ps.total, ps.completeness, ps.passed, ps.gates_failed, ps.raw, ps.score,
                   r.id AS run_id, r.profile, r.criteria, r.weights, r.as_of, r.finished_at,
                   r.requested_by, s.document
            FROM plot_score ps
            JOIN score_run r ON r.id = ps.run_id
            JOIN standard s ON s.id = r.standard_id
            WHERE ps.plot_id = :p AND ps.run_id = :r
        """),
        {"p": plot_id, "r": run_id},
    ).mappings().first()
    if row is None:
        raise NotFound(f"run {run_id} holds no score for plot {plot_id}")
    standard = parse_standard(row["document"], f"stored standard of run {run_id}")
    criteria, missing = [], []
    for cid, weight, raw, score in zip(row["criteria"], row["weights"], row["raw"], row["score"]):
        criterion = standard.criteria[cid]
        if raw is None:
            missing.append(cid)
        criteria.append({
            "id": cid,
            "name": criterion.name,
            "group": criterion.group,
            "unit": criterion.unit,
            "raw": _display_raw(criterion.measure, raw),
            "score": round(float(score), 2),
            "weight": round(weight, 4),
            "contribution": round(float(score) * weight / 100, 4),
        })
    gates = [{"id": g.id, "name": g.name, "passed": g.id not in row["gates_failed"]}
             for g in standard.gates]
    return {
        "plot_id": plot_id,
        "total": round(float(row["total"]), 2),
        "profile": row["profile"],
        "standard": {"name": standard.name, "version": standard.version},
        "run": {"id": row["run_id"], "as_of": row["as_of"].isoformat(),
                "finished_at": row["finished_at"].isoformat(), "requested_by": row["requested_by"]},
        "criteria": criteria,
        "gates": gates,
        "passed": row["passed"],
        "completeness": round(float(row["completeness"]), 4),
        "missing": missing,
    }


def explain_zone(conn: Connection, zone_id: int, profile: str) -> dict[str, Any]:
    """A zone's score from the latest finished run of ``profile`` that covered it.

    Raises:
        NotFound: no such zone, or no run scored it.
    """
    if conn.execute(text("SELECT 1 FROM zone WHERE id = :id"), {"id": zone_id}).first() is None:
        raise NotFound(f"zone {zone_id} does not exist")
    row = conn.execute(
        text("""
            SELECT zs.*, r.profile, r.as_of, r.finished_at, s.name AS standard, s.version,
                   s.document
            FROM zone_score zs
            JOIN score_run r ON r.id = zs.run_id
            JOIN standard s ON s.id = r.standard_id
            WHERE zs.zone_id = :z AND r.profile = :profile AND r.status = 'finished'
            ORDER BY r.finished_at DESC, r.id DESC LIMIT 1
        """),
        {"z": zone_id, "profile": profile},
    ).mappings().first()
    if row is None:
        raise NotFound(f"zone {zone_id} has no score for profile {profile!r} yet: "
                       f"run 'locations score run --profile {profile}'")
    standard = parse_standard(row["document"], f"stored standard of run {row['run_id']}")
    zone_criteria = []
    for item in row["criteria"]:
        criterion = standard.criteria[item["id"]]
        zone_criteria.append({
            "id": item["id"], "name": criterion.name, "unit": criterion.unit,
            "raw": _display_raw(criterion.measure, item["raw"]),
            "score": None if item["score"] is None else round(item["score"], 2),
            "weight": round(item["weight"], 4),
        })
    return {
        "zone_id": zone_id,
        "profile": row["profile"],
        "standard": {"name": row["standard"], "version": row["version"]},
        "run": {"id": row["run_id"], "as_of": row["as_of"].isoformat(),
                "finished_at": row["finished_at"].isoformat()},
        "best_plot": None if row["best_plot_id"] is None else {
            "id": row["best_plot_id"], "score": round(row["best_total"], 2)},
        "mean_score": None if row["mean_total"] is None else round(row["mean_total"], 2),
        "plots_scored": row["plot_count"],
        "plots_ranked": row["available_plots"],
        "ranked_area_m2": round(row["available_area_m2"], 1),
        "criteria": zone_criteria,
    }


def parse_group_weights(value: str, standard: Standard) -> dict[str, float]:
    """``accessibility:50,infrastructure:30`` as group weights (unnamed groups weigh 0).

    Raises:
        InvalidInput: on ``weights``, naming what is wrong.
    """
    weights: dict[str, float] = {}
    for part in value.split(","):
        if not part.strip():
            continue
        group, sep, number = part.partition(":")
        group = group.strip()
        if not sep:
            raise InvalidInput("weights", f"{part.strip()!r} is not group:weight")
        if group not in standard.groups:
            raise InvalidInput("weights", f"unknown group {group!r}; known: "
                               f"{', '.join(standard.groups)}")
        try:
            weight = float(number)
        except ValueError:
            raise InvalidInput("weights", f"{number.strip()!r} for {group} is not a number") from None
        if not weight >= 0 or weight == float("inf"):
            raise InvalidInput("weights", f"the weight of {group} must be 0 or more")
        weights[group] = weight
    if not weights or sum(weights.values()) <= 0:
        raise InvalidInput("weights", "give at least one group a weight above 0")
    return weights


def _ranking_run(conn: Connection, profile: str) -> dict[str, Any]:
    """The newest finished run of ``profile`` (its standard is the one rankings speak for).

    ``run_ids`` (newest first) are the runs whose scores are current under that
    standard: the newest run of each scope (all regions, or one region), leaving
    out any older than the newest run over all regions.
    """
    row = conn.execute(
        text("""
            SELECT r.id, r.criteria, s.id AS standard_id, s.name, s.version, s.document
            FROM score_run r JOIN standard s ON s.id = r.standard_id
            WHERE r.profile = :p AND r.status = 'finished'
            ORDER BY r.finished_at DESC, r.id DESC LIMIT 1
        """),
        {"p": profile},
    ).mappings().first()
    if row is None:
        raise NotFound(f"no finished scoring run for profile {profile!r} yet: run "
                       f"'locations score run --profile {profile}' or POST /scores/runs")
    latest = conn.execute(
        text("""
            SELECT id, region_code FROM (
                SELECT DISTINCT ON (region_code) id, region_code, finished_at
                FROM score_run
                WHERE profile = :p AND status = 'finished' AND standard_id = :s
                ORDER BY region_code, finished_at DESC, id DESC
            ) newest
            ORDER BY finished_at DESC, id DESC
        """),
        {"p": profile, "s": row["standard_id"]},
    ).all()
    run_ids = []
    for run_id, region_code in latest:
        run_ids.append(run_id)
        if region_code is None:  # a run over all regions covers every plot: older runs are past
            break
    return {**dict(row), "run_ids": run_ids}


#: The runs whose scores are current for a profile, and their standard (the public name).
ranking_run = _ranking_run


# Plots ranked: current scores (runs listed newest first; a plot's newest score counts),
# passing the gates, still available. The run ids are given, so the planner sees them.
def _ranked(run_ids: list[int], join: str = "") -> str:
    superseded = "" if len(run_ids) == 1 else """
      AND NOT EXISTS (
          SELECT 1 FROM plot_score newer
          WHERE newer.plot_id = ps.plot_id
            AND newer.run_id = ANY((CAST(:run_ids AS bigint[]))[
                1:array_position(CAST(:run_ids AS bigint[]), ps.run_id) - 1]))"""
    return f"""
    FROM plot_score ps
    JOIN plot p ON p.id = ps.plot_id
    JOIN zone z ON z.id = p.zone_id
    JOIN municipality m ON m.id = z.municipality_id
    JOIN region rg ON rg.id = m.region_id{join}
    WHERE ps.run_id = ANY(CAST(:run_ids AS bigint[])){superseded}
      AND ps.passed AND p.status = 'available' AND p.retired_at IS NULL
      AND (CAST(:region_ids AS int[]) IS NULL
           OR {regions.municipalities_in("plot_municipality(p.zone_id, p.boundary)")})
"""


def _ranked_best_first(run_ids: list[int], params: dict[str, Any], columns: str) -> str:
    """The ranked plots of ``run_ids`` (newest first) with ``ps.total >= :floor``, as one
    branch per run, each walking its run's scores best first (``plot_score_rank_idx``)."""
    branches = []
    for index, run_id in enumerate(run_ids):
        newest, newer = current_scores.not_superseded("ps", run_ids, index, f"newer_{index}")
        params |= newer | {f"ranked_run_{index}": run_id}
        branches.append(f"""
            (SELECT {columns}
             FROM plot_score ps
             JOIN plot p ON p.id = ps.plot_id
             JOIN zone z ON z.id = p.zone_id
             JOIN municipality m ON m.id = z.municipality_id
             JOIN region rg ON rg.id = m.region_id
             WHERE ps.run_id = :ranked_run_{index}{newest} AND ps.total >= :floor
               AND ps.passed AND p.status = 'available' AND p.retired_at IS NULL
               AND (CAST(:region_ids AS int[]) IS NULL
                    OR {regions.municipalities_in("plot_municipality(p.zone_id, p.boundary)")})
             ORDER BY ps.total DESC, ps.plot_id DESC
             LIMIT :limit)""")
    return " UNION ALL ".join(branches)


def _best_ranked(conn: Connection, run_ids: list[int], params: dict[str, Any]) -> list[Any]:
    """The first ``:limit`` ranked plots by their score to two decimals, then id.

    Ordered as they are shown (two decimals, ties by id), the top cannot be read down an
    index of the exact totals; but it lies among the plots whose total is at least the
    lowest shown score of the best ``:limit`` by exact total (less a hundredth for the
    rounding), a few more rows found by the same walk.
    """
    params = {**params, "floor": -1.0}
    lowest, found = conn.execute(text(f"""
        SELECT min(round(CAST(total AS numeric), 2)), count(*) FROM (
            SELECT * FROM ({_ranked_best_first(run_ids, params, "ps.plot_id, ps.total")}) walked
            ORDER BY total DESC, plot_id DESC LIMIT :limit) best
    """), params).one()
    if found >= params["limit"]:
        params["floor"] = float(lowest) - 0.01
    columns = """p.id, round(CAST(ps.total AS numeric), 2)::float AS score,
                 round(CAST(ps.total AS numeric), 2)::float AS stored_score,
                 p.zone_id, z.name AS zone_name, m.name AS municipality_name,
                 rg.code AS region_code, round(p.area_m2::numeric, 1)::float AS area_m2"""
    # Each branch may stop at :limit rows only on the first walk; here it reads every
    # candidate above the floor (a few more than :limit).
    branches = _ranked_best_first(run_ids, params, columns).replace("LIMIT :limit)", ")")
    return list(conn.execute(text(f"""
        SELECT * FROM ({branches}) candidates ORDER BY score DESC, id LIMIT :limit
    """), params).mappings().all())


def rankings(
    conn: Connection,
    profile: str,
    *,
    region: str | None = None,
    limit: int = 50,
    weights: str | None = None,
) -> dict[str, Any]:
    """Available plots that pass the gates, best first; with ``weights`` a what-if, stored nowhere.

    A what-if recomputes each plot's total from its stored criterion scores with
    the given group weights (renormalised to 100).

    Raises:
        NotFound: no finished run for the profile.
        InvalidInput: bad weights.
    """
    selection = regions.resolve_one(conn, region)
    run = _ranking_run(conn, profile)
    standard = parse_standard(run["document"], f"stored standard of run {run['id']}")
    params: dict[str, Any] = {"run_ids": run["run_ids"], "limit": limit,
                              "region_ids": selection.id_list if selection else None}
    group_weights = None
    if weights:
        group_weights = parse_group_weights(weights, standard)
        per_criterion = standard.criterion_weights(profile, group_weights)
        params["weights"] = [per_criterion[c] for c in run["criteria"]]
        total = """(SELECT sum(s * w) FROM unnest(ps.score, CAST(:weights AS float8[])) AS u (s, w))
                   / 100"""
        rows = conn.execute(
            text(f"""
                SELECT p.id, round(CAST({total} AS numeric), 2)::float AS score,
                       round(CAST(ps.total AS numeric), 2)::float AS stored_score,
                       p.zone_id, z.name AS zone_name, m.name AS municipality_name,
                       rg.code AS region_code, round(p.area_m2::numeric, 1)::float AS area_m2
                {_ranked(run["run_ids"])}
                ORDER BY 2 DESC, p.id
                LIMIT :limit
            """),
            params,
        ).mappings().all()
    else:
        rows = _best_ranked(conn, run["run_ids"], params)
    profile_weights = standard.profile(profile).weights
    effective = group_weights or profile_weights
    weight_sum = sum(effective.values())
    return {
        "profile": profile,
        "standard": {"name": standard.name, "version": standard.version},
        "region": selection.codes[0] if selection else None,
        "what_if": group_weights is not None,
        "weights": {g: round(100 * effective.get(g, 0) / weight_sum, 4) for g in standard.groups},
        "plots": [dict(r) for r in rows],
    }


#: Score bands of the regional distribution.
BANDS = ((0, 20), (20, 40), (40, 60), (60, 80), (80, 100))


#: Each ranked plot in every compared region that holds the part of its zone it lies in.
_COMPARED_JOIN = """
    JOIN municipality_region mr
      ON mr.municipality_id = plot_municipality(p.zone_id, p.boundary)
     AND mr.region_id = ANY (CAST(:compared AS int[]))"""


def compare_regions(conn: Connection, profile: str,
                    codes: list[str] | None = None) -> dict[str, Any]:
    """Per region: distribution of ranked plots' scores, median, best, share of area above 60.

    ``codes`` are regions of any level, each covering everything below it (``AT22`` is all
    of Styria); by default every region of the yardstick level (NUTS-3) with municipalities.

    Raises:
        NotFound: no finished run for the profile.
        InvalidInput: an unknown region.
    """
    if codes:
        ids = regions.resolve(conn, codes).id_list
    else:
        # Every region of the yardstick level that holds municipalities.
        ids = conn.execute(text(
            "SELECT id FROM region r WHERE level = :level AND EXISTS "
            "(SELECT 1 FROM municipality_region mr WHERE mr.region_id = r.id) ORDER BY code"),
            {"level": YARDSTICK_LEVEL}).scalars().all()
    run = _ranking_run(conn, profile)
    bands = ",\n".join(
        f"count(*) FILTER (WHERE ps.total >= {low} AND ps.total "
        f"{'<=' if high == 100 else '<'} {high}) AS band_{low}" for low, high in BANDS)
    ranked = {
        row["region_id"]: row
        for row in conn.execute(
            text(f"""
                SELECT mr.region_id, count(*) AS plots,
                       percentile_cont(0.5) WITHIN GROUP (ORDER BY ps.total) AS median,
                       (array_agg(p.id ORDER BY ps.total DESC, p.id))[1] AS best_id,
                       max(ps.total) AS best,
                       coalesce(sum(p.area_m2) FILTER (WHERE ps.total > 60), 0) AS above_60_m2,
                       {bands}
                {_ranked(run["run_ids"], join=_COMPARED_JOIN)}
                GROUP BY mr.region_id
            """),
            {"run_ids": run["run_ids"], "region_ids": None, "compared": ids},
        ).mappings()
    }
    areas = conn.execute(
        text("""
            SELECT rg.id, rg.code, rg.name, rg.level,
                   coalesce(sum(p.area_m2) FILTER (WHERE p.status = 'available'
                                                     AND p.retired_at IS NULL), 0) AS area_m2
            FROM region rg
            LEFT JOIN municipality_region mr ON mr.region_id = rg.id
            LEFT JOIN zone_municipality zm ON zm.municipality_id = mr.municipality_id
            LEFT JOIN plot p ON p.zone_id = zm.zone_id
                 AND plot_municipality(p.zone_id, p.boundary) = mr.municipality_id
            WHERE rg.id = ANY (CAST(:compared AS int[]))
            GROUP BY rg.id, rg.code, rg.name, rg.level
        """), {"compared": ids}
    ).mappings().all()
    by_id = {row["id"]: row for row in areas}
    result = []
    for region_id in ids:
        region, row = by_id[region_id], ranked.get(region_id)
        area = region["area_m2"]
        result.append({
            "region": region["code"],
            "name": region["name"],
            "level": region["level"],
            "ranked_plots": row["plots"] if row else 0,
            "median": round(row["median"], 2) if row else None,
            "best": {"id": row["best_id"], "score": round(row["best"], 2)} if row else None,
            "distribution": [{"from": low, "to": high, "plots": row[f"band_{low}"] if row else 0}
                             for low, high in BANDS],
            "available_area_m2": round(area, 1),
            "share_of_available_area_above_60":
                round(row["above_60_m2"] / area, 4) if row and area else (0.0 if area else None),
        })
    return {
        "profile": profile,
        "standard": {"name": run["name"], "version": run["version"]},
        "regions": result,
    }

def score_distribution(conn: Connection, profile: str, region_ids: list[int]) -> dict[str, Any]:
    """The ranked plots of ``profile`` in the regions ``region_ids``, of any level (those passing the gates,
    which ask for an available plot, in the current runs): how many, their area, their median
    and best score and how many fall in each band of ``BANDS``, with the standard the scores
    are by. Read from the scores each run keeps per zone (``zone_score.passed_totals``), so
    no plot score is read: a plot sold since the run still counts until the next run.

    Raises:
        NotFound: no finished run for the profile.
    """
    run = _ranking_run(conn, profile)
    bands = ",\n".join(
        f"count(*) FILTER (WHERE total >= {low} AND total "
        f"{'<=' if high == 100 else '<'} {high}) AS band_{low}" for low, high in BANDS)
    row = conn.execute(
        text(f"""
            WITH current AS (
                -- Each zone's newest current run (runs listed newest first).
                SELECT DISTINCT ON (zs.zone_id) zs.passed_totals, zs.available_area_m2
                FROM zone_score zs
                JOIN zone z ON z.id = zs.zone_id
                WHERE zs.run_id = ANY(CAST(:run_ids AS bigint[]))
                  -- The zones of the regions' municipalities, at whatever level each is.
                  AND {regions.municipalities_in("z.municipality_id")}
                ORDER BY zs.zone_id, array_position(CAST(:run_ids AS bigint[]), zs.run_id)
            ), totals AS (
                SELECT unnest(passed_totals) AS total FROM current
            )
            SELECT count(*) AS plots,
                   (SELECT coalesce(sum(available_area_m2), 0) FROM current) AS area_m2,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY total) AS median,
                   max(total) AS best, {bands}
            FROM totals
        """),
        {"run_ids": run["run_ids"], "region_ids": region_ids},
    ).mappings().one()
    return {
        "profile": profile,
        "standard": {"name": run["name"], "version": run["version"]},
        "ranked_plots": row["plots"],
        "ranked_area_m2": round(float(row["area_m2"]), 1),
        "median": round(row["median"], 2) if row["median"] is not None else None,
        "best": round(row["best"], 2) if row["best"] is not None else None,
        "distribution": [{"from": low, "to": high, "plots": row[f"band_{low}"]}
                         for low, high in BANDS],
    }


def check_profile(conn: Connection, profile: str) -> None:
    """Refuse a profile that neither the default standard nor any stored run knows.

    Raises:
        InvalidInput: on ``profile``, listing the known ones.
    """
    known = set(find_standard(DEFAULT_STANDARD).profiles)
    if profile in known:
        return
    known |= set(conn.execute(text("SELECT DISTINCT profile FROM score_run")).scalars())
    if profile not in known:
        raise InvalidInput("profile", f"unknown profile {profile!r}; known: "
                           f"{', '.join(sorted(known))}")
