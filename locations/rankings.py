"""Rankings of current scores: the best available plots and zones of a profile (with group
weights of one's own), regions compared, and the spread of scores in an area."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from locations import current_scores, regions
from locations.db import NO_PARALLEL_WORKERS
from locations.errors import InvalidInput, NotFound
from locations.scoring import group_order
from locations.standard import Standard, parse_standard
from locations.vocabulary import YARDSTICK_LEVEL


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
    out any older than the newest run over all regions. ``kept_run``: the run under
    which the figures kept for the profile's current runs are (``score_summary_run``,
    0130), when they are of exactly these runs (else None: readers compute from the
    scores), as :func:`current_scores.kept_summary_run` says. One statement: each read
    is a round trip.
    """
    row = conn.execute(
        text("""
            SELECT r.id, r.criteria, s.id AS standard_id, s.name, s.version,
                   md5(CAST(s.document AS text)) AS document_md5,
                   -- The document only when this process has not parsed it yet.
                   CASE WHEN md5(CAST(s.document AS text)) = ANY (CAST(:parsed AS text[]))
                        THEN NULL ELSE s.document END AS document,
                   latest.ids AS latest_ids, latest.region_codes AS latest_region_codes,
                   kept.run_id AS kept_run, kept.ranked_runs AS kept_ranked_runs
            FROM score_run r
            JOIN standard s ON s.id = r.standard_id
            LEFT JOIN score_summary_run kept ON kept.profile = :p
            CROSS JOIN LATERAL (
                SELECT array_agg(newest.id ORDER BY newest.finished_at DESC, newest.id DESC) AS ids,
                       array_agg(newest.region_code
                                 ORDER BY newest.finished_at DESC, newest.id DESC) AS region_codes
                FROM (
                    SELECT DISTINCT ON (region_code) id, region_code, finished_at
                    FROM score_run
                    WHERE profile = :p AND status = 'finished' AND standard_id = r.standard_id
                    ORDER BY region_code, finished_at DESC, id DESC
                ) newest
            ) latest
            WHERE r.profile = :p AND r.status = 'finished'
            ORDER BY r.finished_at DESC, r.id DESC LIMIT 1
        """),
        {"p": profile, "parsed": list(_parsed_standards)},
    ).mappings().first()
    if row is None:
        raise NotFound(f"no finished scoring run for profile {profile!r} yet: run "
                       f"'locations score run --profile {profile}' or POST /scores/runs")
    run = dict(row)
    run_ids = []
    for run_id, region_code in zip(run.pop("latest_ids"), run.pop("latest_region_codes")):
        run_ids.append(run_id)
        if region_code is None:  # a run over all regions covers every plot: older runs are past
            break
    if run.pop("kept_ranked_runs") != run_ids:
        run["kept_run"] = None
    return {**run, "run_ids": run_ids}


#: Parsed standard documents by the md5 of their stored text: a document never changes
#: under its text, so the parse holds for any run, in any database, that stores it.
_parsed_standards: dict[str, Standard] = {}

#: Few standards are ever stored; beyond this many, the cache starts afresh.
_PARSED_STANDARDS_MAX = 64


def run_standard(conn: Connection, run: dict[str, Any]) -> Standard:
    """The standard of ``run`` (from :func:`ranking_run`), parsed once per document.

    Raises:
        InvalidInput: the stored document is not a valid standard.
    """
    key = run["document_md5"]
    document = run["document"]
    if document is None:
        cached = _parsed_standards.get(key)
        if cached is not None:
            return cached
        # The cache started afresh since the run was read: read the document again.
        document = conn.execute(text("SELECT document FROM standard WHERE id = :id"),
                                {"id": run["standard_id"]}).scalar_one()
    standard = parse_standard(document, f"stored standard of run {run['id']}")
    if len(_parsed_standards) >= _PARSED_STANDARDS_MAX:
        _parsed_standards.clear()
    _parsed_standards[key] = standard
    return standard


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
           OR {regions.municipalities_in("p.municipality_id")})
