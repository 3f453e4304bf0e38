"""Zone search: an agency's filters, zones ranked by score or distance, pages of zones.

Every figure a zone list shows is kept per zone, so no plot is read and nothing is looked
up per zone per request: plot counts and areas in ``zone_summary`` (triggers on plot), the
distances to the nearest infrastructure in ``zone_proximity`` (triggers on zone and
infrastructure), the scores in ``zone_score`` (written by each scoring run), and each
zone's outline and properties as GeoJSON text in ``zone_feature`` (triggers on zone, its
figures, municipalities and regions). A page is chosen over its sort keys alone, then its
zones are written as GeoJSON Features around their kept texts: a page of 100 zones costs
the same whether the region holds 100 or 2,500.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, text

from locations import rankings, regions, scoring
from locations.db import fetch_rows
from locations.errors import InvalidInput
from locations.features import ZONE_AGGREGATE_JOIN, ZONE_AGGREGATES
from locations.geojson import EVERYTHING, GEOJSON_CRS, OutputCrs, Window, geometry_sql
from locations.search import ZoneKind
from locations.values import PlainText, parse_id

#: Orders of a zone search (GET /zones?sort=): each ascending, or descending with a "-".
ZoneSort = Literal["name", "-name", "score", "-score", "best", "-best", "available", "-available",
                   "occupancy", "-occupancy", "power", "-power", "motorway", "-motorway"]

#: A page of GET /zones: zones carry their outlines, so a page holds fewer than one of plots.
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

#: Sent in the same string as a zone read: a few thousand rows at most, where compiling
#: with JIT (the planner's cost of the nearest-neighbour lookups passed its threshold) took
#: longer than the whole query.
READ_SETTINGS = "SET LOCAL jit = off;"


class ZoneFilter(BaseModel):
    """What an agency asks of zones."""

    model_config = ConfigDict(extra="forbid")

    region: list[PlainText] = Field(default_factory=list)
    municipality: list[PlainText] = Field(default_factory=list)
    kind: list[ZoneKind] = Field(default_factory=list)
    has_available: bool | None = None
    min_available_area_m2: float | None = Field(None, ge=0)
    profile: str | None = Field(None, pattern=r"^[a-z][a-z_]*$", max_length=40,
                                description="Scoring profile: adds each zone's median and best "
                                            "plot score")
    sort: ZoneSort | None = Field(None, description="Order of the zones; - in front for "
                                                    "descending (score needs a profile)")


#: Zone orders: the column each sorts by (unknown values last, whichever the direction).
ZONE_SORTS = {
    "name": None,
    "score": "zr.score_median",
    "best": "zr.score_best",
    "available": "coalesce(zs.available_area_m2, 0)",
    "occupancy": "zs.occupancy_share",
    "power": "z.power_mw",
    "motorway": "zp.motorway_km",
}

#: What a zone ranking adds to each zone: the median and best plot score of the profile's
#: current run and the straight-line distance from the zone to the nearest motorway junction.
ZONE_RANKING_COLUMNS = """
    round(zr.score_median::numeric, 1)::float AS score_median,
    round(zr.score_best::numeric, 1)::float AS score_best,
    zr.best_plot_id,
    zr.ranked_plots,
    round(z.power_mw::numeric, 2)::float AS zone_power_mw,
    round(zp.motorway_km::numeric, 2)::float AS motorway_km
"""
ZONE_RANKING_JOINS = """
    LEFT JOIN LATERAL (
        SELECT zsc.median_total AS score_median, zsc.best_total AS score_best,
               zsc.best_plot_id, zsc.available_plots AS ranked_plots
        FROM zone_score zsc
        WHERE zsc.zone_id = z.id AND zsc.run_id = ANY (CAST(:run_ids AS bigint[]))
        ORDER BY array_position(CAST(:run_ids AS bigint[]), zsc.run_id)
        LIMIT 1
    ) zr ON true
    LEFT JOIN zone_proximity zp ON zp.zone_id = z.id
