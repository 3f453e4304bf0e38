"""An agency's figures of a region at any level: land by status and readiness, occupancy,
brownfield share, data freshness and the score distribution of each profile; and two to
four regions side by side, with the differences that matter picked out.

Land figures are sums of the figures kept per zone (``zone_summary``) and municipality
(``municipality_verified_month``), so no plot is read; scores come from the current scoring
runs, the same plots ``GET /rankings`` ranks.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, text

from locations import land_supply, rankings, regions
from locations.areas import Area, resolve_area
from locations.errors import InvalidInput
from locations.vocabulary import PLOT_STATUS, READINESS

#: A plot counts as fresh when someone verified it within this many months.
FRESH_MONTHS = 12
#: Statuses whose land is taken (occupancy counts their area, as zone_summary does).
TAKEN = ("sold", "occupied")
#: Readiness of a plot nobody classified.
UNKNOWN_READINESS = "unknown"
#: How many regions a comparison takes.
MIN_COMPARED, MAX_COMPARED = 2, 4
#: Months of land supply a dashboard shows when no period is given.
SUPPLY_MONTHS = 36


def _months_before(day: dt.date, months: int) -> dt.date:
    month = day.month - months
    year = day.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    # The 31st of a shorter month is its last day.
    for last in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def scored_profiles(conn: Connection) -> list[str]:
    """Profiles with a finished scoring run."""
    return list(conn.execute(text(
        "SELECT DISTINCT profile FROM score_run WHERE status = 'finished' ORDER BY 1")).scalars())


def _land(conn: Connection, area: Area, fresh_since: dt.date) -> dict[str, Any]:
    # The kept per-zone figures (zone_summary) and per-municipality verification months
    # (kept by the triggers on plot in every write's transaction), summed over the region:
    # no plot is read.
    statuses = PLOT_STATUS.codes
    tiers = (*READINESS.codes, UNKNOWN_READINESS)
    sums = [f"coalesce(sum(zs.{status}_count), 0) AS {status}_plots" for status in statuses]
    sums += [f"coalesce(sum(zs.{status}_area_m2), 0) AS {status}_area" for status in statuses]
    sums += [f"coalesce(sum(zs.available_{tier}_count), 0) AS {tier}_plots" for tier in tiers]
    sums += [f"coalesce(sum(zs.available_{tier}_area_m2), 0) AS {tier}_area" for tier in tiers]
    row = conn.execute(text(f"""
        WITH zones AS (
            SELECT z.id FROM zone z
            -- The region's municipalities, at whatever level it is.
            WHERE {regions.municipalities_in("z.municipality_id")}
        )
        SELECT (SELECT count(*) FROM zones) AS zones,
               coalesce(sum(zs.plot_count), 0) AS plots,
               coalesce(sum(zs.plot_area_m2), 0) AS plot_area,
               coalesce(sum(zs.taken_area_m2), 0) AS taken_area,
               coalesce(sum(zs.brownfield_area_m2), 0) AS brownfield_area,
               coalesce(sum(zs.brownfield_available_area_m2), 0) AS brownfield_available,
               {", ".join(sums)},
               -- Plots verified on or after the day: whole months after its month, and
               -- the days of its month from that day on (kept per municipality).
               (SELECT coalesce(sum(v.plots) FILTER (WHERE v.month > :fresh_month), 0)
                       + coalesce(sum((SELECT sum(d) FROM unnest(
                                          v.by_day[CAST(:fresh_day AS int) : 31]) AS d))
                                  FILTER (WHERE v.month = :fresh_month), 0)
                FROM municipality_verified_month v
                WHERE {regions.municipalities_in("v.municipality_id")}
                  AND v.month >= :fresh_month
               ) AS fresh_plots
        FROM zones LEFT JOIN zone_summary zs ON zs.zone_id = zones.id
    """), {"region_ids": list(area.region_ids), "fresh_month": fresh_since.replace(day=1),
           "fresh_day": fresh_since.day}).mappings().one()

    plot_area = float(row["plot_area"])
    plots = int(row["plots"])
    available_area = float(row["available_area"])
    taken_area = float(row["taken_area"])
    brownfield_area = float(row["brownfield_area"])
    brownfield_available = float(row["brownfield_available"])
    fresh_plots = int(row["fresh_plots"])
    by_status = [{"status": code, "plots": int(row[f"{code}_plots"]),
                  "area_m2": round(float(row[f"{code}_area"]), 1)} for code in statuses]
    by_readiness = [{"readiness": code, "plots": int(row[f"{code}_plots"]),
                     "area_m2": round(float(row[f"{code}_area"]), 1)} for code in tiers]

    def share(part: float, whole: float) -> float | None:
        return round(part / whole, 4) if whole else None

    return {
        "zones": int(row["zones"]),
        "plots": plots,
        "plot_area_m2": round(plot_area, 1),
        "available_area_m2": round(available_area, 1),
        "taken_area_m2": round(taken_area, 1),
        "occupancy_share": share(taken_area, plot_area),
        "by_status": by_status,
        "available_by_readiness": by_readiness,
        "brownfield": {
            "area_m2": round(brownfield_area, 1),
            "share_of_plot_area": share(brownfield_area, plot_area),
            "available_area_m2": round(brownfield_available, 1),
            "share_of_available_area": share(brownfield_available, available_area),
        },
        "freshness": {
            "months": FRESH_MONTHS,
            "since": fresh_since.isoformat(),
            "verified_plots": fresh_plots,
            "plots": plots,
            "share": share(fresh_plots, plots),
        },
    }


def region_figures(conn: Connection, code: str, *, profiles: list[str] | None = None,
                   today: dt.date | None = None, field: str = "region",
                   start: dt.date | None = None, end: dt.date | None = None) -> dict[str, Any]:
    """The dashboard of the region ``code`` (a region or a NUTS prefix of several).

    ``profiles``: the score distributions to give (default: every scored profile).
    ``start``, ``end``: the months of its land supply over time (``locations.land_supply``;
    default the last ``SUPPLY_MONTHS`` months).

    Raises:
        InvalidInput: an unknown region or profile (on ``field`` / ``profile``).
    """
    area = resolve_area(conn, code, field)
    today = today or dt.date.today()
    land = _land(conn, area, _months_before(today, FRESH_MONTHS))
    known = scored_profiles(conn)
    if profiles is None:
        profiles = known
    for profile in profiles:
        if profile not in known:
            raise InvalidInput("profile", f"no finished scoring run for {profile!r}; scored: "
                                          f"{', '.join(known) or 'none'}")
    scores = [rankings.score_distribution(conn, profile, list(area.region_ids))
              for profile in profiles]
    if start is None:
        start = _months_before((end or today).replace(day=1), SUPPLY_MONTHS - 1)
    supply = land_supply.supply_series(conn, area.code, start, end).as_dict()
    per_inhabitant = None
    if area.population:
        per_inhabitant = {
            "available_area_m2": round(land["available_area_m2"] / area.population, 3),
            "shovel_ready_area_m2": round(_readiness_area(land, "shovel_ready")
                                          / area.population, 3),
        }
    return {
        "region": area.code,
        "name": area.name,
        "regions": list(area.region_codes),
        "as_of": today.isoformat(),
        "municipalities": area.municipalities,
        "population": area.population,
        "municipalities_without_population": area.municipalities_without_population,
        "per_inhabitant": per_inhabitant,
        **land,
        "scores": scores,
        "standards": _standards(scores),
        "land_supply": supply,
    }


def _readiness_area(figures: dict[str, Any], tier: str) -> float:
    return next(r["area_m2"] for r in figures["available_by_readiness"] if r["readiness"] == tier)


def _standards(scores: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The standard versions the scores are by, each once."""
    seen: list[dict[str, str]] = []
    for score in scores:
        if score["standard"] not in seen:
            seen.append(score["standard"])
    return seen