"""


#: For the rankings' reads (a few thousand rows by index at most): starting parallel
#: workers, or compiling with JIT, costs more than the whole query.
_READ_SETTINGS = NO_PARALLEL_WORKERS + " SET LOCAL jit = off;"

#: For a read whose joins are written in the order they are best taken (a few rows found
#: first, then each row's others by key): the planner keeps that order instead of weighing
#: every other, which was half of such a statement's planning (0.3-1 ms of each /rankings
#: answer at a million plots) for the same plan.
WRITTEN_JOIN_ORDER = " SET LOCAL join_collapse_limit = 1;"


def _ranked_best_first(run_ids: list[int], params: dict[str, Any], columns: str,
                       places: bool = True) -> str:
    """The ranked plots of ``run_ids`` (newest first) with ``ps.total >= :floor``, as one
    branch per run, each walking its run's scores best first (``plot_score_rank_idx``).
    ``places``: join each plot's zone, municipality and region (``z``, ``m``, ``rg``) for
    ``columns``; every plot has them (keys NOT NULL), so leaving them out drops no plot."""
    joins = """
             JOIN zone z ON z.id = p.zone_id
             JOIN municipality m ON m.id = z.municipality_id
             JOIN region rg ON rg.id = m.region_id""" if places else ""
    branches = []
    for index, run_id in enumerate(run_ids):
        newest, newer = current_scores.not_superseded("ps", run_ids, index, f"newer_{index}")
        params |= newer | {f"ranked_run_{index}": run_id}
        branches.append(f"""
            (SELECT {columns}
             FROM plot_score ps
             JOIN plot p ON p.id = ps.plot_id{joins}
             WHERE ps.run_id = :ranked_run_{index}{newest} AND ps.total >= :floor
               AND ps.passed AND p.status = 'available' AND p.retired_at IS NULL
               AND (CAST(:region_ids AS int[]) IS NULL
                    OR {regions.municipalities_in("p.municipality_id")})
             ORDER BY ps.total DESC, ps.plot_id DESC
             LIMIT :limit)""")
    return " UNION ALL ".join(branches)


#: The columns of a ranked plot as the rankings show it (score rows ``ps``, plots ``p``...).
_RANKED_COLUMNS = """p.id, round(CAST(ps.total AS numeric), 2)::float AS score,
                 round(CAST(ps.total AS numeric), 2)::float AS stored_score,
                 p.zone_id, z.name AS zone_name, m.name AS municipality_name,
                 rg.code AS region_code, round(p.area_m2::numeric, 1)::float AS area_m2"""


def _walk_length(limit: int) -> int:
    """How many ranked plots :func:`_best_ranked` walks by exact total for a page of
    ``limit``: the page, and a margin for the plots within a hundredth below its lowest
    shown score (at a million plots 0-10 more for pages of 10-1,000)."""
    return limit + max(16, limit // 4)


def _best_ranked(conn: Connection, run_ids: list[int], params: dict[str, Any]) -> list[Any]:
    """The first ``:limit`` ranked plots by their score to two decimals, then id (see
    :func:`_walked_best`)."""
    walked = _walked_best(conn, run_ids, params)
    return walked if walked is not None else _best_ranked_above_floor(conn, run_ids, params)


def _walked_best(conn: Connection, run_ids: list[int], params: dict[str, Any]) -> list[Any] | None:
    """The first ``:limit`` ranked plots by their score to two decimals, then id, in one
    walk; None when the walk's margin did not reach every candidate.

    Ordered as they are shown (two decimals, ties by id), the top cannot be read down an
    index of the exact totals; but it lies among the plots whose total is at least the
    lowest shown score of the best ``:limit`` by exact total (less a hundredth for the
    rounding). One walk down the runs' rank index reads the best ``:limit`` and a margin
    more (:func:`_walk_length`): when the last plot walked lies below that floor, every
    candidate was walked and the page is theirs. Only when it does not (more plots within
    the hundredth than the margin) is None returned: the caller reads the candidates again
    above the known floor (:func:`_best_ranked_above_floor`), as every page was read before
    in two statements.
    """
    walk = {**params, "floor": -1.0, "walk": _walk_length(params["limit"])}
    branches = _ranked_best_first(run_ids, walk, "ps.plot_id, ps.total", places=False).replace(
        "LIMIT :limit)", "LIMIT :walk)")
    # The walked plots' other columns are read by key for the page's rows alone.
    rows = conn.execute(text(_READ_SETTINGS + WRITTEN_JOIN_ORDER + f"""
        WITH walked AS MATERIALIZED (
            SELECT plot_id, total,
                   row_number() OVER (ORDER BY total DESC, plot_id DESC) AS position
            FROM ({branches}) candidates
            ORDER BY total DESC, plot_id DESC LIMIT :walk
        ), shown AS (
            SELECT min(round(CAST(total AS numeric), 2)) FILTER (WHERE position <= :limit)
                       AS lowest,
                   count(*) AS walked, min(total) AS last
            FROM walked
        )
        SELECT {_RANKED_COLUMNS},
               -- Every candidate walked: the walk ran out, or went below the floor.
               shown.walked < :walk
               OR CAST(shown.last AS float8) < CAST(shown.lowest AS float8) - 0.01 AS complete
        FROM walked ps
        CROSS JOIN shown
        JOIN plot p ON p.id = ps.plot_id
        JOIN zone z ON z.id = p.zone_id
        JOIN municipality m ON m.id = z.municipality_id
        JOIN region rg ON rg.id = m.region_id
        WHERE shown.walked < :limit
           OR CAST(ps.total AS float8) >= CAST(shown.lowest AS float8) - 0.01
        ORDER BY score DESC, p.id
        LIMIT :limit
    """), walk).mappings().all()
    if rows and not rows[0]["complete"]:
        return None
    return [{key: value for key, value in row.items() if key != "complete"} for row in rows]


def _best_ranked_above_floor(conn: Connection, run_ids: list[int],
                             params: dict[str, Any]) -> list[Any]:
    """What :func:`_best_ranked` gives, in two walks: the floor first, then every candidate
    above it (for pages whose lowest hundredth holds more plots than its margin)."""
    params = {**params, "floor": -1.0}
    lowest, found = conn.execute(text(_READ_SETTINGS + f"""
        SELECT min(round(CAST(total AS numeric), 2)), count(*) FROM (
            SELECT * FROM ({_ranked_best_first(run_ids, params, "ps.plot_id, ps.total",
                                               places=False)}) walked
            ORDER BY total DESC, plot_id DESC LIMIT :limit) best
    """), params).one()
    if found >= params["limit"]:
        params["floor"] = float(lowest) - 0.01
    # Each branch may stop at :limit rows only on the first walk; here it reads every
    # candidate above the floor (a few more than :limit). Two statements: with the floor
    # unknown when planning (one statement, the floor an InitPlan), the planner expects a
    # third of the run above it and joins the whole run (1.5 s at a million plots).
    branches = _ranked_best_first(run_ids, params, _RANKED_COLUMNS).replace("LIMIT :limit)", ")")
    return list(conn.execute(text(_READ_SETTINGS + f"""
        SELECT * FROM ({branches}) candidates ORDER BY score DESC, id LIMIT :limit
    """), params).mappings().all())


#: How far a plot's total from its kept group scores (real numbers) may lie from the one
#: from its criterion scores, and beyond, for the rounding to two decimals: at most
#: 100 x 2^-24 from the groups' rounding to real, 0.005 from the rounding to two decimals.
_GROUP_SCORE_SLACK = 0.01



def _what_if_columns(exact: str) -> str:
    """The columns of a what-if's answer, both ways of finding its plots alike: each
    candidate ``r`` (run, plot) recomputed by ``exact`` beside its stored total."""
    return f"""SELECT p.id, round(CAST({exact} AS numeric), 2)::float AS score,
               round(CAST(ps.total AS numeric), 2)::float AS stored_score,
               p.zone_id, z.name AS zone_name, m.name AS municipality_name,
               rg.code AS region_code, round(p.area_m2::numeric, 1)::float AS area_m2"""


#: Each candidate's score row read by its key (OFFSET 0 keeps the planner from joining the
#: run's million rows whole for a few hundred), then its plot, zone, municipality, region.
_WHAT_IF_JOINS = """CROSS JOIN LATERAL (
            SELECT ps.score, ps.total FROM plot_score ps
            WHERE ps.run_id = r.run_id AND ps.plot_id = r.plot_id OFFSET 0) ps
        JOIN plot p ON p.id = r.plot_id
        JOIN zone z ON z.id = p.zone_id
        JOIN municipality m ON m.id = z.municipality_id
        JOIN region rg ON rg.id = m.region_id"""

def _what_if_total(weights: list[float], params: dict[str, Any]) -> str:
    """SQL: the what-if total of score row ``ps`` under criterion ``weights`` (per cent).

    The sum is written term by term in the criteria's order, as ``sum(s * w)`` over the
    unnested arrays adds them, so it is the same number to the last bit; a criterion of
    weight 0 adds exactly 0 and is left out.
    """
    terms = []
    for index, weight in enumerate(weights):
        if weight:
            params[f"cw_{index}"] = weight
            terms.append(f"CAST(ps.score[{index + 1}] AS float8) * CAST(:cw_{index} AS float8)")
    return f"({' + '.join(terms) or 'CAST(0 AS float8)'}) / 100"


#: A what-if reads the zones whose bound reaches its top only while they hold at most this
#: share of the runs' ranked plots: reading a plot by its zone costs a few times what the
#: pass over every kept group score costs it (weights under which most zones reach the top,
#: or a top of ties, are answered by that pass).
_ZONE_READ_MAX_SHARE = 0.25


def _seed_size(limit: int) -> int:
    """How many ranked plots the zones first read for a what-if hold (the best zones by
    bound): enough that a page of ``limit`` usually finds its floor among them."""
    return 4 * limit + 500


def _what_if_ranked(conn: Connection, run: dict[str, Any], standard: Standard, profile: str,
                    group_weights: dict[str, float], params: dict[str, Any]) -> list[Any]:
    """The first ``:limit`` ranked plots by their what-if total to two decimals, then id.

    A plot's what-if total is its criterion scores weighed anew, but it also is its group
    scores weighed by the group weights (renormalised): the run keeps those
    (``plot_group_score``), seven narrow numbers per ranked plot. The best ``:limit`` of
    any set of plots by that estimate, recomputed from their criterion scores, give a
    floor: no plot whose estimate is more than ``_GROUP_SCORE_SLACK`` below the lowest of
    them shown can be in the top, so only the plots above it are recomputed and ordered,
    and the answer is the one that recomputing every plot gives.

    Each run also keeps its zones' highest group scores (``zone_group_max``, 0139), which
    weighed alike bound the estimate of every plot it kept under that zone: the floor is
    found among the best zones' plots, and then only the zones whose bound reaches it are
    read (:func:`_what_if_by_zone`). When they hold too many plots, every kept group score
    is weighed instead (:func:`_what_if_every_plot`).
    """
    params = dict(params)
    per_criterion = standard.criterion_weights(profile, group_weights)
    exact = _what_if_total([per_criterion[c] for c in run["criteria"]], params)
    weight_sum = sum(group_weights.values())
    weighed = []
    for index, group in enumerate(group_order(standard)):
        if group_weights.get(group):
            params[f"gw_{index}"] = group_weights[group] / weight_sum
            weighed.append((index, f"gw_{index}"))

    def weighted(alias: str) -> str:
        # The same sum, term by term, for a plot's groups and a zone's highest ones: each
        # term grows with its group score and so does their sum (IEEE rounding keeps
        # order), so a zone's bound is never below one of its plots' estimates.
        return " + ".join(f"CAST({alias}.groups[{index + 1}] AS float8) * CAST(:{name} AS float8)"
                          for index, name in weighed) or "CAST(0 AS float8)"

    params["slack"] = _GROUP_SCORE_SLACK
    rows = _what_if_by_zone(conn, run, params, exact, weighted)
    if rows is None:
        rows = _what_if_every_plot(conn, run, params, exact, weighted("g"))
    return rows


def _zone_candidates(run: dict[str, Any], params: dict[str, Any], blocks: str,
                     estimate: str) -> str:
    """SQL: the current ranked plots (``run_id``, ``plot_id``, ``estimate``) that the runs
    kept under the zones of ``blocks`` (a relation of ``run_id``, ``zone_id``), available
    and in the regions asked for: each zone's rows by ``plot_group_score_zone_idx``, each
    plot by its key."""
    # The regions' municipalities as one array (an InitPlan), tested on each plot found:
    # as a semi-join the planner would rather read every available plot of the regions.
    in_region = "" if params["region_ids"] is None else """
              AND p.municipality_id = ANY (ARRAY(
                  SELECT mr.municipality_id FROM municipality_region mr
                  WHERE mr.region_id = ANY (CAST(:region_ids AS int[]))))"""
    branches = []
    for index, run_id in enumerate(run["run_ids"]):
        newest, newer = current_scores.not_superseded("g", run["run_ids"], index,
                                                      f"newer_{index}")
        params |= newer | {f"ranked_run_{index}": run_id}
        branches.append(f"""
            SELECT g.run_id, g.plot_id, {estimate} AS estimate
            FROM {blocks} bl
            JOIN plot_group_score g ON g.run_id = :ranked_run_{index} AND g.zone_id = bl.zone_id
            -- Each plot by its key (OFFSET 0): not a hash of every available plot.
            CROSS JOIN LATERAL (
                SELECT p.municipality_id FROM plot p
                WHERE p.id = g.plot_id AND p.status = 'available' AND p.retired_at IS NULL
                OFFSET 0) p
            WHERE bl.run_id = :ranked_run_{index}{newest}{in_region}""")
    return " UNION ALL ".join(branches)


def _what_if_by_zone(conn: Connection, run: dict[str, Any], params: dict[str, Any],
                     exact: str, weighted) -> list[Any] | None:
    """What :func:`_what_if_ranked` gives, from the zones whose bound reaches its floor;
    None when there is no floor among the best zones' plots (fewer than ``:limit`` of them)
    or the zones reaching it hold more than ``_ZONE_READ_MAX_SHARE`` of the ranked plots.

    First the floor, from the plots of the best zones by bound (those of the regions asked
    for first) holding ``_seed_size`` plots, and how many plots the zones reaching it hold;
    then those zones' plots above the floor, recomputed. Any set of plots gives a floor
    that holds (:func:`_what_if_ranked`); the best zones' give one near the top's.
    """
    params = {**params, "seed": _seed_size(params["limit"])}
    seed_zones = "" if params["region_ids"] is None else """
            WHERE b.zone_id IN (
                SELECT z.id FROM zone z JOIN municipality_region mr
                  ON mr.municipality_id = z.municipality_id
                WHERE mr.region_id = ANY (CAST(:region_ids AS int[])))"""
    seed = _zone_candidates(run, params, "seed_blocks", weighted("g"))
    lowest, reach, ranked = conn.execute(text(_READ_SETTINGS + f"""
        WITH blocks AS MATERIALIZED (
            SELECT b.run_id, b.zone_id, b.plots, {weighted("b")} AS bound
            FROM zone_group_max b WHERE b.run_id = ANY (CAST(:run_ids AS bigint[]))
        ), seed_blocks AS MATERIALIZED (
            SELECT run_id, zone_id FROM (
                SELECT b.run_id, b.zone_id, b.plots,
                       sum(b.plots) OVER (ORDER BY b.bound DESC, b.run_id, b.zone_id) AS upto
                FROM blocks b{seed_zones}
            ) ordered
            WHERE upto - plots < :seed
        ), best AS (
            SELECT run_id, plot_id FROM ({seed}) seed ORDER BY estimate DESC LIMIT :limit
        ), lowest AS (
            SELECT CASE WHEN count(*) >= :limit
                        THEN CAST(min(round(CAST({exact} AS numeric), 2)) AS float8) - :slack
                   END AS floor
            FROM best b
            CROSS JOIN LATERAL (
                SELECT ps.score FROM plot_score ps
                WHERE ps.run_id = b.run_id AND ps.plot_id = b.plot_id OFFSET 0) ps
        )
        SELECT lowest.floor,
               (SELECT sum(plots) FROM blocks WHERE bound >= lowest.floor),
               (SELECT sum(plots) FROM blocks)
        FROM lowest
    """), params).one()
    if lowest is None or not reach or reach > _ZONE_READ_MAX_SHARE * ranked:
        return None
    params["floor"] = lowest
    candidates = _zone_candidates(run, params, "blocks", weighted("g"))
    # The candidates' score rows by key, for a few hundred plots (OFFSET 0: not a join of
    # the run's million rows).
    return list(conn.execute(text(_READ_SETTINGS + f"""
        WITH blocks AS MATERIALIZED (
            SELECT b.run_id, b.zone_id FROM zone_group_max b
            WHERE b.run_id = ANY (CAST(:run_ids AS bigint[])) AND {weighted("b")} >= :floor
        ), ranked AS MATERIALIZED (
            SELECT * FROM ({candidates}) c WHERE estimate >= :floor
        )
        {_what_if_columns(exact)}
        FROM ranked r
        {_WHAT_IF_JOINS}
        ORDER BY 2 DESC, p.id
        LIMIT :limit
    """), params).mappings().all())


def _what_if_every_plot(conn: Connection, run: dict[str, Any], params: dict[str, Any],
                        exact: str, estimate: str) -> list[Any]:
    """What :func:`_what_if_ranked` gives, weighing every ranked plot's kept group scores:
    the floor from the best ``:limit`` of them all."""
    params = dict(params)
    branches = []
    for index, run_id in enumerate(run["run_ids"]):
        newest, newer = current_scores.not_superseded("g", run["run_ids"], index, f"newer_{index}")
        params |= newer | {f"ranked_run_{index}": run_id}
        branches.append(f"""
            SELECT g.run_id, g.plot_id, {estimate} AS estimate
            FROM plot_group_score g JOIN available a ON a.id = g.plot_id
            WHERE g.run_id = :ranked_run_{index}{newest}""")
    # Written only with a region, so that the index is read for its municipalities alone.
    in_region = "" if params["region_ids"] is None else """
              AND p.municipality_id IN (
                  SELECT mr.municipality_id FROM municipality_region mr
                  WHERE mr.region_id = ANY (CAST(:region_ids AS int[])))"""
    return list(conn.execute(text(_READ_SETTINGS + f"""
        WITH available AS (
            -- plot_available_municipality_idx alone.
            SELECT p.id FROM plot p
            WHERE p.status = 'available' AND p.retired_at IS NULL{in_region}
        ), ranked AS MATERIALIZED (
            {" UNION ALL ".join(branches)}
        ), best AS (
            SELECT run_id, plot_id FROM ranked ORDER BY estimate DESC LIMIT :limit
        ), lowest AS (
            SELECT CASE WHEN count(*) >= :limit
                        THEN min(round(CAST({exact} AS numeric), 2)) END AS score
            FROM best b
            CROSS JOIN LATERAL (
                SELECT ps.score FROM plot_score ps
                WHERE ps.run_id = b.run_id AND ps.plot_id = b.plot_id OFFSET 0) ps
        )
        {_what_if_columns(exact)}
        FROM ranked r
        CROSS JOIN lowest
        {_WHAT_IF_JOINS}
        WHERE lowest.score IS NULL OR r.estimate >= CAST(lowest.score AS float8) - :slack
        ORDER BY 2 DESC, p.id
        LIMIT :limit
    """), params).mappings().all())


def rankings(
    conn: Connection,
    profile: str,
    *,
    region: str | regions.RegionSelection | None = None,
    limit: int = 50,
    weights: str | None = None,
    run: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Available plots that pass the gates, best first; with ``weights`` a what-if, stored nowhere.

    A what-if recomputes each plot's total from its stored criterion scores with
    the given group weights (renormalised to 100). ``region`` is a code, or the region
    as the caller resolved it; ``run``: the profile's :func:`ranking_run` when the caller
    has read it (``GET /rankings`` ranks its zones by the same run and region).

    Raises:
        NotFound: no finished run for the profile.
        InvalidInput: bad weights.
    """
    selection = (region if isinstance(region, regions.RegionSelection)
                 else regions.resolve_one(conn, region))
    if run is None:
        run = _ranking_run(conn, profile)
    standard = run_standard(conn, run)
    params: dict[str, Any] = {"run_ids": run["run_ids"], "limit": limit,
                              "region_ids": selection.id_list if selection else None}
    group_weights = None
    if weights:
        group_weights = parse_group_weights(weights, standard)
        rows = _what_if_ranked(conn, run, standard, profile, group_weights, params)
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


