"""Scoring plots and zones against a location standard in PostGIS: the runs.

A run is a few set-based statements over every plot of its scope: fill the kept
site metrics that are missing, score every plot in one ``INSERT ... SELECT``
(facts -> raw values -> 0-100 scores -> weighted total, gates, completeness)
into a new table of the run's own, which the same statement also aggregates per zone
(``zone_score``) and weighs into the group scores of the plots that pass the gates (a
table of their own, for rankings with weights of one's own); both tables are then
indexed and attached as the run's partitions of ``plot_score`` and
``plot_group_score``. Distances come from ``plot_proximity``
(kept current by triggers), so a run does no nearest-neighbour search of its own.

SQL is generated from the validated standard: its numbers are bound as
parameters; only the names of measures and columns known to this module are
written into the text. A stored score is read back by ``score_explanations`` (one plot's
or zone's breakdown) and ``rankings`` (the best plots and zones, regions compared).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, text

from locations import regions
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
from locations.vocabulary import STORAGE_SRID, YARDSTICK_LEVEL

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
# Run with sequential scans off: when plot_site_metrics is empty (or nearly) at planning,
# the planner answers NOT EXISTS by scanning the whole table once per plot, while the run's
# other part fills it side by side; at 1M plots that made a 13 s step take over 10 minutes
# (seen on a freshly loaded database and on TEMPLATE copies). Reading the primary key costs
# the same whatever the table holds. Nested loops are off too: when the table is full at
# planning the plots missing are taken for one, and the zones' figures below were then
# joined to each plot by aggregating every missing plot again (a part of 100k plots ran
# for over ten minutes); their joins are by hash or merge, whatever the estimate.
#
# The labour pool is settled per zone where it can be: a box around the zone's plots (grown
# by a metre, so that rounding cannot put a plot outside it) tells the seats no plot of the
# zone reaches (farther than the radius from the box), the seats every plot reaches (every
# corner of the box nearer than the radius less a metre, and a plot lies inside the box) and
# the few in between, which each plot tests itself. Each plot testing every seat took most
# of a cold run's site metrics (2.8 s of them at 100k plots). In the same way only the plots
# of zones whose box meets a constraint area look for the areas they touch. The sums and
# shares are those of testing every plot against every seat and area.
_FILL_SITE_METRICS = f"""
WITH missing AS MATERIALIZED (
    SELECT p.id, p.zone_id, p.area_m2, p.boundary
    FROM plot p
    WHERE p.retired_at IS NULL AND {_IN_PART}
      AND NOT EXISTS (SELECT 1 FROM plot_site_metrics s WHERE s.plot_id = p.id)
),
zone_reach AS (
    SELECT zb.zone_id,
           EXISTS (SELECT 1 FROM constraint_area ca WHERE ca.boundary && zb.box) AS constrained,
           sum(seat.population) FILTER (WHERE seat.reaches_all) AS all_population,
           array_agg(seat.seat) FILTER (WHERE NOT seat.reaches_all) AS edge_seats,
           array_agg(seat.population) FILTER (WHERE NOT seat.reaches_all) AS edge_populations
    FROM (
        SELECT zone_id,
               ST_Expand(ST_SetSRID(ST_Extent(boundary)::geometry, {STORAGE_SRID}), 1) AS box
        FROM missing GROUP BY zone_id
    ) zb
    -- A zone no seat reaches keeps its row (for ``constrained``) with NULL seats.
    LEFT JOIN LATERAL (
        SELECT m.seat, m.population,
               ST_MaxDistance(m.seat, zb.box) < {LABOUR_POOL_RADIUS_M - 1} AS reaches_all
        FROM municipality m
        WHERE m.population IS NOT NULL AND ST_DWithin(m.seat, zb.box, {LABOUR_POOL_RADIUS_M})
    ) seat ON true
    GROUP BY zb.zone_id, zb.box
)
INSERT INTO plot_site_metrics (plot_id, compactness, constraint_share, flood_high_share,
                               labour_pool)