# ---- regions side by side ---------------------------------------------------------------------

#: Area measures compared as a ratio, by (key, how to read it from a region's figures).
_AREA_MEASURES = (
    ("available_area", lambda f: f["available_area_m2"]),
    ("shovel_ready_area", lambda f: _readiness_area(f, "shovel_ready")),
    ("serviced_area", lambda f: _readiness_area(f, "serviced") + _readiness_area(f, "shovel_ready")),
)
#: Shares compared in percentage points.
_SHARE_MEASURES = (
    ("occupancy", lambda f: f["occupancy_share"]),
    ("brownfield", lambda f: f["brownfield"]["share_of_available_area"]),
    ("freshness", lambda f: f["freshness"]["share"]),
)
#: What counts as a difference worth saying: this ratio of areas, these many points of a share,
#: of a median score.
RATIO_WORTH_SAYING = 1.5
SHARE_POINTS_WORTH_SAYING = 10.0
SCORE_POINTS_WORTH_SAYING = 5.0
#: Areas below this (m²) are "none" rather than a ratio over a sliver.
NEGLIGIBLE_M2 = 1.0


def differences(regions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The differences between the regions worth saying, largest first within each measure:
    for each measure, the region with most against the one with least.

    Each: ``measure``, ``kind`` (``ratio``, ``only`` when the least has none, ``points``),
    ``higher`` and ``lower`` (region codes), their ``values``, and ``ratio`` or ``points``;
    ``profile`` for a median score.
    """
    found: list[dict[str, Any]] = []

    def extremes(read):
        values = [(read(f), f["region"]) for f in regions]
        values = [(v, code) for v, code in values if v is not None]
        if len(values) < 2:
            return None
        high = max(values, key=lambda item: item[0])
        low = min(values, key=lambda item: item[0])
        return high, low

    for key, read in _AREA_MEASURES:
        pair = extremes(read)
        if not pair:
            continue
        (high, high_code), (low, low_code) = pair
        if high < NEGLIGIBLE_M2:
            continue
        if low < NEGLIGIBLE_M2:
            found.append({"measure": key, "kind": "only", "higher": high_code, "lower": low_code,
                          "values": [round(high, 1), round(low, 1)]})
        elif high / low >= RATIO_WORTH_SAYING:
            found.append({"measure": key, "kind": "ratio", "higher": high_code,
                          "lower": low_code, "values": [round(high, 1), round(low, 1)],
                          "ratio": round(high / low, 1)})
    per_inhabitant = [f for f in regions if f["per_inhabitant"]]
    if len(per_inhabitant) >= 2:
        values = [(f["per_inhabitant"]["available_area_m2"], f["region"]) for f in per_inhabitant]
        high, low = max(values), min(values)
        if low[0] > 0 and high[0] / low[0] >= RATIO_WORTH_SAYING:
            found.append({"measure": "available_per_inhabitant", "kind": "ratio",
                          "higher": high[1], "lower": low[1], "values": [high[0], low[0]],
                          "ratio": round(high[0] / low[0], 1)})
    for key, read in _SHARE_MEASURES:
        pair = extremes(read)
        if not pair:
            continue
        (high, high_code), (low, low_code) = pair
        points = (high - low) * 100
        if points >= SHARE_POINTS_WORTH_SAYING:
            found.append({"measure": key, "kind": "points", "higher": high_code,
                          "lower": low_code, "values": [high, low], "points": round(points, 1)})
    profiles = [s["profile"] for s in regions[0]["scores"]]
    for index, profile in enumerate(profiles):
        pair = extremes(lambda f, i=index: f["scores"][i]["median"])
        if not pair:
            continue
        (high, high_code), (low, low_code) = pair
        if high - low >= SCORE_POINTS_WORTH_SAYING:
            found.append({"measure": "median_score", "profile": profile, "kind": "points",
                          "higher": high_code, "lower": low_code, "values": [high, low],
                          "points": round(high - low, 1)})
    return found


def compare(conn: Connection, codes: list[str], *, profiles: list[str] | None = None,
            today: dt.date | None = None, start: dt.date | None = None,
            end: dt.date | None = None) -> dict[str, Any]:
    """Two to four regions (any level) side by side on the same standard version.

    Raises:
        InvalidInput: fewer than two or more than four regions, one given twice, an unknown
            region (named by its position, ``region[2]``) or profile.
    """
    codes = [c.strip().upper() for c in codes if c and c.strip()]
    if not MIN_COMPARED <= len(codes) <= MAX_COMPARED:
        raise InvalidInput("region", f"compare {MIN_COMPARED} to {MAX_COMPARED} regions, "
                                     f"not {len(codes)}")
    if len(set(codes)) != len(codes):
        raise InvalidInput("region", "each region may be given once")
    regions = [region_figures(conn, code, profiles=profiles, today=today,
                              field=f"region[{index + 1}]", start=start, end=end)
               for index, code in enumerate(codes)]
    # Every region's scores come from the same runs (the profile's current ones), so they are
    # on one standard version; the page and the report name it.
    return {
        "regions": regions,
        "standards": regions[0]["standards"],
        "differences": differences(regions),
        "population_known": [f["region"] for f in regions if f["population"]],
        "population_unknown": [f["region"] for f in regions if not f["population"]],
    }



def parse_period(start: str | None, end: str | None) -> tuple[dt.date | None, dt.date | None]:
    """A report's period from two months (``2025-01``; either may be left out).

    Raises:
        InvalidInput: on ``from`` or ``to``: no month, or ``from`` after ``to``.
    """
    first = land_supply.parse_month("from", start.strip() if start and start.strip() else None)
    last = land_supply.parse_month("to", end.strip() if end and end.strip() else None)
    if first and last and first > last:
        raise InvalidInput("from", f"{start} is after {end}")
    return first, last
