"""The reads behind the map pages: zones, one zone's plots, municipalities' supply, plot search."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import shapely
from pydantic import ValidationError
from sqlalchemy import Connection, text

from locations import current_scores, features, search, zone_search
from locations.db import NO_PARALLEL_WORKERS, fetch_rows
from locations.geojson import OutputCrs, feature_collection, geometry_sql
from locations.tiles import scores_available
from locations.vocabulary import INFRASTRUCTURE_KIND, YARDSTICK_LEVEL
from maps.context import MapContext, Outlines
from maps.countries import country_context, prepare
from maps.i18n import Translator

#: Most rows a search page lists and draws; the count above the table says how many matched.
SEARCH_PAGE_LIMIT = 500

#: A search page's outlines: 6 decimals of a degree (about 0.1 m) are below a pixel at any
#: zoom the pages offer, and PostgreSQL writes them so (rounding 500 outlines in Python was
#: a tenth of the page).
SEARCH_CRS = OutputCrs(decimals=6)

#: Simplification tolerance (m) for outlines drawn at region scale: invisible there, halves the bytes.
OUTLINE_TOLERANCE_M = 10.0
#: The regions' borders are drawn at every zoom over the municipalities' own (10 m).
REGION_TOLERANCE_M = OUTLINE_TOLERANCE_M * 5
#: Outlines simplified by metres need no centimetres: 5 decimals of a degree are about a metre
#: (7 made the comparison's municipalities a tenth heavier for nothing).
OUTLINE_CRS = OutputCrs(decimals=5)


#: The page's sort choices, as ``sort`` of the search: best score, cheapest, largest, nearest.
SORTS = ("-score", "price", "-area", "distance")

#: Form fields typed in hectares and the search filter (m²) each fills.
HECTARE_FIELDS = {"min_area_ha": "min_area_m2", "max_area_ha": "max_area_m2"}

#: Form fields given once per value.
LIST_FIELDS = ("region", "municipality", "zone_kind", "status", "use")

#: Single-valued form fields passed to the search as typed (numbers, tiers, yes/no); the area
#: in m² too, as links made before the form took hectares have it (hectares win over it).
SINGLE_FIELDS = ("min_area_m2", "max_area_m2", "max_price_eur_m2", "readiness", "min_power_mw",
                 "min_building_height_m", "broadband", "gas",
                 "rail_siding", "brownfield", *search.DISTANCE_FILTERS)


@dataclass
class SearchForm:
    """The search page's query string: the search's own ``PlotFilter`` (one filter model for
    the API and the pages) plus what the form needs to show it again."""

    filters: search.PlotFilter
    #: The form as typed, to fill it in again (a bad value stays visible beside its message).
    values: dict[str, Any] = field(default_factory=dict)
    #: Form field -> (message key, the search parameter it fills).
    errors: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def profile(self) -> str | None:
        return self.filters.profile

    def value(self, name: str) -> Any:
        return self.values.get(name, [] if name in LIST_FIELDS else "")

    def as_query(self) -> dict[str, Any]:
        """The search as GET /plots query parameters (empty ones left out)."""
        return {k: v for k, v in self.filters.model_dump(
            exclude={"limit", "count", "distances", "cursor"}, exclude_defaults=True).items()
            if v not in (None, "", [])}


def _error_key(error_type: str) -> str:
    if error_type in ("float_parsing", "float_type", "greater_than_equal", "finite_number",
                      "int_parsing", "less_than_equal"):
        return "error_number"
    return "error_choice"


def read_search_form(params: Any, default_profile: str | None) -> SearchForm:
    """The page's query string (a multi-dict) as the search's filters, each bad value kept
    as a message key beside its form field rather than refused as a whole."""
    values: dict[str, Any] = {}
    query: dict[str, Any] = {}
    errors: dict[str, tuple[str, str]] = {}
    for name in LIST_FIELDS:
        given = [v.strip() for v in params.getlist(name) if v.strip()]
        values[name] = given
        if given:
            query[name] = given
    for name in SINGLE_FIELDS:
        raw = (params.get(name) or "").strip()
        values[name] = raw
        if raw:
            # A decimal comma as sl and de write it.
            query[name] = raw.replace(",", ".") if name not in ("readiness", "broadband") else raw
    for name, target in HECTARE_FIELDS.items():
        raw = (params.get(name) or "").strip()
        values[name] = raw
        if not raw:
            continue
        try:
            hectares = float(raw.replace(",", "."))
        except ValueError:
            hectares = math.nan
        if not math.isfinite(hectares) or hectares < 0:
            errors[name] = ("error_number", target)
        else:
            query[target] = hectares * 10_000
    profile = (params.get("profile") or "").strip() or default_profile
    sort = (params.get("sort") or "").strip() or ("-score" if profile else "-area")
    values |= {"profile": profile or "", "sort": sort}
    if sort not in SORTS:
        errors["sort"] = ("error_choice", "sort")
        sort = "-area"
    if sort == "-score" and not profile:
        sort = "-area"
    try:
        filters = search.PlotFilter.model_validate(
            query | {"profile": profile, "sort": sort, "limit": SEARCH_PAGE_LIMIT, "count": True,
                     "distances": True})
    except ValidationError as exc:
        reverse = {v: k for k, v in HECTARE_FIELDS.items()}
        for error in exc.errors():
            target = str(error["loc"][0]) if error["loc"] else "filters"
            errors.setdefault(reverse.get(target, target), (_error_key(error["type"]), target))
            query.pop(target, None)
        filters = search.PlotFilter.model_validate(
            query | {"profile": None if "profile" in errors else profile,
                     "sort": "-area" if "profile" in errors else sort,
                     "limit": SEARCH_PAGE_LIMIT, "count": True, "distances": True})
    return SearchForm(filters, values, errors)


#: What the search's own refusal of a parameter means to the investor, and where it shows.
SEARCH_ERRORS = {"region": "error_region", "municipality": "error_municipality",
                 "min_area_m2": "error_min_above_max", "profile": "error_profile"}


def regions(conn: Connection) -> list[dict[str, Any]]:
    """The regions of the yardstick level (NUTS-3) that hold zones, each with its parent
    (NUTS-2): the ones a search can find plots in."""
    return [dict(row) for row in conn.execute(
        text("SELECT r.id, r.code, r.name, r.country, p.code AS parent_code, "
             "p.name AS parent_name "
             "FROM region r LEFT JOIN region p ON p.id = r.parent_id "
             "WHERE r.level = :level AND EXISTS ("
             "    SELECT 1 FROM municipality_region mr "
             "    JOIN zone_municipality zm ON zm.municipality_id = mr.municipality_id "
             "    WHERE mr.region_id = r.id) "
             "ORDER BY r.country DESC, r.code"),
        {"level": YARDSTICK_LEVEL}).mappings()]


def municipality_names(conn: Connection) -> list[str]:
    """Municipality names, offered as the search form's suggestions."""
    return list(conn.execute(text("SELECT DISTINCT name FROM municipality ORDER BY 1")).scalars())