SELECT p.id,
       4 * pi() * p.area_m2 / (ST_Perimeter(p.boundary) ^ 2),
       least(1, coalesce(ST_Area(c.covered), 0) / p.area_m2),
       least(1, coalesce(ST_Area(c.flooded), 0) / p.area_m2),
       -- No seat in reach is no labour pool (NULL), as a sum over no seats is.
       CASE WHEN zr.all_population IS NOT NULL OR edge.population IS NOT NULL
            THEN coalesce(zr.all_population, 0) + coalesce(edge.population, 0) END
FROM missing p
LEFT JOIN zone_reach zr ON zr.zone_id = p.zone_id
LEFT JOIN LATERAL (
    -- A plot inside an area is covered whole; only plots on an edge need an intersection.
    -- Pieces are joined in the areas' order, so that a refresh adds them up as a full run.
    SELECT ST_Union(piece ORDER BY ca.id) AS covered,
           ST_Union(piece ORDER BY ca.id)
               FILTER (WHERE ca.kind = 'flood_risk' AND ca.severity = 'high') AS flooded
    FROM constraint_area ca
    CROSS JOIN LATERAL (
        SELECT CASE WHEN ST_Covers(ca.boundary, p.boundary) THEN p.boundary
                    ELSE ST_Intersection(ca.boundary, p.boundary) END AS piece
    ) cut
    WHERE zr.constrained AND ST_Intersects(ca.boundary, p.boundary)
) c ON true
LEFT JOIN LATERAL (
    SELECT sum(e.population) AS population
    FROM unnest(zr.edge_seats, zr.edge_populations) AS e (seat, population)
    WHERE zr.edge_seats IS NOT NULL
      AND ST_DWithin(e.seat, p.boundary, {LABOUR_POOL_RADIUS_M})
) edge ON true
ON CONFLICT (plot_id) DO NOTHING
"""


# Whether any plot in scope lacks its kept site metrics, so that a warm run (every plot's
# metrics kept) skips the fill's statements. Plots and metrics are matched on their primary
# keys alone, which two index-only scans merge (20-60 ms at 100k plots), and only the plots
# found without metrics are read for their scope: the fill itself reads every plot of its
# part to find none missing (0.25 s of server time at 100k plots, twice that in wall time on
# a loaded machine). Run under the fill's settings (see above), for the same reason.
_SITE_METRICS_MISSING = f"""
WITH unmeasured AS MATERIALIZED (
    SELECT p.id FROM plot p
    WHERE NOT EXISTS (SELECT 1 FROM plot_site_metrics s WHERE s.plot_id = p.id)
)
SELECT EXISTS (
    SELECT 1 FROM unmeasured u JOIN plot p ON p.id = u.id
    WHERE p.retired_at IS NULL AND {_IN_PART}
)
"""

# Each municipality's yardstick region: its region at the yardstick level (NUTS-3),
# whatever level a run, an account or the municipality's own region is given at.
_YARDSTICK = f"""
    SELECT m.id AS municipality_id, coalesce(mr.region_id, m.region_id) AS region_id
    FROM municipality m
    LEFT JOIN municipality_region mr ON mr.municipality_id = m.id AND mr.level = '{YARDSTICK_LEVEL}'
