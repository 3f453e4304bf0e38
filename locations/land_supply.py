"""Land-supply monitoring over time, reconstructed from the audit trail: per region and month,
available area by readiness tier, take-up, new supply, opening stock and years of supply.

Every plot change is a ``plot_event`` counted at its *effective date* (the day it happened,
which an editor may give when recording it later), whatever wrote it (form, API, bulk
file, import): one event, one change. A plot's state after each event (status, readiness,
area, retired or not) is carried forward from the events before it, in SQL
(``supply_contributions``), and what each zone's events add per month is kept in
``zone_supply_month`` by a trigger on every event written, and per municipality in
``municipality_supply_month``, so a region's series is a sum over its municipalities'
months. Each event moves area between:

- **available**: status ``available``, by readiness tier (and ``unknown`` without one);
- **on the market**: available, reserved or under negotiation;
- **taken**: sold or occupied;
- **outside**: not yet recorded, not for sale, or retired.

Take-up is the area entering *taken* (a plot sold, or recorded as sold) less the area
leaving it (a sale reversed, a taken plot retired); new supply is the area entering the
market or taken from *outside* less the area leaving to it (withdrawn, retired). So for
every month, exactly::

    on the market(end) = on the market(start) + opening stock + new supply - take-up

A municipality's first load (the plots created in the same transaction as its first
plot) is *opening stock*: it raises the stock in its month, never the flows. Years of
supply is the available area over the average annual take-up of the last three years
(or of the region's whole trail when shorter, from one year on); with no take-up it is
not determinable, never a division by zero.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection, text

from locations import regions
from locations.errors import InvalidInput, NotFound
from locations.vocabulary import READINESS, YARDSTICK_LEVEL

#: Readiness tiers of the available area, least ready first; ``unknown`` for plots without one.
TIERS = (*READINESS.codes, "unknown")
#: Statuses of land on offer (supply_contributions.v1.sql counts them by their position in
#: the vocabulary; a test holds the two together).
MARKET_STATUSES = ("available", "reserved", "under_negotiation")
#: Years of take-up that years of supply averages over, and the least trail it needs.
TAKE_UP_YEARS = 3
MIN_TRAIL_MONTHS = 12
#: The longest series one request may ask for (20 years of months).
MAX_MONTHS = 240



@dataclass(frozen=True)
class SupplyMonth:
    """One month of a region's land supply; areas in m², stocks at the month's end."""

    month: dt.date
    available_m2: dict[str, float]
    available_total_m2: float
    on_market_m2: float
    opening_stock_m2: float
    new_supply_m2: float
    take_up_m2: float
    reversed_m2: float
    years_of_supply: float | None
    #: Why years of supply is not determinable (None when it is): ``no_take_up`` (none or
    #: less than nothing in the period averaged), ``short_history`` (under a year of trail),
    #: ``no_data`` (no plot recorded yet).
    years_of_supply_reason: str | None


@dataclass(frozen=True)
class SupplySummary:
    """The figures of a series' last month, with the take-up they rest on."""

    as_of: dt.date
    available_m2: dict[str, float]
    available_total_m2: float
    on_market_m2: float
    take_up_last_12_months_m2: float
    new_supply_last_12_months_m2: float
    #: Net take-up over the months averaged (at most 36), and how many months that was.
    take_up_averaged_m2: float
    months_averaged: int
    average_annual_take_up_m2: float | None
    years_of_supply: float | None
    years_of_supply_reason: str | None
    opening_stock_m2: float
    #: The first month of the region's audit trail (its first load), None without plots.
    trail_start: dt.date | None


@dataclass(frozen=True)
class SupplySeries:
    """A region's monthly land-supply series from ``start`` to ``end`` (first days of months)."""

    region: str
    region_names: list[str]
    start: dt.date
    end: dt.date
    months: list[SupplyMonth]
    summary: SupplySummary

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: dates as ISO text."""
        return _jsonable(asdict(self))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def parse_month(field: str, value: str | dt.date | None) -> dt.date | None:
    """``2025-03`` (or a date) as the first day of its month.

    Raises:
        InvalidInput: naming ``field``, when it is no month.
    """
    if value is None or isinstance(value, dt.date):
        return None if value is None else month_start(value)
    match = re.fullmatch(r"\s*(\d{4})-(\d{1,2})(?:-\d{1,2})?\s*", value)
    if match is None or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1990:
        raise InvalidInput(field, f"{value[:20]!r} is not a month such as 2025-03")
    return dt.date(int(match.group(1)), int(match.group(2)), 1)


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _months_between(start: dt.date, end: dt.date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month


#: The region's months: what its municipalities' zones add per month, kept per zone by the
#: zone_supply_event trigger from every event written
#: (locations/sql/functions/supply_contributions.v1.sql carries each plot's state forward
#: from event to event) and summed per municipality by the triggers on zone_supply_month.
_MONTHS_SQL = f"""
SELECT s.month, {", ".join(f"sum(s.{amount}) AS {amount}" for amount in (
    *(f"available_{tier}" for tier in TIERS), "opening_stock", "market_change", "new_supply",
    "take_up", "reversed"))}