#: Each ranked plot in every group of municipalities holding it (its own municipality, the
#: one holding the part of its zone it lies in).
_GROUP_JOIN = """
    JOIN unnest(CAST(:group_keys AS int[]), CAST(:group_municipalities AS int[]))
         AS g (key, municipality_id) ON g.municipality_id = p.municipality_id"""


def _group_params(groups: dict[int, list[int]]) -> dict[str, list[int]]:
    pairs = sorted((key, m) for key, municipalities in groups.items() for m in set(municipalities))
    return {"group_keys": [k for k, _ in pairs], "group_municipalities": [m for _, m in pairs]}


def _computed_by_group(conn: Connection, run_ids: list[int],
                       groups: dict[int, list[int]]) -> dict[int, dict[str, Any]]:
    """Per group of ``groups`` (key -> its municipalities' ids, e.g. a region's): its ranked
    plots' count, median, best (score and id), area, area above 60 and count per band of
    ``BANDS``, computed from every current plot score of ``run_ids``. What
    :func:`_kept_by_group` reads from the kept figures; used when none are kept for the runs."""
    bands = ",\n".join(
        f"count(*) FILTER (WHERE ps.total >= {low} AND ps.total "
        f"{'<=' if high == 100 else '<'} {high}) AS band_{low}" for low, high in BANDS)
    return {
        row["key"]: dict(row)
        for row in conn.execute(
            text(f"""
                SELECT g.key, count(*) AS plots,
                       percentile_cont(0.5) WITHIN GROUP (ORDER BY ps.total) AS median,
                       (array_agg(p.id ORDER BY ps.total DESC, p.id))[1] AS best_id,
                       max(ps.total) AS best,
                       sum(p.area_m2) AS area_m2,
                       coalesce(sum(p.area_m2) FILTER (WHERE ps.total > 60), 0) AS above_60_m2,
                       {bands}
                {_ranked(run_ids, join=_GROUP_JOIN)}
                GROUP BY g.key
            """),
            {"run_ids": run_ids, "region_ids": None, **_group_params(groups)},
        ).mappings()
    }