#: A map's frame: [[south, west], [north, east]] in degrees, as ``maps.style.bounds_of`` gives.
Frame = list[list[float]]

#: Around a frame, the context drawn reaches this far (m): a border or town just off the
#: data still shows when the map is panned a little.
CONTEXT_MARGIN_M = 15_000

#: Within a frame (as SQL): everything when no frame is given.
_IN_FRAME = """(CAST(:west AS float8) IS NULL OR ST_Intersects({column}, ST_Expand(ST_Transform(
    ST_MakeEnvelope(:west, :south, :east, :north, 4326), 3035), :margin)))"""


def _frame_parameters(frame: Frame | None) -> dict[str, float | None]:
    if not frame:
        return {"west": None, "south": None, "east": None, "north": None,
                "margin": CONTEXT_MARGIN_M}
    (south, west), (north, east) = frame
    return {"west": west, "south": south, "east": east, "north": north,
            "margin": CONTEXT_MARGIN_M}


def region_outlines(conn: Connection, frame: Frame | None = None) -> Outlines:
    """Region boundaries with their names (within ``frame`` and its margin, if given)."""
    return Outlines.of(conn.execute(text(f"""
        SELECT r.id, r.name,
               ST_AsBinary(ST_SimplifyPreserveTopology(r.boundary, {REGION_TOLERANCE_M})) AS wkb
        FROM region r WHERE r.boundary IS NOT NULL AND r.level = :level
          AND {_IN_FRAME.format(column="r.boundary")}
        ORDER BY r.code
    """), {"level": YARDSTICK_LEVEL, **_frame_parameters(frame)}).all())