"""
#: The same with one current run (the usual case): a plain join, which the planner may
#: take as one pass over the run's zone scores instead of a probe and a sort per zone.
ZONE_RANKING_JOINS_ONE_RUN = """
    LEFT JOIN (
        SELECT zsc.zone_id, zsc.median_total AS score_median, zsc.best_total AS score_best,
               zsc.best_plot_id, zsc.available_plots AS ranked_plots
        FROM zone_score zsc
        WHERE zsc.run_id = (CAST(:run_ids AS bigint[]))[1]
    ) zr ON zr.zone_id = z.id
    LEFT JOIN zone_proximity zp ON zp.zone_id = z.id
"""
#: A column of a zone's municipality (m) or region (r) in SQL over ZONE_JOINS' aliases.
_PLACE_COLUMN = re.compile(r"\b[mr]\.")
#: Every zone read joins these: a zone's municipality and region, and its plot figures.
ZONE_JOINS = f"""
    JOIN municipality m ON m.id = z.municipality_id
    JOIN region r ON r.id = m.region_id
    {ZONE_AGGREGATE_JOIN}
"""


@dataclass(frozen=True)
class Ranking:
    """What a sorted or scored zone search adds: columns, joins, their parameters and the
    standard its scores are by (None without a profile)."""

    columns: str = ""
    joins: str = ""
    params: dict[str, Any] | None = None
    standard: dict[str, Any] | None = None


@dataclass(frozen=True)
class ZonePage:
    """Zones of a search, each a GeoJSON Feature as PostgreSQL wrote it, with how many
    zones the search found (None past its end) and the scores' profile and standard."""

    features: list[str]
    number_matched: int | None
    profile: str | None = None
    standard: dict[str, Any] | None = None

    def members(self) -> dict[str, Any]:
        members: dict[str, Any] = {}
        if self.number_matched is not None:
            members["numberMatched"] = self.number_matched
        if self.standard:
            members |= {"profile": self.profile, "standard": self.standard}
        return members

    def collection(self) -> dict[str, Any]:
        """The zones as a FeatureCollection dict (downloads, maps)."""
        features = [json.loads(feature) for feature in self.features]
        return {"type": "FeatureCollection", "features": features,
                "numberReturned": len(features), **self.members()}

    def geojson(self, links: list[dict[str, Any]]) -> bytes:
        """The zones as FeatureCollection bytes, features spliced in as PostgreSQL wrote them."""
        head = {"type": "FeatureCollection", "numberReturned": len(self.features),
                **self.members(), "links": links}
        opening = json.dumps(head, ensure_ascii=False)[:-1]
        return f'{opening}, "features": [{",".join(self.features)}]}}'.encode()


#: The default order of zones: region code, municipality, name.
DEFAULT_ORDER = "r.code, m.name, z.name, z.id"
#: The same over the keys kept with each zone's Feature (``zone_feature``, joined as
#: ``listing``), in an index: a page of it is read down the index, not sorted.
DEFAULT_ORDER_KEPT = "listing.region_code, listing.municipality_name, listing.name, listing.zone_id"


def _zone_order(filters: ZoneFilter) -> str:
    default = DEFAULT_ORDER
    if not filters.sort:
        return default
    key = filters.sort.lstrip("-")
    column = ZONE_SORTS[key]
    direction = "DESC" if filters.sort.startswith("-") else "ASC"
    if column is None:
        return f"z.name {direction}, r.code, z.id"
    return f"{column} {direction} NULLS LAST, z.name, z.id"


