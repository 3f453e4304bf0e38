"""How each editable field of a plot or zone is checked and normalised: one rule per field of
the field catalogue (``locations.fields``), shared by PATCH, bulk files, the forms and the CLI."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from typing import Any

from locations import fields as catalogue
from locations import vocabulary as v
from locations.availability import check_status
from locations.errors import InvalidInput, OutOfRange
from locations.fields import Field
from locations.geojson import jsonable
from locations.limits import check_length
from locations.local_formats import DATE_FORMATS, number_text, parse_date
from locations.values import check_text

USES = v.USE.codes


def _choice(*allowed: str) -> Callable[[str, Any], Any]:
    def parse(field: str, value: Any) -> Any:
        if value is None:
            return None
        if value not in allowed:
            raise InvalidInput(field, f"{value!r} is not one of: {', '.join(allowed)}")
        return value

    return parse


def _number(minimum: float, maximum: float) -> Callable[[str, Any], Any]:
    def parse(field: str, value: Any) -> Any:
        if value is None:
            return None
        try:
            # A decimal comma, as spreadsheets in Slovenia and Austria write it, is a decimal.
            number = float(number_text(value) if isinstance(value, str) else value)
        except (TypeError, ValueError):
            raise InvalidInput(field, f"{value!r} is not a number") from None
        if not math.isfinite(number):
            raise InvalidInput(field, "must be a finite number")
        if number < minimum:
            raise InvalidInput(field, f"must be at least {minimum:g}")
        if number > maximum:
            # The database's CHECK constraint would refuse it too, after the work was done.
            raise OutOfRange(field, f"must be at most {maximum:,}")
        return number

    return parse


def _date(field: str, value: Any) -> Any:
    if value is None or isinstance(value, dt.date):
        return value
    parsed = parse_date(str(value))
    if parsed is None:
        raise InvalidInput(field, f"{value!r} is not a date ({DATE_FORMATS})")
    return parsed


def _boolean(field: str, value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in ("true", "yes", "1", "y"):
        return True
    if word in ("false", "no", "0", "n"):
        return False
    raise InvalidInput(field, f"{value!r} is not true or false")


def _uses(field: str, value: Any) -> Any:
    if value is None:
        return []
    # Files carry lists as "manufacturing;logistics".
    items = value if isinstance(value, list) else str(value).replace(",", ";").split(";")
    uses = [str(item).strip() for item in items if str(item).strip()]
    unknown = [use for use in uses if use not in USES]
    if unknown:
        raise InvalidInput(field, f"unknown use(s) {', '.join(unknown)}; known: {', '.join(USES)}")
    return sorted(set(uses))


def _text(field: str, value: Any) -> Any:
    if value is None:
        return None
    value = check_length(field, check_text(field, str(value)).strip())
    return value or None


def _status(field: str, value: Any) -> Any:
    return check_status(value)


def _rule(field: Field) -> Callable[[str, Any], Any]:
    """How a value of the catalogued ``field`` is checked and normalised."""
    if field.vocabulary is v.PLOT_STATUS:
        return _status  # and its transitions, by the state machine
    if field.kind == "enum":
        return _choice(*field.choices)
    if field.kind == "number":
        return _number(field.minimum, field.maximum)
    return {"date": _date, "bool": _boolean, "uses": _uses, "text": _text}[field.kind]


#: What a municipality may change on a plot, and how each value is checked.
PLOT_FIELDS: dict[str, Callable[[str, Any], Any]] = {
    f.name: _rule(f) for f in catalogue.PLOTS.editable}

#: What a municipality may change on a zone: its facts, infrastructure and manager contact.
ZONE_FIELDS: dict[str, Callable[[str, Any], Any]] = {
    f.name: _rule(f) for f in catalogue.ZONES.editable}

#: The values of each field that takes one of a few (the API documents them as its enums).
CHOICES: dict[str, tuple[str, ...]] = {
    f.name: f.choices for f in (*catalogue.PLOTS.editable, *catalogue.ZONES.editable)
    if f.kind == "enum" and f.vocabulary is not v.PLOT_STATUS}

#: Fields that may not be cleared (the schema or the domain needs a value).
NOT_NULL = {f.name for f in (*catalogue.PLOTS.editable, *catalogue.ZONES.editable)
            if not f.clearable}


def parse_fields(
    values: Mapping[str, Any], rules: Mapping[str, Callable[[str, Any], Any]]
) -> dict[str, Any]:
    """Check and normalise ``values`` against ``rules`` (PLOT_FIELDS or ZONE_FIELDS).

    Raises:
        InvalidInput: an unknown field, or a value its rule refuses.
    """
    parsed = {}
    for field, value in values.items():
        if field not in rules:
            raise InvalidInput(field, f"not a field that can be changed; known: {', '.join(rules)}")
        if value is None and field in NOT_NULL:
            raise InvalidInput(field, "cannot be cleared")
        parsed[field] = rules[field](field, value)
    return parsed


def changed_fields(current: Mapping[str, Any], parsed: Mapping[str, Any]) -> dict[str, tuple]:
    """``{field: (old, new)}`` for the fields whose value really changes, JSON-ready."""
    changes = {}
    for field, new in parsed.items():
        old = jsonable(current[field])
        new = jsonable(new)
        if isinstance(old, list):
            old = sorted(old)
        if old != new:
            changes[field] = (old, new)
    return changes