def towns(conn: Connection, frame: Frame | None = None) -> list[dict[str, Any]]:
    """The municipalities' seats as towns to label, the most populous first (the largest
    first where no population is known: a better guess at a town than the alphabet)."""
    return [dict(row) for row in conn.execute(text(f"""
        SELECT m.name, ST_Y(pt) AS lat, ST_X(pt) AS lon, m.population
        FROM municipality m, ST_Transform(m.seat, 4326) AS pt
        WHERE m.seat IS NOT NULL AND {_IN_FRAME.format(column="m.seat")}
        ORDER BY m.population DESC NULLS LAST, m.area_km2 DESC NULLS LAST, m.name
    """), _frame_parameters(frame)).mappings()]


def context_window(conn: Connection) -> tuple[int, int, int, int]:
    """Whole degrees (west, south, east, north) around the regions the platform's
    municipalities lie in (NUTS-3: a whole country above them would reach far beyond): the
    neighbouring countries drawn on every map, enough to zoom out a few steps from the
    overview."""
    extent = conn.execute(text("""
        SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
        FROM (SELECT ST_Transform(ST_SetSRID(ST_Extent(boundary)::geometry, 3035), 4326) AS e
              FROM region r WHERE r.level = :level AND EXISTS (
                  SELECT 1 FROM municipality m WHERE m.region_id = r.id)) x
    """), {"level": YARDSTICK_LEVEL}).one()
    if extent[0] is None:
        # No region yet: Slovenia and Austria, where the platform began.
        return (9, 44, 18, 50)
    west, south, east, north = extent
    return (max(-180, math.floor(west - 2.5)), max(-90, math.floor(south - 1.5)),
            min(180, math.ceil(east + 2.5)), min(90, math.ceil(north + 1.5)))


def home_countries(conn: Connection) -> tuple[str, ...]:
    """The countries the platform's regions lie in."""
    return tuple(conn.execute(text("SELECT DISTINCT country FROM region ORDER BY 1")).scalars())


def map_context(conn: Connection, t: Translator, frame: Frame | None = None, *,
                standalone: bool = False, base_url: str = "",
                municipalities: bool = True) -> MapContext:
    """Everything a map shows around its data within ``frame`` (all of it without one):
    regions, municipalities, towns and the countries (by URL when served, embedded in a
    standalone file). ``municipalities``: False where the map draws them as its own data."""
    window = context_window(conn)
    if not standalone:
        prepare(window)
    return MapContext(
        t=t,
        regions=region_outlines(conn, frame),
        municipalities=municipality_outlines(conn, frame) if municipalities else None,
        towns=towns(conn, frame),
        countries=country_context(window) if standalone else None,
        countries_url=None if standalone
        else f"{base_url}/maps/context/countries.geojson?bbox={','.join(map(str, window))}",
        home=home_countries(conn),
    )


def profiles(conn: Connection) -> list[str]:
    """Scoring profiles with current scores (none until the scoring feature has run)."""
    if not scores_available(conn):
        return []
    # A profile has current scores once one of its runs has finished: reading the runs
    # (a handful of rows) instead of the scores view keeps this cheap at a million plots.
    return list(conn.execute(text(
        "SELECT DISTINCT profile FROM score_run WHERE status = 'finished' ORDER BY 1")).scalars())