"""

# The median asking price of available plots, per yardstick region (the E1 yardstick): over
# every region whatever the run's scope, so a regional run prices as a full one does.
_REGION_PRICES = f"""
WITH yardstick AS ({_YARDSTICK})
SELECT y.region_id,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY p.price_eur_m2) AS median_price
FROM plot p
JOIN zone z ON z.id = p.zone_id
JOIN yardstick y ON y.municipality_id = z.municipality_id
WHERE p.status = 'available' AND p.retired_at IS NULL AND p.price_eur_m2 IS NOT NULL
GROUP BY y.region_id
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
    standard: Standard, profile_id: str, order: list[str], params: dict[str, Any],
    table: str, groups_table: str,
) -> str:
    """The one statement that scores every plot in scope and stores it under ``:run_id``:
    each plot's scores in ``table`` (the run's own partition, see :func:`_run_partition`),
    the group scores of those that pass the gates in ``groups_table``
    (:func:`_group_partition`) and each zone's figures in ``zone_score``. It answers the
    plots and zones written.

    ``order`` is the run's criterion order, which the stored arrays follow. Zone-level
    criteria (broadband, occupancy ...) are measured and scored once per zone, not per plot.
    The group and zone figures are taken from the rows as they are written (each a real, as
    stored), not read back from the tables: reading the run's scores again, once for the
    group scores and once joined to the plots for the zones, was a fifth of a warm run at
    100k plots.
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

    failed = ", ".join(f"CASE WHEN NOT s.gate{i} THEN CAST(:g{i}_id AS text) END"
                       for i, _ in gate_conditions)
    passed = " AND ".join(f"s.gate{i}" for i, _ in gate_conditions) or "true"
    raw_array = ", ".join(f"s.r{i}" for i in range(len(order)))
    score_array = ", ".join(f"s.s{i}" for i in range(len(order)))
    groups = group_scores_sql(standard, profile_id, order, params, "ps.score")
    return f"""
