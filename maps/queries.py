"""The reads behind the map pages: zones, one zone's plots, municipalities' supply, plot search."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import shapely
from pydantic import ValidationError
from sqlalchemy import Connection, text

from locations import features, search
from locations.errors import InvalidInput
from locations.geojson import feature_collection, geometry_sql
from locations.tiles import scores_available
from locations.vocabulary import INFRASTRUCTURE_KIND

#: Most rows a search page lists and draws; the count above the table says how many matched.
SEARCH_PAGE_LIMIT = 500

#: Simplification tolerance (m) for outlines drawn at region scale: invisible there, halves the bytes.
OUTLINE_TOLERANCE_M = 10.0


@dataclass
class PlotFilters:
    """What an investor asks of a plot: the plot search's main filters."""

    region: str | None = None
    min_area_m2: float | None = None
    max_area_m2: float | None = None
    status: list[str] = field(default_factory=list)
    min_power_mw: float | None = None
    max_motorway_km: float | None = None
    profile: str | None = None

    def check(self) -> None:
        """Raises InvalidInput naming the first filter that cannot be right."""
        from maps.style import STATUSES

        for name in ("min_area_m2", "max_area_m2", "min_power_mw", "max_motorway_km"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise InvalidInput(name, "must not be negative")
        if (self.min_area_m2 is not None and self.max_area_m2 is not None
                and self.min_area_m2 > self.max_area_m2):
            raise InvalidInput("max_area_m2", "must not be smaller than min_area_m2")
        for status in self.status:
            if status not in STATUSES:
                raise InvalidInput("status", f"unknown status {status!r}; allowed: {', '.join(STATUSES)}")

    def as_query(self) -> dict[str, Any]:
        """The filters as URL query parameters (empty ones left out)."""
        query = {k: v for k, v in vars(self).items() if v not in (None, "", [])}
        return query


def regions(conn: Connection) -> list[dict[str, Any]]:
    return [dict(row) for row in conn.execute(
        text("SELECT id, code, name, country FROM region ORDER BY country DESC, code")
    ).mappings()]


def region_outlines(conn: Connection) -> dict[str, Any]:
    rows = conn.execute(text(f"""
        SELECT r.id, r.code, r.name, r.country,
               {geometry_sql(f"ST_SimplifyPreserveTopology(r.boundary, {OUTLINE_TOLERANCE_M * 5})")}
                   AS geometry
        FROM region r WHERE r.boundary IS NOT NULL ORDER BY r.code
    """)).mappings()
    return feature_collection(rows)


def profiles(conn: Connection) -> list[str]:
    """Scoring profiles with current scores (none until the scoring feature has run)."""
    if not scores_available(conn):
        return []
    # A profile has current scores once one of its runs has finished: reading the runs
    # (a handful of rows) instead of the scores view keeps this cheap at a million plots.
    return list(conn.execute(text(
        "SELECT DISTINCT profile FROM score_run WHERE status = 'finished' ORDER BY 1")).scalars())


def municipality_outlines(conn: Connection) -> dict[str, Any]:
    """Municipality boundaries with their names only: what the overview draws."""
    rows = conn.execute(text(f"""
        SELECT m.id, m.code, m.name,
               {geometry_sql(f"ST_SimplifyPreserveTopology(m.boundary, {OUTLINE_TOLERANCE_M})")}
                   AS geometry
        FROM municipality m WHERE m.boundary IS NOT NULL ORDER BY m.name
    """)).mappings()
    return feature_collection(rows)


@dataclass(frozen=True)
class ZoneScale:
    """What the browser needs to colour and size zones drawn from tiles: the measure's range
    over all zones and the largest zone's area. A few numbers, however many zones there are."""

    low: float | None
    high: float | None
    largest_area_m2: float


def zone_scale(conn: Connection, measure: str, profile: str | None = None) -> ZoneScale:
    """The range of ``measure`` (occupancy share, available hectares or score) over the zones,
    read from the kept ``zone_summary`` (and the latest zone scores of ``profile``)."""
    if measure == "score":
        if not profile or not scores_available(conn):
            low = high = None
        else:
            low, high = conn.execute(text("""
                SELECT min(score), max(score) FROM (
                    SELECT DISTINCT ON (zs.zone_id) round(zs.mean_total::numeric, 1)::float AS score
                    FROM zone_score zs JOIN score_run sr ON sr.id = zs.run_id
                    WHERE sr.profile = :profile AND sr.status = 'finished'
                    ORDER BY zs.zone_id, sr.finished_at DESC, sr.id DESC
                ) latest
            """), {"profile": profile}).one()
    else:
        # Zones without plots have no occupancy but do have no available area (0 ha).
        column = ("s.occupancy_share" if measure == "occupancy"
                  else "coalesce(s.available_area_m2, 0)::float / 10000")
        low, high = conn.execute(text(f"""
            SELECT min({column}), max({column})
            FROM zone z LEFT JOIN zone_summary s ON s.zone_id = z.id
        """)).one()
    largest = conn.execute(text("SELECT coalesce(max(area_m2), 1) FROM zone")).scalar_one()
    return ZoneScale(low=low, high=high, largest_area_m2=float(largest) or 1.0)


def municipality_supply(conn: Connection, region_codes: list[str] | None = None,
                        profile: str | None = None) -> dict[str, Any]:
    """Municipalities with their available plot area and, with a profile, the average plot score."""
    use_scores = bool(profile) and scores_available(conn)
    # Land figures from the kept zone_summary (0007): no plot is read for them.
    score_join = """
        LEFT JOIN (
            SELECT z.municipality_id, avg(s.total) AS avg_score
            FROM zone z
            JOIN plot p ON p.zone_id = z.id AND p.retired_at IS NULL
            JOIN current_plot_score s ON s.plot_id = p.id AND s.profile = :profile
            GROUP BY z.municipality_id
        ) sc ON sc.municipality_id = m.id
    """ if use_scores else ""
    score_column = "sc.avg_score" if use_scores else "NULL::float"
    rows = conn.execute(text(f"""
        SELECT m.id, m.code, m.name, r.code AS region_code, m.country,
               coalesce(agg.available_area_m2, 0)::float AS available_area_m2,
               coalesce(agg.plot_count, 0) AS plot_count,
               coalesce(agg.zone_count, 0) AS zone_count,
               {score_column} AS avg_score,
               {geometry_sql(f"ST_SimplifyPreserveTopology(m.boundary, {OUTLINE_TOLERANCE_M})")}
                   AS geometry
        FROM municipality m
        JOIN region r ON r.id = m.region_id
        LEFT JOIN (
            SELECT z.municipality_id,
                   sum(zs.available_area_m2) AS available_area_m2,
                   sum(zs.plot_count)::integer AS plot_count,
                   count(*) AS zone_count
            FROM zone z
            LEFT JOIN zone_summary zs ON zs.zone_id = z.id
            GROUP BY z.municipality_id
        ) agg ON agg.municipality_id = m.id
        {score_join}
        WHERE m.boundary IS NOT NULL
          AND (CAST(:regions AS text[]) IS NULL OR r.code = ANY(CAST(:regions AS text[])))
        ORDER BY r.code, m.name
    """), {"regions": region_codes, "profile": profile}).mappings()
    return feature_collection(rows)


def zones(conn: Connection, profile: str | None = None) -> dict[str, Any]:
    """Every zone with its facts and plot aggregates; with a profile, its plots' average score."""
    collection = search.search_zones(conn, search.ZoneFilter())
    # A point inside each zone, so a zone can be marked where its outline is too small to see.
    points = {row.id: (row.lat, row.lon) for row in conn.execute(text("""
        SELECT z.id, ST_Y(pt) AS lat, ST_X(pt) AS lon
        FROM zone z, ST_Transform(ST_PointOnSurface(z.boundary), 4326) AS pt
    """))}
    for zone in collection["features"]:
        zone["properties"]["lat"], zone["properties"]["lon"] = points[zone["id"]]
    if profile and scores_available(conn):
        # The zone's score from the latest finished run of the profile, as the zone tiles carry it.
        scores = dict(conn.execute(text("""
            SELECT DISTINCT ON (zs.zone_id) zs.zone_id, round(zs.mean_total::numeric, 1)::float
            FROM zone_score zs JOIN score_run sr ON sr.id = zs.run_id
            WHERE sr.profile = :profile AND sr.status = 'finished'
            ORDER BY zs.zone_id, sr.finished_at DESC, sr.id DESC
        """), {"profile": profile}).all())
        for zone in collection["features"]:
            zone["properties"]["score"] = scores.get(zone["id"])
    return collection


def infrastructure(conn: Connection) -> dict[str, Any]:
    return features.list_infrastructure(
        conn, list(INFRASTRUCTURE_KIND.codes[:4])
    )


def _score_sql(conn: Connection, profile: str | None) -> tuple[str, str]:
    """The score column and join for plot reads: real scores when they exist, else NULL."""
    if profile and scores_available(conn):
        return ("round(s.total::numeric, 1)::float AS score",
                "LEFT JOIN current_plot_score s ON s.plot_id = p.id AND s.profile = :profile")
    return "NULL::float AS score", ""


def zone_plots(conn: Connection, zone_id: int, profile: str | None = None) -> dict[str, Any]:
    """The zone's current plots with their public facts (and score for ``profile``)."""
    score_column, score_join = _score_sql(conn, profile)
    rows = conn.execute(text(f"""
        SELECT {features.PLOT_PUBLIC_COLUMNS}, {score_column},
               {geometry_sql("p.boundary")} AS geometry
        {features.PLOT_JOINS}
        {score_join}
        WHERE p.zone_id = :zone_id AND p.retired_at IS NULL
        ORDER BY p.cadastral_ref
    """), {"zone_id": zone_id, "profile": profile}).mappings()
    return feature_collection(rows)


def search_plots(conn: Connection, filters: PlotFilters,
                 limit: int = SEARCH_PAGE_LIMIT) -> tuple[dict[str, Any], int]:
    """Plots matching ``filters`` (largest first) and how many match in all, by the plot search
    itself (``locations.search``), so the page and GET /plots always agree.

    Raises:
        InvalidInput: a filter that cannot hold (negative area, unknown region or status ...).
    """
    filters.check()
    try:
        query = search.PlotFilter(
            region=[filters.region] if filters.region else [], status=filters.status,
            min_area_m2=filters.min_area_m2, max_area_m2=filters.max_area_m2,
            min_power_mw=filters.min_power_mw, max_motorway_km=filters.max_motorway_km,
            sort="-area", limit=limit, count=True, distances=True,
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        raise InvalidInput(".".join(str(p) for p in error["loc"]) or "filters", error["msg"]) from None
    results = search.search_plots(conn, query)
    plots = results["features"]
    if plots:
        # A point inside each plot for its marker, computed once for the page in one call.
        shapes = shapely.from_geojson([json.dumps(plot["geometry"]) for plot in plots])
        points = shapely.point_on_surface(shapes)
        for plot, x, y in zip(plots, shapely.get_x(points), shapely.get_y(points), strict=True):
            plot["properties"]["lon"], plot["properties"]["lat"] = float(x), float(y)
    scores = _plot_scores(conn, [plot["id"] for plot in plots], filters.profile)
    for plot in plots:
        plot["properties"]["score"] = scores.get(plot["id"])
    return results, results.get("numberMatched", len(plots))


def _plot_scores(conn: Connection, plot_ids: list[int], profile: str | None) -> dict[int, float]:
    if not profile or not plot_ids or not scores_available(conn):
        return {}
    return dict(conn.execute(text("""
        SELECT plot_id, round(total::numeric, 1)::float FROM current_plot_score
        WHERE profile = :profile AND plot_id = ANY(CAST(:ids AS bigint[]))
    """), {"profile": profile, "ids": plot_ids}).all())