FROM municipality_supply_month s
-- The municipalities in the region, at whatever level it is.
JOIN municipality_region mr ON mr.municipality_id = s.municipality_id
WHERE mr.region_id = :region_id
GROUP BY s.month
ORDER BY s.month
"""


def resolve_region(conn: Connection, code: str) -> tuple[int, str, list[str]]:
    """The region of a code of any level, in any case (``AT22`` is all of Styria): its id,
    its code and its name (with those of the NUTS-3 regions below it, when it has several).

    Raises:
        InvalidInput: not a region code; NotFound: no region has it.
    """
    if not isinstance(code, str) or not regions.CODE_SHAPE.match(regions.canonical(code)):
        raise InvalidInput("code", f"{str(code)[:20]!r} is not a region code such as SI042 or AT22")
    try:
        selection = regions.resolve(conn, [code], field="code")
    except InvalidInput as exc:
        raise NotFound(f"no region {regions.canonical(code)}: {exc.args[-1]}") from None
    region_id = selection.ids[0]
    names = conn.execute(text("""
        WITH RECURSIVE below AS (
            SELECT id, code, name, level FROM region WHERE id = :id
            UNION ALL
            SELECT r.id, r.code, r.name, r.level FROM region r JOIN below b ON r.parent_id = b.id
        )
        SELECT name FROM below WHERE id = :id OR level = :yardstick ORDER BY code
    """), {"id": region_id, "yardstick": YARDSTICK_LEVEL}).scalars().all()
    return region_id, selection.codes[0], list(dict.fromkeys(names))


def supply_series(
    conn: Connection, region: str, start: dt.date | None = None, end: dt.date | None = None
) -> SupplySeries:
    """The monthly land-supply series of ``region`` from ``start`` to ``end`` (months, both
    included; default: the region's first load, or five years back, to this month).

    Raises:
        InvalidInput: a malformed region code, ``start`` after ``end``, more than MAX_MONTHS.
        NotFound: no region has that code.
    """
    region_id, region, names = resolve_region(conn, region)
    today = conn.execute(text("SELECT current_date")).scalar_one()
    end = month_start(end) if end is not None else month_start(today)
    rows = conn.execute(text(_MONTHS_SQL), {"region_id": region_id}).mappings().all()
    by_month = {row["month"]: row for row in rows}
    trail_start = rows[0]["month"] if rows else None
    if start is None:
        start = trail_start if trail_start is not None else _add_months(end, -59)
        start = max(start, _add_months(end, -(MAX_MONTHS - 1)))
    start = month_start(start)
    if start > end:
        raise InvalidInput("from", f"{start:%Y-%m} is after {end:%Y-%m}")
    if _months_between(start, end) + 1 > MAX_MONTHS:
        raise InvalidInput("from", f"at most {MAX_MONTHS} months in one series")

    # Stocks are running sums from the trail's start; the take-up averaged is a window of
    # the last 36 months. A few hundred months at most: plain arithmetic here.
    first = min(start, trail_start) if trail_start is not None else start
    available = dict.fromkeys(TIERS, 0.0)
    on_market = 0.0
    history: list[float] = []
    supplies: list[float] = []
    months: list[SupplyMonth] = []
    opening_total = 0.0
    month = first
    while month <= end:
        row = by_month.get(month)
        for tier in TIERS:
            available[tier] += float(row[f"available_{tier}"]) if row else 0.0
        on_market += float(row["market_change"]) if row else 0.0
        opening = float(row["opening_stock"]) if row else 0.0
        opening_total += opening
        take_up = float(row["take_up"]) if row else 0.0
        history.append(take_up)
        supplies.append(float(row["new_supply"]) if row else 0.0)
        if month >= start:
            years, reason, _, _ = _years_of_supply(sum(available.values()), history,
                                                  trail_start, month)
            months.append(SupplyMonth(
                month=month,
                available_m2={tier: _area(value) for tier, value in available.items()},
                available_total_m2=_area(sum(available.values())),
                on_market_m2=_area(on_market),
                opening_stock_m2=_area(opening),
                new_supply_m2=_area(supplies[-1]),
                take_up_m2=_area(take_up),
                reversed_m2=_area(float(row["reversed"]) if row else 0.0),
                years_of_supply=years,
                years_of_supply_reason=reason,
            ))
        month = _add_months(month, 1)
    last = months[-1]
    years, reason, averaged, covered = _years_of_supply(last.available_total_m2, history,
                                                         trail_start, end)
    summary = SupplySummary(
        as_of=end,
        available_m2=last.available_m2,
        available_total_m2=last.available_total_m2,
        on_market_m2=last.on_market_m2,
        take_up_last_12_months_m2=_area(sum(history[-12:])),
        new_supply_last_12_months_m2=_area(sum(supplies[-12:])),
        take_up_averaged_m2=_area(averaged),
        months_averaged=covered,
        average_annual_take_up_m2=_area(averaged / covered * 12) if covered else None,
        years_of_supply=years,
        years_of_supply_reason=reason,
        opening_stock_m2=_area(opening_total),
        trail_start=trail_start,
    )
    return SupplySeries(region=region, region_names=names, start=start, end=end,
                        months=months, summary=summary)


def _years_of_supply(
    available: float, take_ups: list[float], trail_start: dt.date | None, month: dt.date
) -> tuple[float | None, str | None, float, int]:
    """Years the available area lasts at the average annual take-up of the last three years
    to ``month`` (``take_ups`` ends with it), or of the trail when it is shorter.

    Returns (years or None, the reason when None, take-up averaged, months averaged).
    """
    if trail_start is None or month < trail_start:
        return None, "no_data", 0.0, 0
    covered = min(TAKE_UP_YEARS * 12, _months_between(trail_start, month) + 1)
    averaged = sum(take_ups[-covered:])
    if covered < MIN_TRAIL_MONTHS:
        return None, "short_history", averaged, covered
    if averaged <= 0:
        return None, "no_take_up", averaged, covered
    return round(available / (averaged / covered * 12), 2), None, averaged, covered


def _area(value: float) -> float:
    # Areas to a tenth of a square metre, as the audit trail keeps them; no -0.0.
    return round(value, 1) + 0.0