def municipality_outlines(conn: Connection, frame: Frame | None = None) -> Outlines:
    """Municipality boundaries with their names only (within ``frame`` and its margin)."""
    return Outlines.of(conn.execute(text(f"""
        SELECT m.id, m.name,
               ST_AsBinary(ST_SimplifyPreserveTopology(m.boundary, {OUTLINE_TOLERANCE_M})) AS wkb
        FROM municipality m
        WHERE m.boundary IS NOT NULL AND {_IN_FRAME.format(column="m.boundary")}
        ORDER BY m.name
    """), _frame_parameters(frame)).all())


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


def zone_counts(conn: Connection) -> dict[str, int]:
    """How many zones each region (the code zones list as ``region_code``) holds."""
    return dict(conn.execute(text("""
        SELECT r.code, count(*) FROM zone z JOIN municipality m ON m.id = z.municipality_id
        JOIN region r ON r.id = m.region_id GROUP BY r.code
    """)).all())


def municipality_supply(conn: Connection, region_codes: list[str] | None = None,
                        profile: str | None = None, *,
                        tolerance_m: float = OUTLINE_TOLERANCE_M) -> dict[str, Any]:
    """Municipalities with their available plot area and, with a profile, the average plot
    score; outlines simplified by ``tolerance_m``."""
    use_scores = bool(profile) and scores_available(conn)
    score_params: dict[str, Any] = {}
    score_join = ""
    runs = current_scores.current_runs(conn, profile or "") if use_scores else []
    kept = (current_scores.kept_summary_run(conn, profile or "", scored_runs=runs)
            if use_scores else None)
    if kept is not None:
        # The mean from the figures kept for the current runs (0130), summed per zone: no
        # plot or score is read. The zone's municipality, as below.
        score_params["kept_run"] = kept
        score_join = """
        LEFT JOIN (
            SELECT z.municipality_id,
                   CAST(sum(k.score_sum) / nullif(sum(k.scored_plots), 0) AS float8) AS avg_score
            FROM score_summary k
            JOIN zone z ON z.id = k.zone_id
            WHERE k.run_id = :kept_run
            GROUP BY z.municipality_id
        ) sc ON sc.municipality_id = m.id
    """
    elif use_scores:
        current, score_params = current_scores.score_join("p.id", runs, alias="s")
        # Land figures from the kept zone_summary (0007): no plot is read for them.
        score_join = f"""
        LEFT JOIN (
            SELECT z.municipality_id, avg(s.total) AS avg_score
            FROM zone z
            JOIN plot p ON p.zone_id = z.id AND p.retired_at IS NULL
            {current}
            WHERE s.total IS NOT NULL
            GROUP BY z.municipality_id
        ) sc ON sc.municipality_id = m.id
    """
    score_column = "sc.avg_score" if use_scores else "NULL::float"
    rows = conn.execute(text(f"""
        SELECT m.id, m.code, m.name, r.code AS region_code, m.country,
               coalesce(agg.available_area_m2, 0)::float AS available_area_m2,
               coalesce(agg.plot_count, 0) AS plot_count,
               coalesce(agg.zone_count, 0) AS zone_count,
               {score_column} AS avg_score,
               {geometry_sql(f"ST_SimplifyPreserveTopology(m.boundary, {float(tolerance_m)})",
                            OUTLINE_CRS)}
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
          AND (CAST(:regions AS text[]) IS NULL OR EXISTS (
               SELECT 1 FROM municipality_region mr JOIN region rr ON rr.id = mr.region_id
               WHERE mr.municipality_id = m.id AND rr.code = ANY(CAST(:regions AS text[]))))
        ORDER BY r.code, m.name
    """), {"regions": region_codes, "profile": profile, **score_params}).mappings()
    return feature_collection(rows)


def zones(conn: Connection, profile: str | None = None) -> dict[str, Any]:
    """Every zone with its facts and plot aggregates; with a profile, its plots' average score."""
    collection = zone_search.search_zones(conn, zone_search.ZoneFilter()).collection()
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


