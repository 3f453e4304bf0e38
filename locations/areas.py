"""A region at any level, as agencies name it (``AT22`` is all of Styria, ``SI042``
Gorenjska, ``AT-D-606`` a district), with the NUTS-3 regions it spans and its population
where every municipality's is known. The code is resolved by ``locations.regions``."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

from locations import regions
from locations.vocabulary import YARDSTICK_LEVEL


@dataclass(frozen=True)
class Area:
    """The region one code names and what it covers."""

    code: str
    name: str | None
    #: The region itself: readers take its municipalities from ``municipality_region``.
    region_ids: tuple[int, ...]
    #: The NUTS-3 regions (the yardstick level) its municipalities belong to.
    region_codes: tuple[str, ...]
    municipalities: int
    #: Inhabitants, only when every municipality's population is known.
    population: int | None
    #: Municipalities whose population nobody gave (then ``population`` is None).
    municipalities_without_population: int


def resolve_area(conn: Connection, code: str, field: str = "region") -> Area:
    """The region ``code`` names, of any level and in any case.

    Raises:
        InvalidInput: on ``field``: not a code, or no region has it (the known levels are named).
    """
    selection = regions.resolve(conn, [code or ""], field)
    row = conn.execute(text("""
        SELECT r.name,
               count(m.id) AS municipalities,
               count(m.id) FILTER (WHERE m.population IS NULL) AS unknown,
               coalesce(sum(m.population), 0) AS people,
               coalesce((SELECT array_agg(DISTINCT y.code ORDER BY y.code)
                         FROM municipality_region mr2
                         JOIN municipality_region ym ON ym.municipality_id = mr2.municipality_id
                              AND ym.level = :yardstick
                         JOIN region y ON y.id = ym.region_id
                         WHERE mr2.region_id = r.id), '{}') AS nuts3
        FROM region r
        LEFT JOIN municipality_region mr ON mr.region_id = r.id
        LEFT JOIN municipality m ON m.id = mr.municipality_id
        WHERE r.id = :id
        GROUP BY r.id, r.name
    """), {"id": selection.ids[0], "yardstick": YARDSTICK_LEVEL}).one()
    return Area(
        code=selection.codes[0], name=row.name, region_ids=selection.ids,
        region_codes=tuple(row.nuts3) or selection.codes,
        municipalities=row.municipalities,
        population=int(row.people) if row.municipalities and not row.unknown else None,
        municipalities_without_population=row.unknown,
    )