#: Hundredths of a point per whole point: a kept histogram row's fine bins (0130).
_FINE_PER_POINT = 100


def _kept_by_group(conn: Connection, kept_run: int, run_ids: list[int],
                   groups: dict[int, list[int]]) -> dict[int, dict[str, Any]]:
    """What :func:`_computed_by_group` gives, from the figures kept for the runs (0130).

    Counts per band come from the histogram's whole points, the areas from
    ``score_summary``; a median and the best are order statistics: the histogram's whole
    points, then the hundredths of the point holding them, say which hundredth of a point
    each lies in, and only the ranked plots scored within it are read (a range of the runs'
    rank index), their totals exact, so the figures are those of the computation to the bit.
    """
    params = {"run": kept_run, **_group_params(groups)}
    counts: dict[int, dict[int, int]] = {}
    areas: dict[int, tuple[float, float]] = {}
    # Per group, its whole points' counts and its areas, in one round trip.
    for key, coarses, plots, area, above in conn.execute(text("""
        WITH g AS (
            SELECT * FROM unnest(CAST(:group_keys AS int[]), CAST(:group_municipalities AS int[]))
                AS g (key, municipality_id)
        ), counts AS (
            SELECT g.key, h.coarse, sum(h.plots) AS plots
            FROM g JOIN score_histogram h
              ON h.run_id = :run AND h.municipality_id = g.municipality_id
            GROUP BY 1, 2 HAVING sum(h.plots) <> 0
        ), areas AS (
            SELECT g.key, sum(k.ranked_area_m2) AS area, sum(k.above_60_m2) AS above
            FROM g JOIN score_summary k
              ON k.run_id = :run AND k.municipality_id = g.municipality_id
            GROUP BY 1
        )
        SELECT c.key, c.coarses, c.plots, a.area, a.above
        FROM (SELECT key, array_agg(coarse ORDER BY coarse) AS coarses,
                     array_agg(plots ORDER BY coarse) AS plots
              FROM counts GROUP BY key) c
        LEFT JOIN areas a ON a.key = c.key
    """), params):
        counts[key] = {coarse: int(n) for coarse, n in zip(coarses, plots)}
        if area is not None:
            areas[key] = (float(area), float(above))

    # The order statistics each group needs (0-based, ascending): the median's one or two
    # (percentile_cont's) and the best (the last); and the whole point holding each.
    wanted: dict[int, dict[str, int]] = {}
    cells: set[tuple[int, int]] = set()
    for key, by_coarse in counts.items():
        plots = sum(by_coarse.values())
        ranks = {"low": (plots - 1) // 2, "high": plots // 2, "best": plots - 1}
        wanted[key] = ranks
        for rank in ranks.values():
            cells.add((key, _holding(by_coarse, rank)[0]))
    fine: dict[tuple[int, int], dict[int, int]] = {}
    if cells:
        pairs = sorted(cells)
        # The cells' rows, one per municipality, their hundredths summed here: a hundred
        # numbers a row, where unnesting and grouping them cost the database more.
        summed: dict[tuple[int, int], list[int]] = {}
        for key, coarse, hundredths in conn.execute(text("""
            SELECT g.key, h.coarse, h.fine
            FROM unnest(CAST(:group_keys AS int[]), CAST(:group_municipalities AS int[]))
                 AS g (key, municipality_id)
            JOIN unnest(CAST(:cell_keys AS int[]), CAST(:cell_coarses AS int[]))
                 AS c (key, coarse) ON c.key = g.key
            JOIN score_histogram h ON h.run_id = :run AND h.municipality_id = g.municipality_id
             AND h.coarse = c.coarse
        """), {**params, "cell_keys": [k for k, _ in pairs], "cell_coarses": [c for _, c in pairs]}):
            total = summed.get((key, coarse))
            summed[(key, coarse)] = (list(hundredths) if total is None
                                     else [a + b for a, b in zip(total, hundredths)])
        for (key, coarse), hundredths in summed.items():
            fine[(key, coarse)] = {coarse * _FINE_PER_POINT + within: n
                                   for within, n in enumerate(hundredths) if n != 0}

    # Each statistic's hundredth of a point, and its rank among the plots within it.
    located: dict[int, dict[str, tuple[int, int]]] = {}
    for key, ranks in wanted.items():
        located[key] = {}
        for name, rank in ranks.items():
            coarse, rank_in_coarse = _holding(counts[key], rank)
            located[key][name] = _holding(fine[(key, coarse)], rank_in_coarse)
    bins = sorted({b for stats in located.values() for b, _ in stats.values()})
    members: dict[int, set[int]] = {}
    for key, municipalities in groups.items():
        for municipality_id in municipalities:
            members.setdefault(municipality_id, set()).add(key)
    # Each hundredth with the municipalities of the groups whose statistics lie in it: of
    # the plots within a hundredth, only theirs are read (at a million plots a sixth of all
    # plots within those hundredths, each row no longer read and sorted here).
    pairs = sorted({(fine_bin, municipality_id)
                    for key, stats in located.items() for fine_bin, _ in stats.values()
                    for municipality_id in groups[key]})
    # The ranked plots within those hundredths: one range of each run's rank index per
    # hundredth (an index-only scan), then the plot by key. Their totals as stored (real)
    # and exactly as float8, as the computation reads them.
    found: dict[str, Any] = {
        "bins": bins, "pairs": [fine_bin << 32 | municipality_id
                                for fine_bin, municipality_id in pairs],
        # A margin around each hundredth for the decimal bounds; the bin itself decides.
        "lows": [b / _FINE_PER_POINT - 1e-6 for b in bins],
        "highs": [(b + 1) / _FINE_PER_POINT + 1e-6 for b in bins]}
    branches = []
    for index, run_id in enumerate(run_ids):
        newest, newer = current_scores.not_superseded("ps", run_ids, index, f"newer_{index}")
        found |= newer | {f"run_{index}": run_id}
        branches.append(f"""
            SELECT p.id, ps.total, CAST(ps.total AS float8), p.municipality_id, b.fine
            FROM unnest(CAST(:bins AS int[]), CAST(:lows AS float8[]),
                        CAST(:highs AS float8[])) AS b (fine, low, high)
            -- Fenced (OFFSET 0), so each hundredth is a range of the index, not a filter
            -- on a pass over the run.
            CROSS JOIN LATERAL (
                SELECT ps.plot_id, ps.total FROM plot_score ps
                WHERE ps.run_id = :run_{index} AND ps.total BETWEEN b.low AND b.high
                  AND ps.passed{newest}
                OFFSET 0
            ) ps
            JOIN plot p ON p.id = ps.plot_id AND p.status = 'available'
             AND p.retired_at IS NULL
            WHERE floor(CAST(ps.total AS float8) * {_FINE_PER_POINT})::int = b.fine
              -- A filter on each plot found (one number per pair, the array hashed).
              AND (CAST(b.fine AS bigint) << 32 | p.municipality_id)
                  = ANY (CAST(:pairs AS bigint[]))""")
    scored: dict[tuple[int, int], list[tuple[float, int, float]]] = {}
    if bins:
        for plot_id, total, exact, municipality_id, fine_bin in conn.execute(
                text(" UNION ALL ".join(branches)), found):
            for key in members.get(municipality_id, ()):
                scored.setdefault((key, fine_bin), []).append((exact, plot_id, total))
    result = {}
    for key, stats in located.items():
        def nth(name: str, key: int = key, stats: dict = stats) -> tuple[float, int, float]:
            fine_bin, rank = stats[name]
            # Ascending by total; among equal totals the best is the lowest id.
            plots = sorted(scored[(key, fine_bin)], key=lambda s: (s[0], -s[1]))
            return plots[rank]
        low, high = nth("low")[0], nth("high")[0]
        # percentile_cont(0.5): the middle one, or between the middle two as it interpolates.
        median = low if stats["low"] == stats["high"] else low + 0.5 * (high - low)
        _, best_id, best = nth("best")
        by_coarse = counts[key]
        area, above = areas.get(key, (0.0, 0.0))
        row = {"key": key, "plots": sum(by_coarse.values()), "median": median,
               "best_id": best_id, "best": best, "area_m2": area, "above_60_m2": above}
        for low_band, high_band in BANDS:
            row[f"band_{low_band}"] = sum(
                n for c, n in by_coarse.items()
                if low_band <= c and (c < high_band or high_band == 100))
        result[key] = row
    return result


def _holding(counts: dict[int, int], rank: int) -> tuple[int, int]:
    """The bin of ``counts`` (bin -> plots) holding the ``rank``-th plot (0-based, ascending
    bins), and that plot's rank within its bin."""
    for key in sorted(counts):
        if rank < counts[key]:
            return key, rank
        rank -= counts[key]
    raise AssertionError("a rank beyond the counts")


def ranked_by_group(conn: Connection, run: dict[str, Any], profile: str,
                    groups: dict[int, list[int]]) -> dict[int, dict[str, Any]]:
    """The ranked plots' figures per group of municipalities (``_computed_by_group``), from the
    figures kept for the ranking ``run``'s runs when they are kept, else from the scores."""
    kept = run["kept_run"]
    if kept is not None:
        return _kept_by_group(conn, kept, run["run_ids"], groups)
    return _computed_by_group(conn, run["run_ids"], groups)


def _region_municipalities(conn: Connection, region_ids: list[int]) -> dict[int, list[int]]:
    """Each region's municipalities, at whatever level it is."""
    groups: dict[int, list[int]] = {region_id: [] for region_id in region_ids}
    for region_id, municipality_id in conn.execute(text(
            "SELECT region_id, municipality_id FROM municipality_region "
            "WHERE region_id = ANY (CAST(:ids AS int[]))"), {"ids": region_ids}):
        groups[region_id].append(municipality_id)
    return groups


def compare_regions(conn: Connection, profile: str,
                    codes: list[str] | None = None) -> dict[str, Any]:
    """Per region: distribution of ranked plots' scores, median, best, share of area above 60.

    ``codes`` are regions of any level, each covering everything below it (``AT22`` is all
    of Styria); by default every region of the yardstick level (NUTS-3) with municipalities.
    The scores' figures are read from those kept for the current runs (0130) when they are
    kept, else computed from the scores; both give the same.

    Raises:
        NotFound: no finished run for the profile.
        InvalidInput: an unknown region.
    """
    # The regions, their municipalities and their available area (kept per municipality by
    # the plot triggers, 0130) in one round trip; by default every region of the yardstick
    # level (NUTS-3) that holds municipalities.
    ids = regions.resolve(conn, codes).id_list if codes else None
    areas = conn.execute(
        text(f"""
            SELECT rg.id, rg.code, rg.name, rg.level,
                   CAST(coalesce(sum(ma.area_m2), 0) AS float8) AS area_m2,
                   array_remove(array_agg(mr.municipality_id), NULL) AS municipalities
            FROM region rg
            LEFT JOIN municipality_region mr ON mr.region_id = rg.id
            LEFT JOIN municipality_available ma ON ma.municipality_id = mr.municipality_id
            WHERE {"rg.id = ANY (CAST(:compared AS int[]))" if codes else "rg.level = :level"}
            GROUP BY rg.id, rg.code, rg.name, rg.level
            {"" if codes else "HAVING count(mr.municipality_id) > 0"}
            ORDER BY rg.code
        """), {"compared": ids, "level": YARDSTICK_LEVEL}
    ).mappings().all()
    if ids is None:
        ids = [row["id"] for row in areas]
    run = _ranking_run(conn, profile)
    ranked = ranked_by_group(conn, run, profile,
                             {row["id"]: list(row["municipalities"]) for row in areas})
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
    which ask for an available plot, in the current runs), each plot counted once: how many,
    their area, their median and best score and how many fall in each band of ``BANDS``, with
    the standard the scores are by. The plots are those ``GET /rankings`` ranks for the
    regions (placed by their own municipality, available now), read from the figures kept
    for the current runs (0130), as ``/regions/compare`` reads them.

    Raises:
        NotFound: no finished run for the profile.
    """
    run = _ranking_run(conn, profile)
    municipalities = sorted({m for ms in _region_municipalities(conn, region_ids).values()
                             for m in ms})
    row = ranked_by_group(conn, run, profile, {0: municipalities}).get(0)
    return {
        "profile": profile,
        "standard": {"name": run["name"], "version": run["version"]},
        "ranked_plots": row["plots"] if row else 0,
        "ranked_area_m2": round(float(row["area_m2"]), 1) if row else 0.0,
        "median": round(row["median"], 2) if row else None,
        "best": round(row["best"], 2) if row else None,
        "distribution": [{"from": low, "to": high, "plots": row[f"band_{low}"] if row else 0}
                         for low, high in BANDS],
    }
