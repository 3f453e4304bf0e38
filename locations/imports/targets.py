"""What each import target accepts: its fields, their types and allowed values, and how a file's columns are checked.

The plots' and zones' fields are the field catalogue's (``locations.fields``).

Field checks here are column-wise (pandas); spatial and reference checks run
in PostGIS (see ``locations.imports.staging``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from locations import vocabulary as v
from locations.fields import PLOTS, ZONES, Collection
from locations.formats import FORMULA_START
from locations.limits import length_problem, max_chars
from locations.local_formats import DATE_FORMATS, parse_date
from locations.local_formats import numbers as as_numbers
from locations.values import BIDI_CONTROLS, INT_MAX, text_problem

PLOT_STATUSES = v.PLOT_STATUS.codes
USES = v.USE.codes
INFRASTRUCTURE_KINDS = v.INFRASTRUCTURE_KIND.codes

POLYGONS = ("POLYGON", "MULTIPOLYGON")
POINTS_AND_LINES = ("POINT", "LINESTRING", "MULTILINESTRING")
POINTS = ("POINT",)

_TRUE = {"true", "t", "yes", "y", "1", "ja", "da", "wahr"}
_FALSE = {"false", "f", "no", "n", "0", "nein", "ne", "falsch"}


@dataclass(frozen=True)
class FieldSpec:
    """One importable field: its type ('text', 'enum', 'number', 'integer', 'bool', 'date', 'uses')."""

    name: str
    kind: str = "text"
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    #: At most: the database's own bound (a CHECK, or the type's range), refused here so that
    #: a dry run refuses what the load would.
    maximum: float | None = None
    positive: bool = False
    required: bool = False
    doc: str = ""
    #: Other column names a file may give the field under (an older layout's).
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Target:
    """An import target: the table it fills, its natural key and the geometry types it takes."""

    name: str
    table: str
    fields: tuple[FieldSpec, ...]
    key: tuple[str, ...]
    geometry_types: tuple[str, ...]

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


def _enum(name: str, choices: tuple[str, ...], **kw) -> FieldSpec:
    return FieldSpec(name, "enum", choices=choices, **kw)


def _catalogued(collection: Collection) -> tuple[FieldSpec, ...]:
    """The import layout of a catalogued collection (``locations.fields``)."""
    return tuple(
        FieldSpec(f.name, f.kind, choices=f.choices if f.kind == "enum" else (),
                  minimum=f.minimum, maximum=f.maximum, positive=f.positive,
                  required=f.required, doc=f.import_doc, aliases=f.aliases)
        for f in collection.importable)


#: The area a file states (km²); the platform's own area_km2 is the boundary's, computed.
OFFICIAL_AREA = FieldSpec("official_area_km2", "number", positive=True, aliases=("area_km2",),
                          doc="the area the source states, kept beside the computed one")

TARGETS: dict[str, Target] = {
    "regions": Target(
        "regions", "region",
        (
            FieldSpec("code", required=True,
                      doc="NUTS code (SI042, AT22) or a national one (AT-D-601)"),
            FieldSpec("name", required=True),
            FieldSpec("country", doc="ISO 3166 two letters; default: the code's first two"),
            _enum("level", v.REGION_LEVEL.codes,
                  doc="country, nuts1, nuts2, nuts3 or district; it must fit the code's form"),
            OFFICIAL_AREA,
        ),
        key=("code",), geometry_types=POLYGONS,
    ),
    "municipalities": Target(
        "municipalities", "municipality",
        (
            FieldSpec("code", required=True, doc="Slovenian občina code or Austrian Gemeindekennziffer"),
            FieldSpec("name", required=True),
            FieldSpec("region", doc="region code; default: the region the municipality lies in"),
            FieldSpec("country", doc="default: the region's country"),
            FieldSpec("population", "integer", minimum=0, maximum=INT_MAX),
            OFFICIAL_AREA,
        ),
        key=("country", "code"), geometry_types=POLYGONS,
    ),
    "seats": Target(
        "seats", "municipality",
        (
            FieldSpec("code", required=True, doc="the code of a municipality in the platform"),
            FieldSpec("country", doc="default: the country of the one municipality of that code"),
            _enum("kind", v.SEAT_KIND.codes, doc="seat (default) or centroid"),
        ),
        key=("country", "code"), geometry_types=POINTS,
    ),
    "zones": Target("zones", "zone", _catalogued(ZONES),
                    key=("municipality_id", "name"), geometry_types=POLYGONS),
    "plots": Target("plots", "plot", _catalogued(PLOTS),
                    key=("country", "cadastral_ref"), geometry_types=POLYGONS),
    "infrastructure": Target(
        "infrastructure", "infrastructure",
        (
            _enum("kind", INFRASTRUCTURE_KINDS, required=True),
            FieldSpec("name", required=True),
            FieldSpec("code"),
        ),
        key=("kind", "name"), geometry_types=POINTS_AND_LINES,
    ),
    "constraints": Target(
        "constraints", "constraint_area",
        (
            _enum("kind", v.CONSTRAINT_KIND.codes, required=True),
            FieldSpec("name", required=True),
            _enum("severity", v.SEVERITY.codes),
        ),
        key=("kind", "name"), geometry_types=POLYGONS,
    ),
}


def target(name: str) -> Target:
    from locations.errors import InvalidInput

    if name not in TARGETS:
        raise InvalidInput("target", f"unknown target {name!r}; use one of {', '.join(TARGETS)}")
    return TARGETS[name]


def _as_text(column: pd.Series) -> pd.Series:
    """Cells as stripped text, None where empty; whole floats (2105.0 from a spreadsheet) as integers.

    Columns of one kind (all text, all numbers, all dates) are converted
    column-wise; only mixed columns (spreadsheets) go cell by cell.
    """
    fast = _as_text_columnwise(column)
    if fast is not None:
        return fast

    def one(value: object) -> str | None:
        if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
            return None
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        if isinstance(value, pd.Timestamp):
            return value.date().isoformat()
        text = str(value).strip()
        return text or None

    result = column.map(one).astype(object)
    # A column with no value at all comes back as float NaN: make those None too.
    return result.where(result.notna(), None)


def _split_uses(value: str) -> str:
    """"Logistics; Services" -> "logistics,services" ("" when none)."""
    return ",".join(u.strip().lower() for u in re.split(r"[,;|]", value.strip("{}[]")) if u.strip())


def _by_distinct(text: pd.Series, transform) -> pd.Series:
    """``transform`` applied to each distinct value once (a file holds few statuses, dates, zones).

    Missing values stay None and are not passed to ``transform``.
    """
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    done = transform(pd.Series(uniques, dtype=object)).to_numpy(dtype=object, na_value=None)
    values = np.empty(len(text), dtype=object)
    found = codes >= 0
    values[found] = done[codes[found]]
    return pd.Series(values, index=text.index, dtype=object)


def _iso_dates(texts: pd.Series) -> pd.Series:
    """Dates as "YYYY-MM-DD", from ISO text or the day-first dates of a spreadsheet
    ("1. 03. 2027"); None for text that is no date."""
    iso = pd.to_datetime(texts, errors="coerce", format="ISO8601").dt.strftime("%Y-%m-%d")
    iso = iso.astype(object).where(iso.notna(), None)
    for position in np.flatnonzero(iso.isna().to_numpy()):
        parsed = parse_date(str(texts.iloc[position]))
        iso.iloc[position] = parsed.isoformat() if parsed else None
    return iso


def _none_where_missing(text: pd.Series, missing: np.ndarray) -> pd.Series:
    values = text.to_numpy(dtype=object, na_value=None).copy()
    values[missing] = None
    return pd.Series(values, index=text.index, dtype=object)


def _as_text_columnwise(column: pd.Series) -> pd.Series | None:
    """``_as_text`` for a column of one kind, without Python per cell; None for a mixed column."""
    if pd.api.types.is_bool_dtype(column):
        return _none_where_missing(column.astype(str).str.lower(), column.isna().to_numpy())
    if pd.api.types.is_integer_dtype(column):
        return _none_where_missing(column.astype(str), column.isna().to_numpy())
    if pd.api.types.is_float_dtype(column):
        numbers = column.to_numpy(dtype=float, na_value=np.nan)
        missing = np.isnan(numbers)
        whole = ~missing & np.isfinite(numbers) & (np.mod(numbers, 1) == 0) & (np.abs(numbers) < 2**53)
        text = np.where(whole, np.where(whole, numbers, 0).astype(np.int64).astype(str),
                        numbers.astype(str)).astype(object)
        return _none_where_missing(pd.Series(text, index=column.index), missing)
    if pd.api.types.is_datetime64_any_dtype(column):
        return _none_where_missing(column.dt.strftime("%Y-%m-%d"), column.isna().to_numpy())
    if isinstance(column.dtype, pd.StringDtype):
        # Text read by Arrow: strip it in Arrow, all at once.
        values = column.str.strip().to_numpy(dtype=object, na_value=None)
        return _none_where_missing(pd.Series(values, index=column.index, dtype=object),
                                   pd.isna(values) | (values == ""))
    if pd.api.types.infer_dtype(column, skipna=True) not in ("string", "empty"):
        return None
    stripped = _by_distinct(column.astype(object).where(column.notna(), None),
                            lambda u: u.str.strip())
    missing = stripped.isna().to_numpy() | (stripped == "").to_numpy()
    return _none_where_missing(stripped, missing)


#: Any control character (C0, DEL, C1, bidirectional): the cells holding one, found by Arrow (RE2) a column
#: at a time, are judged by ``values.text_problem``, which allows tab and line breaks.
ANY_CONTROL = f"[\\x00-\\x1f\\x7f-\\x9f{BIDI_CONTROLS}]"
#: Text that an export quoted lest a spreadsheet run it as a formula (``formats``): "'=..."
QUOTED_FORMULA = "^'" + FORMULA_START.removeprefix("^")


def _plain_text(text: pd.Series, field: str, problems: list[tuple[int, str, str]],
                index: pd.Index) -> pd.Series:
    """``text`` with each cell that holds a forbidden control character or is longer than
    ``field`` may be (``limits``) reported; such a control character is taken out of its
    cell, so that it reaches neither the staging table (PostgreSQL takes no NUL) nor the
    other problems' messages. The quote an export put before a formula-like text is taken
    off. Column-wise: a few regexes and a length over the column."""
    values = pa.array(text.to_numpy(dtype=object), type=pa.large_string(), from_pandas=True)
    suspect = pc.match_substring_regex(values, ANY_CONTROL)
    too_long = pc.greater(pc.utf8_length(values), max_chars(field))
    flagged = np.flatnonzero(
        pc.or_kleene(suspect, too_long).fill_null(False).to_numpy(zero_copy_only=False))
    quoted = np.flatnonzero(pc.match_substring_regex(values, QUOTED_FORMULA)
                            .fill_null(False).to_numpy(zero_copy_only=False))
    if not len(flagged) and not len(quoted):
        return text
    cleaned = text.to_numpy(dtype=object, na_value=None).copy()
    for position in quoted:
        cleaned[position] = cleaned[position][1:].strip() or None
    for position in flagged:
        value = cleaned[position]
        if value is None:  # a quote before nothing but spaces
            continue
        for problem in (text_problem(value), length_problem(field, value)):
            if problem is not None:
                problems.append((int(index[position]) + 1, field, problem))
        if text_problem(value) is not None:
            cleaned[position] = re.sub(ANY_CONTROL, "", value).strip() or None
    return pd.Series(cleaned, index=text.index, dtype=object)


def normalise(
    frame: pd.DataFrame, spec: Target
) -> tuple[pd.DataFrame, list[tuple[int, str, str]]]:
    """The target's fields as canonical text (what the staging table holds), and every field problem.

    Problems are ``(row, field, reason)``; the row is the frame's index label + 1,
    so rows dropped by a mapping's ``where`` keep their numbers in the file.
    """
    problems: list[tuple[int, str, str]] = []
    out = pd.DataFrame(index=frame.index)

    def report(mask: pd.Series, field: str, reason: str, values: pd.Series | None = None,
               suffix: str = "") -> None:
        # The message is built only for the rows that have the problem.
        for position in np.flatnonzero(mask.to_numpy(dtype=bool, na_value=False)):
            text = reason if values is None else f"{reason}{values.iloc[position]}{suffix}"
            problems.append((int(frame.index[position]) + 1, field, text))

    for field in spec.fields:
        if field.name not in frame.columns:
            if field.required:
                report(pd.Series(True, index=frame.index), field.name, "required field missing")
            continue
        column = frame[field.name]
        numeric = (field.kind in ("number", "integer") and pd.api.types.is_numeric_dtype(column)
                   and not pd.api.types.is_bool_dtype(column))
        # A column of numbers is checked as numbers, not written as text and parsed back.
        text = (pd.Series(column.to_numpy(dtype=float, na_value=np.nan), index=frame.index)
                if numeric else _as_text(column))
        if field.required:
            report(text.isna(), field.name, "required field missing")
        if not numeric:
            text = _plain_text(text, field.name, problems, frame.index)
        present = text.notna()
        if field.kind == "enum":
            canonical = _by_distinct(
                text, lambda u: u.str.lower().str.replace(r"[\s-]+", "_", regex=True))
            bad = present & ~canonical.isin(field.choices)
            report(bad, field.name, "not one of " + ", ".join(field.choices) + ": ", text)
            text = canonical.where(present, None)
        elif field.kind in ("number", "integer"):
            # Decimal commas are common in Slovenian and Austrian spreadsheets.
            numbers = text if numeric else as_numbers(text)
            bad = present & numbers.isna()
            report(bad, field.name, "not a number: ", text)
            if field.kind == "integer":
                fractional = present & numbers.notna() & (numbers % 1 != 0)
                report(fractional, field.name, "not a whole number: ", text)
            if field.positive:
                report(present & (numbers <= 0), field.name, "must be greater than 0")
            if field.minimum is not None:
                # A price of -3 is told it must be above 0, not that as well.
                report(present & (numbers < field.minimum)
                       & ~(field.positive & (numbers <= 0)), field.name,
                       f"must be at least {field.minimum:g}")
            if field.maximum is not None:
                report(present & (numbers > field.maximum), field.name,
                       f"must be at most {field.maximum:,g}")
            values = numbers.to_numpy(dtype=float, na_value=np.nan)
            missing = np.isnan(values)
            if field.kind == "integer":
                values = np.where(missing, 0, values).astype(np.int64)
            # Arrow prints the shortest text that reads back as the same number (2105.0 as
            # "2105"), ten times faster than numpy; a missing number stays None.
            printed = pa.array(values, mask=missing).cast(pa.string())
            text = pd.Series(printed.to_numpy(zero_copy_only=False), index=frame.index, dtype=object)
        elif field.kind == "bool":
            lowered = _by_distinct(text, lambda u: u.str.lower())
            is_true, is_false = lowered.isin(_TRUE).to_numpy(), lowered.isin(_FALSE).to_numpy()
            canonical = pd.Series(np.select([is_true, is_false], ["true", "false"], ""),
                                  index=frame.index)
            canonical = _none_where_missing(canonical, ~(is_true | is_false))
            report(present & canonical.isna(), field.name, "not yes/no: ", text)
            text = canonical
        elif field.kind == "date":
            # Few distinct dates in a file: parse each once.
            iso = _by_distinct(text, _iso_dates)
            report(present & iso.isna(), field.name, f"not a date ({DATE_FORMATS}): ", text)
            text = iso
        elif field.kind == "uses":
            parts = _by_distinct(text, lambda u: u.map(_split_uses))
            unknown = _by_distinct(parts, lambda u: u.map(
                lambda joined: ", ".join(x for x in joined.split(",") if x not in USES) or None))
            report(unknown.notna(), field.name, "unknown use(s): ", unknown,
                   "; allowed: " + ", ".join(USES))
            text = parts.where(present & (parts != ""), None)
        out[field.name] = text
    return out, problems