WITH yardstick AS ({_YARDSTICK}),
region_price AS (
    -- Measured once per run (_REGION_PRICES) for every part, which share it.
    SELECT * FROM unnest(CAST(:price_regions AS int[]), CAST(:price_medians AS float8[]))
        AS rp (region_id, median_price)
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
s AS (
    -- Each step in a LATERAL fenced by OFFSET 0, so that it is computed once per plot: the
    -- planner would otherwise write a measure out again into every expression that reads it
    -- (a rule reads its raw value four times, the total and the array each read a score).
    SELECT p.id AS plot_id, p.zone_id AS plot_zone_id, p.area_m2 AS plot_area_m2, g.*,
           sc.*{listed(plot_columns)}
    FROM plot p
    JOIN zone z ON z.id = p.zone_id
    JOIN zone_scored zsc ON zsc.zone_id = p.zone_id
    LEFT JOIN plot_proximity pp ON pp.plot_id = p.id
    LEFT JOIN plot_site_metrics sm ON sm.plot_id = p.id
    JOIN yardstick y ON y.municipality_id = z.municipality_id
    LEFT JOIN region_price rp ON rp.region_id = y.region_id
    CROSS JOIN LATERAL (
        SELECT {", ".join([f"{MEASURE_SQL[m]} AS {m}" for m in measures["plot"]]) or "NULL AS nothing"}
        OFFSET 0
    ) f
    CROSS JOIN LATERAL (
        SELECT {", ".join([f"({cond}) AS gate{i}" for i, cond in gate_conditions]) or "NULL AS no_gate"}
        OFFSET 0
    ) g
    CROSS JOIN LATERAL (
        SELECT {", ".join(columns["plot"]) or "NULL AS no_score"}
        OFFSET 0
    ) sc
    WHERE p.retired_at IS NULL AND {_IN_PART}
),
scored AS MATERIALIZED (
    -- Each value cast to the type it is stored as, so that the zones' figures below are
    -- those of the stored rows.
    SELECT s.plot_id, s.plot_zone_id AS zone_id, s.plot_area_m2 AS area_m2,
           CAST(greatest(0, least(100, ({' + '.join(contributions)}) / 100)) AS real) AS total,
           CAST(greatest(0, least(1, ({' + '.join(backed)}) / 100)) AS real) AS completeness,
           {passed} AS passed,
           array_remove(ARRAY[{failed or 'NULL'}]::text[], NULL) AS gates_failed,
           ARRAY[{raw_array}]::real[] AS raw,
           ARRAY[{score_array}]::real[] AS score
    FROM s
),
plots_written AS (
    INSERT INTO {table} (run_id, plot_id, total, completeness, passed, gates_failed, raw, score)
    SELECT :run_id, plot_id, total, completeness, passed, gates_failed, raw, score FROM scored
),
group_rows AS MATERIALIZED (
    SELECT ps.plot_id, ps.zone_id, {groups} AS groups FROM scored ps WHERE ps.passed
),
groups_written AS (
    INSERT INTO {groups_table} (run_id, plot_id, zone_id, groups)
    SELECT :run_id, plot_id, zone_id, groups FROM group_rows
),
group_max_written AS (
    -- Each zone's highest score per group: what bounds its plots' what-if totals
    -- (locations.rankings).
    INSERT INTO zone_group_max (run_id, zone_id, plots, groups)
    SELECT :run_id, zone_id, count(*),
           ARRAY[{", ".join(f"max(groups[{i + 1}])" for i in range(len(group_order(standard))))}]::real[]
    FROM group_rows GROUP BY zone_id
),
{_zone_score_sql(standard, profile_id, order, params)}
SELECT (SELECT coalesce(sum(plot_count), 0) FROM zones_written) AS plots,
       (SELECT count(*) FROM zones_written) AS zones
"""


def _zone_score_sql(
    standard: Standard, profile_id: str, order: list[str], params: dict[str, Any]
) -> str:
    """The CTEs that aggregate the plots ``scored`` per zone, with the zone-level criteria
    of ``zone_scored``, into ``zone_score`` (``zones_written``: each zone's plot count)."""
    weights = standard.criterion_weights(profile_id)
    zone_items = []
    for index, cid in enumerate(order):
        criterion = standard.criteria[cid]
        if MEASURES[criterion.measure].level != "zone":
            continue
        params[f"zc{index}"] = cid
        params[f"zw{index}"] = weights[cid]
        zone_items.append(
            f"jsonb_build_object('id', CAST(:zc{index} AS text), "
            f"'raw', zsc.r{index}, 'score', zsc.s{index}, "
            f"'weight', CAST(:zw{index} AS float8))")
    criteria = f"jsonb_build_array({', '.join(zone_items)})"
    # Aggregate narrow rows only (no arrays in a sort); the zone-level criteria are those
    # measured once per zone (``zone_scored``), the values every plot of the zone stores:
    # reading them back from one plot per zone was one more pass over the scored plots and a
    # join. The plots written are counted from the zones', a pass fewer again.
    return f"""totals AS (
    SELECT zone_id, count(*) AS plots,
           count(*) FILTER (WHERE passed) AS ranked,
           coalesce(sum(area_m2) FILTER (WHERE passed), 0) AS ranked_m2,
           max(total) FILTER (WHERE passed) AS best_total,
           sum(total * area_m2) FILTER (WHERE passed)
               / nullif(sum(area_m2) FILTER (WHERE passed), 0) AS mean_total,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY total) FILTER (WHERE passed)
               AS median_total,
           coalesce(array_agg(total ORDER BY total) FILTER (WHERE passed), '{{}}')
               AS passed_totals
    FROM scored GROUP BY zone_id
),
best AS (
    SELECT DISTINCT ON (zone_id) zone_id, plot_id
    FROM scored WHERE passed
    ORDER BY zone_id, total DESC, plot_id
),
zones_written AS (
    INSERT INTO zone_score (run_id, zone_id, plot_count, available_plots, available_area_m2,
                            best_plot_id, best_total, mean_total, median_total, passed_totals,
                            criteria)
    SELECT :run_id, t.zone_id, t.plots, t.ranked, t.ranked_m2, b.plot_id, t.best_total,
           t.mean_total, t.median_total, t.passed_totals, {criteria}
    FROM totals t
    LEFT JOIN best b ON b.zone_id = t.zone_id
    JOIN zone_scored zsc ON zsc.zone_id = t.zone_id
    RETURNING plot_count
)"""


def group_order(standard: Standard) -> list[str]:
    """The standard's groups in the order of a run's kept group scores (by name)."""
    return sorted(standard.groups)


def group_scores_sql(standard: Standard, profile_id: str, order: list[str],
                     params: dict[str, Any], scores: str = "ps.score") -> str:
    """SQL: the array of a plot's group scores (0-100, in :func:`group_order`) from its
    criterion scores ``scores`` (in the run's criterion order ``order``): each group's
    criteria weighed by their shares of the group under the profile."""
    shares = standard.criterion_shares(profile_id)
    items = []
    for group in group_order(standard):
        terms = []
        for index, cid in enumerate(order):
            if standard.criteria[cid].group == group and shares[cid]:
                params[f"share_{index}"] = shares[cid]
                terms.append(f"CAST({scores}[{index + 1}] AS float8) "
                             f"* CAST(:share_{index} AS float8)")
        items.append(" + ".join(terms) or "0")
    return f"ARRAY[{', '.join(items)}]::real[]"


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
    """The zones in scope split into ``parts`` lists of about equal plot counts.

    Every zone in scope is listed, whatever it holds: the counts kept in ``zone_summary``
    only weigh the parts (counting the plots took a pass over all of them, 0.1-0.3 s at
    100k plots), so a count gone stale could make the parts uneven but never leave a plot
    out.
    """
    with engine.connect() as conn:
        counts = conn.execute(text("""
            SELECT z.id, coalesce(zs.plot_count, 0) AS plots
            FROM zone z
            LEFT JOIN zone_summary zs ON zs.zone_id = z.id
            WHERE CAST(:region AS text) IS NULL
               OR EXISTS (SELECT 1 FROM zone_municipality zm
                          JOIN municipality_region mr ON mr.municipality_id = zm.municipality_id
                          JOIN region r ON r.id = mr.region_id
                          WHERE zm.zone_id = z.id AND r.code = :region)
            ORDER BY plots DESC, z.id
        """), {"region": region}).all()
    split: list[list[int]] = [[] for _ in range(parts)]
    load = [0] * parts
    for zone_id, plots in counts:  # largest first, each to the lightest part
        lightest = load.index(min(load))
        split[lightest].append(zone_id)
        load[lightest] += plots
    return [zones for zones in split if zones] or [[]]


def part_settings(probe_by_index: bool = False) -> tuple[str, ...]:
    """The planner settings a part of a run runs under (``SET LOCAL``)."""
    # JIT would spend 5-6 s compiling these wide statements (measured at 100k plots: a 1 s
    # statement took 7 s), more than it ever saves on them. Memoize would cache each plot's
    # scores by its measures, which no two plots share: every lookup a miss, a quarter of
    # the statement's time.
    settings = ("jit = off", "enable_memoize = off")
    # Filling site metrics: see _FILL_SITE_METRICS.
    fill = ("enable_seqscan = off", "enable_nestloop = off")
    return settings + fill if probe_by_index else settings


def _in_parts(engine: Engine, sql: str, params: dict[str, Any], zone_parts: list[list[int]],
              *, probe_by_index: bool = False) -> int:
    """Run ``sql`` once per list of zones, the parts side by side; return the rows written.

    Each part is its own set-based statement on its own connection, so a run uses as
    many server processes (cores) as parts. Zone ids (not ``zone_id % n``) keep the
    planner's row estimates right. ``probe_by_index``: see _FILL_SITE_METRICS.
    """

    def one(zone_ids: list[int]) -> int:
        with engine.begin() as conn:
            for setting in part_settings(probe_by_index):
                conn.execute(text(f"SET LOCAL {setting}"))
            return conn.execute(text(sql), {**params, "zone_ids": zone_ids}).rowcount

    if len(zone_parts) == 1:
        return one(zone_parts[0])
    with ThreadPoolExecutor(max_workers=len(zone_parts)) as pool:
        return sum(pool.map(one, zone_parts))


#: The statistics a finished run renews: of the columns that readers filter, join or sort
#: by. Every run adds its zones to zone_score, whose criteria (jsonb) and passed totals
#: (arrays) made most of the cost of analysing it whole, as the histogram's hundred counts a
#: row did of score_histogram (0.1-0.2 s of a warm run at 100k plots, growing with the runs
#: kept; 20-30 ms without them); no query compares them.
_ANALYZE_FINISHED = (
    "ANALYZE score_run, "
    "zone_score (run_id, zone_id, plot_count, available_plots, available_area_m2, "
    "best_plot_id, best_total, mean_total, median_total), score_summary, "
    "score_histogram (run_id, municipality_id, coarse, plots)"
)


def _site_metrics_missing(engine: Engine, zone_parts: list[list[int]]) -> bool:
    """Whether a plot of the zones in ``zone_parts`` has no site metrics kept yet."""
    with engine.begin() as conn:
        for setting in part_settings(probe_by_index=True):
            conn.execute(text(f"SET LOCAL {setting}"))
        return conn.execute(text(_SITE_METRICS_MISSING),
                            {"zone_ids": [zone for part in zone_parts for zone in part]}
                            ).scalar_one()


def _run_partition(run_id: int) -> str:
    """The name of the table holding run ``run_id``'s plot scores, a partition of plot_score."""
    return f"plot_score_run_{int(run_id)}"


def _group_partition(run_id: int) -> str:
    """The table of run ``run_id``'s kept group scores, a partition of plot_group_score: the
    group scores of the run's plots that pass the gates, narrow rows of their own, so that a
    ranking with group weights of one's own weighs a few numbers per plot instead of reading
    every plot's criterion scores (``rankings``)."""
    return f"plot_score_run_{int(run_id)}_groups"


def _attach_partitions(engine: Engine, run_id: int) -> None:
    """Index the run's plot and group scores as their tables' partitions are indexed, and
    attach them.

    Each index is built once by sorting the rows written (side by side), instead of
    taking a million rows one at a time in random order; attached, they become the
    partitions' part of ``plot_score_pkey``, ``plot_score_rank_idx``,
    ``plot_group_score_pkey`` and ``plot_group_score_zone_idx``. The checks on the run id
    spare ATTACH a scan of the rows to prove they belong to the run.
    """
    partition, groups = _run_partition(run_id), _group_partition(run_id)
    statements = [
        f"ALTER TABLE {partition} ADD CONSTRAINT {partition}_pkey PRIMARY KEY (run_id, plot_id)",
        (f"CREATE INDEX {partition}_rank_idx ON {partition} "
         "(run_id, total DESC, plot_id DESC) INCLUDE (passed)"),
        f"ALTER TABLE {groups} ADD CONSTRAINT {groups}_pkey PRIMARY KEY (run_id, plot_id)",
        f"CREATE INDEX {groups}_zone_idx ON {groups} (run_id, zone_id)",
    ]

    def one(statement: str) -> None:
        with engine.begin() as conn:
            conn.execute(text(statement))

    with ThreadPoolExecutor(max_workers=len(statements)) as pool:
        list(pool.map(one, statements))
    with engine.begin() as conn:
        for table, parent in ((partition, "plot_score"), (groups, "plot_group_score")):
            conn.execute(text(f"ALTER TABLE {table} ADD CONSTRAINT {table}_run "
                              f"CHECK (run_id = {int(run_id)})"))
            conn.execute(text(f"ALTER TABLE {parent} ATTACH PARTITION {table} "
                              f"FOR VALUES IN ({int(run_id)})"))
    # Later statements and rankings must know this run's million rows exist, or the planner
    # picks nested loops over what it takes for an empty run. Only the columns that searches
    # and rankings filter, join or sort by: the statistics of the arrays of raw values and
    # scores made most of its cost (0.7-0.9 s at 100k plots on the loaded machine, 0.3 s
    # without them) and no query asks them; the group scores are an array read, never
    # compared. Vacuumed in the same pass: the rankings and searches by score read the rank
    # index alone (index-only), which reads the table too until a vacuum marks its pages all
    # visible, and autovacuum would come within a minute anyway, throttled, over 10-15 s of
    # the first requests (at a million plots; in the run, about 0.4 s more than the analysis
    # alone: 1.8 s against 1.4 s for a million rows, once, under load 10). Both side by side.

    def settle(statement: str) -> None:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(statement))

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(settle, [f"VACUUM (ANALYZE) {partition} (run_id, plot_id, total, passed)",
                               f"VACUUM (ANALYZE) {groups} (run_id, plot_id, zone_id)"]))


