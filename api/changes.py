"""What a write to a plot or a zone asks for: the version read (If-Match), the change's body
built from the field catalogue (``locations.fields``), and the audit note."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from fastapi import Header
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, create_model

from api.responses import WRITE_ERRORS, error_responses
from locations import field_rules
from locations import fields as catalogue
from locations.errors import InvalidInput, PreconditionRequired
from locations.values import PlainText

#: The refusals every write documents.
WRITE = error_responses(*WRITE_ERRORS)

IfMatch = Annotated[
    str | None,
    Header(description='The ETag you read, e.g. "3"; a stale one gives 412, none gives 428'),
]
NOTE = Field(default=None, max_length=2000, description="Why: kept in the audit trail")
EFFECTIVE_DATE = Field(
    default=None,
    description="The day the change happened, when it is recorded later (default today; "
                "not in the future, not before the plot's latest recorded change). "
                "Land-supply monitoring counts the change in this day's month.",
)


def _one_of(values: tuple[str, ...]) -> Any:
    """Text documented as one of ``values``. The field rules refuse any other value (400
    naming the field), as they do for bulk files and the CLI."""
    return Annotated[PlainText, WithJsonSchema({"type": "string", "enum": list(values)})]


def _within(minimum: float, maximum: float) -> Any:
    """A number within the database's bounds: above ``maximum`` refused here (422), below
    ``minimum`` by the field rules (400 naming the field), as it always was."""
    return Annotated[float, Field(le=maximum),
                     WithJsonSchema({"type": "number", "minimum": minimum, "maximum": maximum})]


Use = _one_of(field_rules.USES)


def _annotation(field: catalogue.Field) -> Any:
    """The request type of a catalogued field."""
    if field.kind == "enum":
        return _one_of(field.choices)
    if field.kind == "number":
        return _within(field.minimum, field.maximum)
    return {"date": dt.date, "bool": bool, "uses": list[Use], "text": PlainText}[field.kind]


def _changes(collection: catalogue.Collection) -> dict[str, Any]:
    """Each editable field of ``collection`` as an optional member of a change's body."""
    return {f.name: (_annotation(f) | None,
                     Field(default=None, description=f.description, max_length=f.max_chars))
            for f in collection.editable}


_PlotFields = create_model("_PlotFields", __config__=ConfigDict(extra="forbid"),
                           **_changes(catalogue.PLOTS))
_ZoneFields = create_model("_ZoneFields", __config__=ConfigDict(extra="forbid"),
                           **_changes(catalogue.ZONES))


class PlotChange(_PlotFields):
    """Fields to change; leave out what stays, send null to clear an optional value."""

    geometry: dict[str, Any] | None = Field(
        default=None, description="New outline: GeoJSON Polygon or MultiPolygon in `crs`"
    )
    crs: PlainText | None = Field(default=None,
                                  description="CRS of `geometry`, default CRS84 (lon/lat)")
    note: PlainText | None = NOTE
    effective_date: dt.date | None = EFFECTIVE_DATE


class NewPlot(PlotChange):
    """A new plot in the zone: its cadastral reference and outline, and any plot field."""

    cadastral_ref: PlainText = Field(min_length=1, max_length=100)
    geometry: dict[str, Any] = Field(description="GeoJSON Polygon or MultiPolygon in `crs`")


class ZoneChange(_ZoneFields):
    """Zone facts, infrastructure and manager contact to change."""

    note: PlainText | None = NOTE


class Note(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: PlainText | None = NOTE


class Retirement(Note):
    effective_date: dt.date | None = EFFECTIVE_DATE


def expected_version(if_match: str | None) -> int:
    """The version named by an If-Match header.

    Raises:
        PreconditionRequired: no header, or '*' (which would overwrite blindly).
        InvalidInput: not an ETag this API hands out.
    """
    if if_match is None or not if_match.strip():
        raise PreconditionRequired(
            'this write needs an If-Match header with the ETag you read, e.g. If-Match: "3"'
        )
    if if_match.strip() == "*":
        raise PreconditionRequired('If-Match: * would overwrite blindly; send the ETag you read')
    match = re.fullmatch(r'\s*(?:W/)?"?(\d{1,9})"?\s*', if_match)
    if match is None:
        raise InvalidInput("If-Match", f"{if_match[:40]!r} is not an ETag of this API, e.g. \"3\"")
    return int(match.group(1))
