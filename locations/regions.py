"""Region levels: a region code of any level, in any case, resolved to the regions it names.

Regions form a hierarchy (country, NUTS-1/2/3, national levels such as Austrian districts);
``municipality_region`` holds each municipality's region at every level, kept by triggers.
A region therefore covers everything below it: ``AT22`` is every Styrian municipality,
``AT-D-601`` those of the district Graz (Stadt). Every route, page and command that takes a
``region`` resolves it here, so an unknown code is refused the same way everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, text

from locations.errors import InvalidInput
from locations.vocabulary import REGION_LEVEL

#: What a region code of any level can look like (checked before any SQL): NUTS codes
#: (``SI``, ``AT2``, ``SI042``) and national codes (``AT-D-601``).
CODE_SHAPE = re.compile(r"^[A-Z]{2}(?:[0-9A-Z]{1,3}|-[A-Z]-[0-9A-Z]{1,12})?$")
#: Examples of each level named in a refusal; the rest are counted.
EXAMPLES_PER_LEVEL = 4


@dataclass(frozen=True)
class RegionSelection:
    """Regions named by a caller: their ids and canonical codes, in the order given."""

    ids: tuple[int, ...]
    codes: tuple[str, ...]

    @property
    def id_list(self) -> list[int]:
        return list(self.ids)


def canonical(code: str) -> str:
    """The stored form of a code: upper case, no surrounding space."""
    return code.strip().upper()


def resolve(conn: Connection, codes: Iterable[str], field: str = "region") -> RegionSelection:
    """The regions of ``codes`` (any level, any case), in one round trip.

    Raises:
        InvalidInput: on ``field``, for a code of no known region, naming the known levels
            with examples of their codes.
    """
    wanted = list(dict.fromkeys(canonical(c) for c in codes))
    for code in wanted:
        if not CODE_SHAPE.match(code):
            raise InvalidInput(field, f"{code!r} is not a region code; {known_levels(conn)}")
    found = dict(conn.execute(
        text("SELECT code, id FROM region WHERE code = ANY (CAST(:codes AS text[]))"),
        {"codes": wanted}).all())
    unknown = [c for c in wanted if c not in found]
    if unknown:
        raise InvalidInput(field, f"unknown region {', '.join(unknown)}; {known_levels(conn)}")
    return RegionSelection(ids=tuple(found[c] for c in wanted), codes=tuple(wanted))


def resolve_one(conn: Connection, code: str | None, field: str = "region") -> RegionSelection | None:
    """:func:`resolve` for an optional single code; None when none is given."""
    if code is None:
        return None
    return resolve(conn, [code], field)


def known_levels(conn: Connection) -> str:
    """The levels the database holds, each with examples of its codes, for a refusal."""
    rows = conn.execute(text("""
        SELECT level, count(*) AS n,
               (array_agg(code ORDER BY code))[1:CAST(:examples AS int)] AS examples
        FROM region GROUP BY level
    """), {"examples": EXAMPLES_PER_LEVEL}).mappings().all()
    by_level = {row["level"]: row for row in rows}
    parts = []
    for level in REGION_LEVEL.codes:
        row = by_level.get(level)
        if row is None:
            continue
        more = f" and {row['n'] - len(row['examples'])} more" if row["n"] > len(row["examples"]) else ""
        parts.append(f"{REGION_LEVEL.label(level)}: {', '.join(row['examples'])}{more}")
    if not parts:
        return "no regions are loaded yet"
    return "codes of every level are accepted (" + "; ".join(parts) + ")"


def municipalities_in(municipality: str, parameter: str = "region_ids") -> str:
    """SQL: the municipality ``municipality`` (an id expression) lies in one of the regions
    bound as ``:parameter`` (an int array), at whatever level each is."""
    return (f"EXISTS (SELECT 1 FROM municipality_region mr_in "
            f"WHERE mr_in.municipality_id = {municipality} "
            f"AND mr_in.region_id = ANY (CAST(:{parameter} AS int[])))")


def municipality_ids(conn: Connection, selection: RegionSelection | None) -> list[int] | None:
    """The ids of the municipalities in the selected regions (None: no selection, all)."""
    if selection is None:
        return None
    return list(conn.execute(text(
        "SELECT DISTINCT municipality_id FROM municipality_region "
        "WHERE region_id = ANY (CAST(:ids AS int[])) ORDER BY 1"),
        {"ids": selection.id_list}).scalars())