def _score_in_parts(engine: Engine, sql: str, params: dict[str, Any],
                    zone_parts: list[list[int]]) -> tuple[int, int]:
    """Run the scoring statement (:func:`_plot_score_sql`) once per list of zones, the parts
    side by side as :func:`_in_parts`; return the plots and zones written."""

    def one(zone_ids: list[int]) -> tuple[int, int]:
        with engine.begin() as conn:
            for setting in part_settings():
                conn.execute(text(f"SET LOCAL {setting}"))
            plots, zones = conn.execute(text(sql), {**params, "zone_ids": zone_ids}).one()
            return plots, zones

    with ThreadPoolExecutor(max_workers=len(zone_parts)) as pool:
        counts = list(pool.map(one, zone_parts))
    return sum(plots for plots, _ in counts), sum(zones for _, zones in counts)


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

        def yardsticks() -> tuple[bool, list[Any]]:
            with engine.connect() as conn:
                return (conn.execute(text("SELECT EXISTS (SELECT 1 FROM constraint_area)"))
                        .scalar_one(), conn.execute(text(_REGION_PRICES)).all())

        # The region prices read every available plot and none of the site metrics: read
        # beside the fill instead of after it (a tenth of a warm run at 100k plots).
        with ThreadPoolExecutor(max_workers=1) as pool:
            read = pool.submit(yardsticks)
            if _site_metrics_missing(engine, zone_parts):
                _in_parts(engine, _FILL_SITE_METRICS, {}, zone_parts, probe_by_index=True)
            params["has_constraint_data"], prices = read.result()
        params["price_regions"] = [region_id for region_id, _ in prices]
        params["price_medians"] = [median for _, median in prices]
        report(1, 4, "plot, group and zone scores")
        partition, groups = _run_partition(run_id), _group_partition(run_id)
        with engine.begin() as conn:
            # Tables left by a run of the same id (ids restarted after emptying the tables)
            # hold no current run's scores.
            for table, parent in ((partition, "plot_score"), (groups, "plot_group_score")):
                conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
                conn.execute(text(f"CREATE TABLE {table} "
                                  f"(LIKE {parent} INCLUDING CONSTRAINTS INCLUDING DEFAULTS)"))
        plots, zones = _score_in_parts(
            engine,
            _plot_score_sql(standard, run["profile"], run["criteria"], params, partition,
                            groups),
            params, zone_parts)
        report(2, 4, "indexes and statistics")
        _attach_partitions(engine, run_id)
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
            # The profile's current scores changed: their kept figures for comparisons by
            # score are written afresh in the same transaction (0130).
            conn.execute(text("SELECT score_summary_fill(:p)"), {"p": run["profile"]})
            conn.execute(text(_ANALYZE_FINISHED))
        report(4, 4, "done")
    except Exception as exc:
        with engine.begin() as conn:
            conn.execute(text(f"DROP TABLE IF EXISTS {_group_partition(run_id)}"))
            conn.execute(text(f"DROP TABLE IF EXISTS {_run_partition(run_id)}"))
            conn.execute(text("DELETE FROM zone_score WHERE run_id = :id"), {"id": run_id})
            conn.execute(text("DELETE FROM zone_group_max WHERE run_id = :id"), {"id": run_id})
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
