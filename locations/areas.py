"""A region at any level, as agencies name it: a stored region's code or a NUTS prefix of
several (``AT22`` is all of Styria, ``SI042`` Gorenjska), with the regions it covers and
its population where every municipality's is known."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Connection, text

from locations.errors import InvalidInput

#: A NUTS-style code or prefix: two letters and up to three more (as the plot search reads it).
AREA_CODE = re.compile(r"^[A-Z]{2}[0-9A-Z]{0,3}$")


@dataclass(frozen=True)
class Area:
    """The regions one code covers."""

    code: str
    #: The stored region's name when the code is one region; None for a prefix of several.
    name: str | None
    region_ids: tuple[int, ...]
    region_codes: tuple[str, ...]
    municipalities: int
    #: Inhabitants, only when every municipality's population is known.
    population: int | None
    #: Municipalities whose population nobody gave (then ``population`` is None).
    municipalities_without_population: int


def resolve_area(conn: Connection, code: str, field: str = "region") -> Area:
    """The regions ``code`` names: the region of that code, or every region it prefixes.

    Raises:
        InvalidInput: on ``field``: not a code, or no region has it (the known ones are listed).
    """
    code = (code or "").strip().upper()
    if not AREA_CODE.match(code):
        raise InvalidInput(field, f"{code[:20]!r} is not a region code such as SI042 or AT22")
    rows = conn.execute(text("""
        SELECT r.id, r.code, r.name,
               (SELECT count(*) FROM municipality m WHERE m.region_id = r.id) AS municipalities,
               (SELECT count(*) FROM municipality m
                WHERE m.region_id = r.id AND m.population IS NULL) AS unknown,
               (SELECT sum(m.population) FROM municipality m WHERE m.region_id = r.id) AS people
        FROM region r WHERE r.code LIKE :pattern ORDER BY r.code
    """), {"pattern": code + "%"}).all()
    if not rows:
        known = conn.execute(text("SELECT string_agg(code, ', ' ORDER BY code) FROM region"))
        raise InvalidInput(field, f"unknown region {code!r}; known: {known.scalar_one() or 'none'}")
    exact = next((row.name for row in rows if row.code == code), None)
    unknown = sum(row.unknown for row in rows)
    municipalities = sum(row.municipalities for row in rows)
    population = sum(int(row.people or 0) for row in rows)
    return Area(
        code=code, name=exact,
        region_ids=tuple(row.id for row in rows), region_codes=tuple(row.code for row in rows),
        municipalities=municipalities,
        population=population if municipalities and not unknown else None,
        municipalities_without_population=unknown,
    )