def _score_sql(conn: Connection, profile: str | None) -> tuple[str, str, dict[str, Any]]:
    """The score column, join and parameters for plot reads: real scores when they exist,
    else NULL."""
    if profile and scores_available(conn):
        join, params = current_scores.score_join(
            "p.id", current_scores.current_runs(conn, profile), alias="s")
        return "round(s.total::numeric, 1)::float AS score", join, params
    return "NULL::float AS score", "", {}


#: What the zone page shows of each plot, in :func:`zone_plots`' order.
ZONE_PLOT_COLUMNS = ("id", "cadastral_ref", "status", "area_m2", "price_eur_m2", "offer",
                     "readiness", "available_from", "last_verified", "score", "outline")


def zone_plots(conn: Connection, zone_id: int, profile: str | None = None) -> dict[str, list]:
    """The zone's current plots by id, as columns (``ZONE_PLOT_COLUMNS``: a list each): what
    the zone's map shows of each (its popup's facts, and its score for ``profile``) and its
    outline as WKB in the storage CRS (the map packs the outlines: ``maps.packed_layer``).

    Read on the driver's cursor without parallel workers or JIT: thousands of rows by one
    index, where workers started on a busy server cost more than the whole read."""
    score_column, score_join, score_params = _score_sql(conn, profile)
    rows = fetch_rows(conn, NO_PARALLEL_WORKERS + f""" SET LOCAL jit = off;
        SELECT p.id, p.cadastral_ref, p.status, round(p.area_m2::numeric, 1)::float AS area_m2,
               p.price_eur_m2::float AS price_eur_m2, p.offer, p.readiness, p.available_from,
               p.last_verified, {score_column}, ST_AsBinary(p.boundary) AS outline
        FROM plot p
        {score_join}
        WHERE p.zone_id = :zone_id AND p.retired_at IS NULL
        ORDER BY p.id
    """, {"zone_id": zone_id, "profile": profile, **score_params})
    columns = list(zip(*rows, strict=True)) or [()] * len(ZONE_PLOT_COLUMNS)
    return {name: list(column) for name, column in zip(ZONE_PLOT_COLUMNS, columns, strict=True)}


def search_plots(conn: Connection, form: SearchForm) -> tuple[dict[str, Any], int]:
    """Plots matching the form's filters and how many match in all, by the plot search itself
    (``locations.search``) with the same filter model, so the page and GET /plots always agree.

    Raises:
        InvalidInput: a filter the search refuses (unknown region, min area above max ...);
            ``field`` is the search's parameter, as GET /plots names it.
    """
    results = search.search_plot_page(conn, form.filters, crs=SEARCH_CRS).collection()
    plots = results["features"]
    if plots:
        # A point inside each plot for its marker, computed once for the page in one call.
        shapes = shapely.from_geojson([json.dumps(plot["geometry"]) for plot in plots])
        points = shapely.point_on_surface(shapes)
        # The page frames its map and context by the results: their extent once, here.
        results["bbox"] = [float(v) for v in shapely.total_bounds(shapes)]
        for plot, x, y in zip(plots, shapely.get_x(points), shapely.get_y(points), strict=True):
            plot["properties"]["lon"] = round(float(x), SEARCH_CRS.decimals)
            plot["properties"]["lat"] = round(float(y), SEARCH_CRS.decimals)
    scores = _plot_scores(conn, [plot["id"] for plot in plots], form.profile)
    for plot in plots:
        plot["properties"]["score"] = scores.get(plot["id"])
    return results, results.get("numberMatched", len(plots))


def _plot_scores(conn: Connection, plot_ids: list[int], profile: str | None) -> dict[int, float]:
    if not profile or not plot_ids or not scores_available(conn):
        return {}
    join, params = current_scores.score_join(
        "p.id", current_scores.current_runs(conn, profile), alias="s")
    return dict(conn.execute(text(f"""
        SELECT p.id, round(s.total::numeric, 1)::float
        FROM unnest(CAST(:ids AS bigint[])) AS p(id) {join}
        WHERE s.total IS NOT NULL
    """), {"ids": plot_ids, **params}).all())