def _ranking(conn: Connection, filters: ZoneFilter, run: dict[str, Any] | None = None) -> Ranking:
    """The columns and joins a sorted or scored zone search adds (``run``: the profile's
    ranking run when the caller has read it already).

    Raises:
        InvalidInput: sorting by score without a profile.
        NotFound: the profile has no finished scoring run.
    """
    if not filters.profile and not filters.sort:
        return Ranking()
    if filters.sort and filters.sort.lstrip("-") in ("score", "best") and not filters.profile:
        raise InvalidInput("sort", "sorting zones by score needs a profile (profile=logistics)")
    run_ids: list[int] = []
    standard = None
    if filters.profile:
        if run is None:  # else the caller has checked the profile and read its run
            scoring.check_profile(conn, filters.profile)
            run = rankings.ranking_run(conn, filters.profile)
        run_ids = run["run_ids"]
        standard = {"name": run["name"], "version": run["version"]}
    joins = ZONE_RANKING_JOINS_ONE_RUN if len(run_ids) == 1 else ZONE_RANKING_JOINS
    return Ranking("," + ZONE_RANKING_COLUMNS, joins, {"run_ids": run_ids}, standard)


def zone_conditions(conn: Connection, filters: ZoneFilter,
                    selection: regions.RegionSelection | None = None) -> tuple[str, dict[str, Any]]:
    """The SQL condition of a zone search over ``z`` (zone) and ``zs`` (its ``zone_summary``),
    and its parameters. A zone lies in every municipality it reaches (``zone_municipality``):
    one partly in the places asked for is listed. ``selection``: ``filters.region`` as the
    caller has resolved it already.

    Raises:
        InvalidInput: an unknown region or municipality.
    """
    places: list[str] = []
    params: dict[str, Any] = {
        "kinds": list(filters.kind) or None, "has_available": filters.has_available,
        "min_available": filters.min_available_area_m2,
    }
    if filters.region:
        params["region_ids"] = (selection or regions.resolve(conn, filters.region)).id_list
        places.append(regions.municipalities_in("zm.municipality_id"))
    if filters.municipality:
        names = [m.strip().lower() for m in filters.municipality]
        ids = [number for m in filters.municipality if (number := parse_id(m)) is not None]
        unknown = conn.execute(text("""
            SELECT count(*) FROM unnest(CAST(:names AS text[])) AS q(name)
            WHERE NOT EXISTS (SELECT 1 FROM municipality m
                              WHERE lower(m.name) = q.name OR m.id::text = q.name)
        """), {"names": names}).scalar_one()
        if unknown:
            raise InvalidInput("municipality", "no municipality has that name or id")
        params |= {"municipality_ids": ids, "municipality_names": names}
        places.append("(zm.municipality_id = ANY (CAST(:municipality_ids AS int[])) OR "
                      "zm.municipality_id IN (SELECT mm.id FROM municipality mm WHERE "
                      "lower(mm.name) = ANY (CAST(:municipality_names AS text[]))))")
    where = """(CAST(:kinds AS text[]) IS NULL OR z.kind = ANY (CAST(:kinds AS text[])))
          AND (CAST(:has_available AS boolean) IS NULL
               OR (coalesce(zs.available_area_m2, 0) > 0) = :has_available)
          AND (CAST(:min_available AS float8) IS NULL
               OR coalesce(zs.available_area_m2, 0) >= :min_available)"""
    if places:
        where += (" AND EXISTS (SELECT 1 FROM zone_municipality zm WHERE zm.zone_id = z.id"
                  f" AND {' AND '.join(places)})")
    return where, params


