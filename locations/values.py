"""What a value from outside must be before it reaches PostgreSQL: text without control
characters, ids within PostgreSQL's integer types, prices and power within plausible bounds.

PostgreSQL refuses NUL in text (psycopg2 already, before sending), overflows an integer or
numeric beyond its type, and takes a zone's power of 1e300 MW only to break every later
sum: each of these was a 500 or a poisoned row. The request models, the field parsers
shared by PATCH, bulk files and the CLI, and the search filters all check with these.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from pydantic import AfterValidator, Field

from locations.errors import InvalidInput, OutOfRange

#: PostgreSQL ``integer``: ids of regions, municipalities, zones, accounts.
INT_MAX = 2**31 - 1
#: PostgreSQL ``bigint``: ids of plots, import jobs, scoring runs, events.
BIGINT_MAX = 2**63 - 1

#: The bounds of migration 0101's CHECK constraints (plot_price_plausible,
#: plot_power_plausible, zone_power_plausible): far beyond any real business plot.
MAX_PRICE_EUR_M2 = 100_000
#: A price is stored to the cent (numeric(10,2)) and must be above 0.
MIN_PRICE_EUR_M2 = 0.01
MAX_POWER_MW = 10_000
#: Migration 0103's bound of a plot's permitted building height (metres above ground).
MAX_BUILDING_HEIGHT_M = 1_000
#: ... and at least: a cap below a storey's height is a slip (centimetres for metres).
MIN_BUILDING_HEIGHT_M = 1
#: The earliest effective date of a plot event (migration 0105's CHECK
#: plot_event_effective_date_plausible): older changes are history before the platform.
EARLIEST_EFFECTIVE_DATE = dt.date(1990, 1, 1)
#: Those CHECK constraints, and the field and bound each keeps.
PLAUSIBILITY_CHECKS = {
    "plot_price_plausible": ("price_eur_m2", MAX_PRICE_EUR_M2),
    "plot_power_plausible": ("power_mw", MAX_POWER_MW),
    "zone_power_plausible": ("power_mw", MAX_POWER_MW),
    "plot_building_height_plausible": ("max_building_height_m", MAX_BUILDING_HEIGHT_M),
}

#: Control characters (C0, DEL, C1) except tab, line feed and carriage return, which a
#: description typed in a form legitimately holds; and lone surrogates, which no UTF-8
#: text can carry. NUL is among them: PostgreSQL stores no NUL in text.
_CONTROL_CHARACTERS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
#: Bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069): they
#: make text display in another order than it is stored, so that a cadastral reference,
#: a file's name or a price in a description reads as something else ("Trojan Source").
#: Written as the characters themselves, which every regex engine reads alike.
BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(rf"[{_CONTROL_CHARACTERS}{BIDI_CONTROLS}\ud800-\udfff]")
#: The same rule as a JSON Schema pattern, so the OpenAPI document says it too. Without the
#: surrogates: regex engines of UTF-8 text (Rust's, ECMAScript's with /u) refuse the range.
PLAIN_TEXT_PATTERN = f"^[^{_CONTROL_CHARACTERS}{BIDI_CONTROLS}]*$"


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text, or None when it can."""
    match = _CONTROL.search(value)
    if match is None:
        return None
    code, position = ord(match.group()), match.start()
    if 0xD800 <= code <= 0xDFFF:
        return f"contains a lone surrogate U+{code:04X} at position {position}: not text"
    if 0x202A <= code <= 0x202E or 0x2066 <= code <= 0x2069:
        return (f"contains the bidirectional control U+{code:04X} at position {position}, "
                "which shows the text in another order than it is stored")
    return (f"contains the control character U+{code:04X} at position {position}; "
            "only tab and line breaks are allowed")


def check_text(field: str, value: str) -> str:
    """``value`` unchanged, when it holds no control character.

    Raises:
        InvalidInput: on ``field``, saying which character and where.
    """
    problem = text_problem(value)
    if problem is not None:
        raise InvalidInput(field, problem)
    return value


def _plain(value: str) -> str:
    problem = text_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


#: A text field of a request model or a query parameter: no control characters (422 naming
#: the field, from validation, before any SQL).
PlainText = Annotated[str, AfterValidator(_plain),
                      Field(json_schema_extra={"pattern": PLAIN_TEXT_PATTERN})]
#: Ids as PostgreSQL stores them: positive, within ``integer`` or ``bigint``.
IntegerId = Annotated[int, Field(ge=1, le=INT_MAX)]
BigintId = Annotated[int, Field(ge=1, le=BIGINT_MAX)]


def parse_id(value: str, maximum: int = INT_MAX) -> int | None:
    """``value`` as an id when it is one (ASCII digits, at most ``maximum``), else None.

    ``str.isdigit`` also accepts '²' (which ``int`` refuses) and '١' (which it reads as
    1): a name that merely looks like digits is a name, never a 500 nor another id.
    """
    digits = value.strip()
    if not (digits.isascii() and digits.isdigit()):
        return None
    number = int(digits)
    return number if number <= maximum else None


def out_of_range(exc: BaseException) -> OutOfRange | None:
    """What a write the database refused by a plausibility CHECK means, naming the field;
    None for any other error. For writers that reach the database without the field rules."""
    diagnostics = getattr(getattr(exc, "orig", exc), "diag", None)
    constraint = getattr(diagnostics, "constraint_name", None)
    if constraint not in PLAUSIBILITY_CHECKS:
        return None
    field, maximum = PLAUSIBILITY_CHECKS[constraint]
    return OutOfRange(field, f"must be at most {maximum:,}")