def search_zones(conn: Connection, filters: ZoneFilter, *, crs: OutputCrs = GEOJSON_CRS,
                 window: Window = EVERYTHING, count: bool = True) -> ZonePage:
    """Zones meeting the filters, each a Feature with its plot figures (geometries in
    ``crs``; the part ``window`` says: by default all of them), in the order ``filters.sort``
    asks (``window.order`` before it), with the number the search found (None when
    ``count`` is off: a page of OGC API items does without it).

    Figures per zone (retired plots left out): ``plot_count``, ``plot_area_m2``,
    ``available_area_m2``, ``plots_by_status`` and ``occupancy_share`` (share of plot area
    sold or occupied); sorted or with a profile, also the ranking's columns
    (``score_median``, ``score_best``, ``best_plot_id``, ``ranked_plots``, ``motorway_km``).

    Raises:
        InvalidInput: an unknown region or municipality, sorting by score with no profile.
        NotFound: the profile has no finished scoring run.
    """
    where, params = zone_conditions(conn, filters)
    ranking = _ranking(conn, filters)
    order = window.order_sql(_zone_order(filters))
    listing = ""
    if order == DEFAULT_ORDER:
        order = DEFAULT_ORDER_KEPT
        listing = "JOIN zone_feature listing ON listing.zone_id = z.id"
    page_where = f"{where} AND {window.where('z.boundary', 'z.id')}"
    # A zone's municipality and region (keys NOT NULL, foreign keys: the joins neither add
    # nor drop a zone) are joined to choose the page only when a condition or the order
    # reads them; planning and probing them was a third of the page's database time.
    page_joins = ZONE_JOINS
    if not _PLACE_COLUMN.search(f"{page_where} {order} {ranking.joins}"):
        page_joins = ZONE_AGGREGATE_JOIN
    matched = "count(*) OVER ()" if count else "CAST(NULL AS bigint)"
    # The page is chosen (and counted) over the sort keys alone, as a top-N sort: no
    # window numbers every match. Its ids come out as one array of (id, matched) pairs in
    # the page's order (ARRAY of an ordered query keeps it), numbered again by unnest
    # WITH ORDINALITY, and each zone's Feature is the text kept for it (zone_feature, kept
    # by triggers as the zone, its municipalities and figures change). The default order
    # is read over the keys kept there, down their index. In another CRS the
    # outline, and with a ranking its columns, are read for the page's zones only and
    # written around the kept properties, the columns spliced in as to_json writes them.
    # On the driver's cursor: this is the OGC zone items' and GET /zones' one statement
    # per request.
    feature = "zf.feature"
    joins = ""
    if crs != GEOJSON_CRS or ranking.columns:
        geometry = ("zf.geometry" if crs == GEOJSON_CRS
                    else f"{geometry_sql('z.boundary', crs)}::json")
        properties = "zf.properties"
        joins = f"JOIN zone z ON z.id = zf.zone_id {ranking.joins}"
        if ranking.columns:
            properties = ("(left(zf.properties::text, -1) || ',' || "
                          "substr(to_json(ranked)::text, 2))::json")
            joins += f" CROSS JOIN LATERAL (SELECT {ranking.columns.lstrip(' ,')}) AS ranked"
        feature = (f"json_build_object('type', 'Feature', 'id', zf.zone_id, 'geometry', "
                   f"{geometry}, 'properties', {properties})::text")
    rows = fetch_rows(conn, READ_SETTINGS + f"""
        WITH page AS MATERIALIZED (
            SELECT ARRAY(
                SELECT ARRAY[z.id, {matched}]
                FROM zone z {page_joins} {ranking.joins} {listing}
                WHERE {page_where}
                ORDER BY {order} {window.limit_sql()}) AS pairs
        )
        SELECT page.pairs[1][2], {feature}
        FROM page
        CROSS JOIN unnest(page.pairs[:][1:1]) WITH ORDINALITY AS listed(id, position)
        JOIN zone_feature zf ON zf.zone_id = listed.id
        {joins}
        ORDER BY listed.position
    """, params | (ranking.params or {}) | window.params())
    if not count:
        matched_count = None
    else:
        matched_count = rows[0][0] if rows else (0 if not window.offset else None)
    return ZonePage([feature for _, feature in rows], matched_count, filters.profile,
                    ranking.standard)


def zone_ranking(conn: Connection, filters: ZoneFilter, *, limit: int | None = None,
                 count: bool = True, run: dict[str, Any] | None = None,
                 selection: regions.RegionSelection | None = None) -> dict[str, Any]:
    """The zones of a search as table rows (no outlines), in the order ``filters.sort`` asks,
    with their plot figures and, with a profile, their median and best plot score; with
    how many zones match (``matched``; None when ``count`` is off). ``run`` and
    ``selection``: the profile's ranking run and ``filters.region`` when the caller has
    read them already (``GET /rankings`` ranks plots by the same run and region).

    Raises:
        InvalidInput: an unknown region or municipality, sorting by score with no profile.
        NotFound: the profile has no finished scoring run.
    """
    filters = filters.model_copy(update={"sort": filters.sort or (
        "-score" if filters.profile else "name")})
    where, params = zone_conditions(conn, filters, selection)
    ranking = _ranking(conn, filters, run)
    params |= (ranking.params or {}) | {"limit": limit}
    rows = None
    if limit and filters.sort in ("score", "-score") and len(params.get("run_ids", ())) == 1:
        rows = _walked_by_score(conn, filters, where, ranking, params, count)
    if rows is None:
        order = _zone_order(filters)
        matched = "count(*) OVER ()" if count else "CAST(NULL AS bigint)"
        rows = conn.execute(text(READ_SETTINGS + f"""
            WITH page AS (
                SELECT z.id, {matched} AS matched,
                       row_number() OVER (ORDER BY {order}) AS position
                FROM zone z {ZONE_JOINS} {ranking.joins}
                WHERE {where}
                ORDER BY {order} {"LIMIT :limit" if limit else ""}
            )
            SELECT {_ZONE_ROW} {ranking.columns}, page.matched
            FROM page JOIN zone z ON z.id = page.id
            {ZONE_JOINS} {ranking.joins}
            ORDER BY page.position
        """), params).mappings().all()
    zones = [dict(row) for row in rows]
    matched = (zones[0]["matched"] if zones else 0) if count else None
    for zone in zones:
        del zone["matched"]
    return {"profile": filters.profile, "standard": ranking.standard, "sort": filters.sort,
            "matched": matched, "zones": zones}


#: A zone ranking's row: the zone, its plot figures and (ranked) its scores.
_ZONE_ROW = f"""z.id, z.name, z.kind, z.municipality_id, m.name AS municipality_name,
               r.code AS region_code, m.country, z.brownfield, z.rail_siding,
               {ZONE_AGGREGATES}"""


def _walked_by_score(conn: Connection, filters: ZoneFilter, where: str, ranking: Ranking,
                     params: dict[str, Any], count: bool) -> list[Any] | None:
    """The first ``:limit`` zones by their median score in the one current run, read down
    ``zone_score_median_idx`` as far as the filters need, or None when fewer than
    ``:limit`` zones have a median (zones without one come after all that have one, by
    name: the caller then orders every zone).

    Numbering and counting every match put all ~2,500 zones through a window sort per
    request (20 ms at a million plots, most of ``GET /rankings``); the walk reads the
    page's zones and a few more.
    """
    direction = "DESC" if filters.sort == "-score" else "ASC"
    order = f"zsc.median_total {direction}, z.name, z.id"
    # The conditions read the zone and its plot figures only; every zone has one
    # municipality, and it one region (both keys NOT NULL), so joining them leaves the rows
    # as they are and is left to the page's zones. The count reads no score: the zones of
    # the search, as the full statement counts them.
    matched = (f"(SELECT count(*) FROM zone z {ZONE_AGGREGATE_JOIN} WHERE {where})" if count
               else "CAST(NULL AS bigint)")
    # The page's zones first, down the index, then each one's rows by key, as written.
    rows = conn.execute(text(READ_SETTINGS + rankings.WRITTEN_JOIN_ORDER + f"""
        WITH page AS (
            SELECT z.id, zsc.median_total
            FROM zone_score zsc
            JOIN zone z ON z.id = zsc.zone_id {ZONE_AGGREGATE_JOIN}
            WHERE zsc.run_id = :walked_run AND zsc.median_total IS NOT NULL AND {where}
            ORDER BY {order}
            LIMIT :limit
        )
        SELECT {_ZONE_ROW} {ranking.columns}, {matched} AS matched
        FROM page JOIN zone z ON z.id = page.id
        {ZONE_JOINS} {ranking.joins}
        ORDER BY page.median_total {direction}, z.name, z.id
    """), params | {"walked_run": params["run_ids"][0]}).mappings().all()
    return rows if len(rows) >= params["limit"] else None
