"""Column mappings: how the attributes of a source file (GURS, BEV, Statistik Austria, GISCO ...) become the platform's fields.

A mapping is a small YAML file (shipped ones live in ``data/mappings/``)::

    name: gurs-parcels
    target: plots
    fields:                      # platform field: source column or template
      cadastral_ref: "{KO_ID} {ST_PARCELE}"
      zone: CONA
    values:                      # optional: source value -> platform value, per field
      status: {prosto: available}
    constants:                   # optional: the same value on every row
      country: SI
    where: {LEVL_CODE: 3}        # optional: keep only rows whose column equals the value

A field given as a bare column name copies that column; a template with
``{COLUMN}`` or ``{COLUMN:format}`` placeholders (Python format specs, e.g.
``{OB_ID:0>3}``) builds the value from several columns. A field may list
alternatives, the layouts in circulation of the same source: the first whose
columns the file has is taken (``code: ["{g_id:0>5}", "{iso:0>5}"]`` reads
Statistik Austria's own file and its redistributions alike). Column names match in
any letter case. A field the target does not require whose columns the file lacks is
left out, and the report says so; a required one is an error naming what was sought.

Points may come from two coordinate columns the mapping names, in a CRS it names
(GURS's centroids)::

    coordinates: {x: CEN_E, y: CEN_N, crs: "EPSG:3794"}

Every row is handled column-wise (pandas), never one Python call per row, so a
million-row file maps in about a second.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from locations.errors import InvalidInput
from locations.settings import get_settings

TARGETS = ("regions", "municipalities", "seats", "zones", "plots", "infrastructure",
           "constraints")

_PLACEHOLDER = re.compile(r"\{[^{}]+\}")


@dataclass(frozen=True)
class Coordinates:
    """Two columns holding a point's coordinates, and their CRS (None: ``--crs`` names it)."""

    x: str
    y: str
    crs: str | None = None


@dataclass(frozen=True)
class Mapping:
    """A validated mapping from source columns to one target's fields."""

    name: str
    target: str | None
    #: Per platform field, its alternatives (column or template), the first that fits wins.
    fields: dict[str, tuple[str, ...]] = field(default_factory=dict)
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    constants: dict[str, Any] = field(default_factory=dict)
    where: dict[str, Any] = field(default_factory=dict)
    coordinates: Coordinates | None = None
    description: str = ""

    def source_columns(self) -> set[str]:
        """Every source column the mapping may read (of every alternative)."""
        columns = set(self.where)
        for alternatives in self.fields.values():
            for spec in alternatives:
                columns |= _spec_columns(spec)
        if self.coordinates is not None:
            columns |= {self.coordinates.x, self.coordinates.y}
        return columns

    def apply(self, table: pd.DataFrame, required: tuple[str, ...] = ()
              ) -> tuple[pd.DataFrame, pd.Series, list[str]]:
        """The platform's fields built from ``table``, the mask of rows kept by ``where``,
        and notes on the mapped fields left out (their columns are not in the file).

        Columns the mapping does not name pass through unchanged, so a generic
        file with a mapping for only its odd columns still works.

        Raises:
            InvalidInput: a column ``where`` needs, or every alternative of a ``required``
                field, is not in the file.
        """
        # Column names in any letter case: a shapefile's GURS columns are upper case, the
        # same table exported as CSV by some tools lower case.
        by_lower = {str(c).lower(): c for c in table.columns}
        table = table.rename(columns={by_lower[c.lower()]: c for c in self.source_columns()
                                      if c not in table.columns and c.lower() in by_lower})
        missing = sorted(c for c in self.where if c not in table.columns)
        notes: list[str] = []
        chosen: dict[str, str] = {}
        for target_field, alternatives in self.fields.items():
            spec = next((a for a in alternatives if _spec_columns(a) <= set(table.columns)), None)
            if spec is not None:
                chosen[target_field] = spec
            elif target_field in required:
                missing.append(" or ".join(
                    "+".join(sorted(_spec_columns(a))) for a in alternatives))
            else:
                notes.append(f"{target_field} left out: the file has no "
                             + " or ".join("+".join(sorted(_spec_columns(a))) for a in alternatives))
        if missing:
            raise InvalidInput(
                "mapping",
                f"mapping {self.name!r} needs column(s) {', '.join(missing)}, which the file "
                f"does not have; it has: {', '.join(map(str, table.columns))}",
            )
        keep = pd.Series(True, index=table.index)
        for column, wanted in self.where.items():
            keep &= table[column].astype(str).str.strip() == str(wanted)
        mapped = table.copy()
        for target_field, spec in chosen.items():
            if _PLACEHOLDER.search(spec):
                mapped[target_field] = _render_template(spec, table)
            else:
                mapped[target_field] = table[spec]
        for target_field, translation in self.values.items():
            if target_field in mapped:
                as_text = mapped[target_field].map(_text_or_none)
                lookup = {str(k): v for k, v in translation.items()}
                # Values the table does not list are kept, so validation can name them.
                mapped[target_field] = as_text.map(
                    lambda v, lookup=lookup: lookup.get(v, v) if v is not None else v
                )
        for target_field, value in self.constants.items():
            mapped[target_field] = value
        return mapped, keep, notes


IDENTITY = Mapping(name="generic", target=None)


def mappings_dir() -> Path:
    return get_settings().data_dir / "mappings"


def available_mappings() -> list[str]:
    """Names of the shipped mappings."""
    return sorted(p.stem for p in mappings_dir().glob("*.yaml"))


def load_mapping(name_or_path: str | Path | None, target: str) -> Mapping:
    """The mapping named (shipped in ``data/mappings``) or stored at a path; None is the generic layout.

    Raises:
        InvalidInput: unknown name, unreadable file, wrong shape, or a mapping for another target.
    """
    if name_or_path is None or str(name_or_path) == "generic":
        return IDENTITY
    path = Path(name_or_path)
    if not path.suffix:
        path = mappings_dir() / f"{name_or_path}.yaml"
    if not path.is_file():
        raise InvalidInput(
            "mapping",
            f"no mapping {str(name_or_path)!r}; shipped: {', '.join(available_mappings())}, "
            "or give the path of a YAML file",
        )
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise InvalidInput("mapping", f"{path.name} is not valid YAML: {exc}") from None
    mapping = parse_mapping(raw, default_name=path.stem)
    if mapping.target is not None and mapping.target != target:
        raise InvalidInput(
            "mapping", f"mapping {mapping.name!r} is for {mapping.target}, not {target}"
        )
    return mapping


def fitting_mappings(columns: list[str], target: str, required: tuple[str, ...]) -> list[str]:
    """The shipped mappings for ``target`` that find every ``required`` field in ``columns``:
    what to suggest for a file as published whose columns are not the platform's."""
    present = {str(c).lower() for c in columns}
    fitting = []
    for name in available_mappings():
        mapping = load_mapping(name, target) if _for_target(name, target) else None
        if mapping is None or mapping.coordinates is not None:
            continue  # a table of points fits by its coordinate columns: named by its doc
        if not {c.lower() for c in mapping.where} <= present:
            continue
        if all(field_ in mapping.constants or field_ in present or any(
                {c.lower() for c in _spec_columns(a)} <= present
                for a in mapping.fields.get(field_, ())) for field_ in required):
            fitting.append(name)
    return fitting


def _for_target(name: str, target: str) -> bool:
    try:
        raw = yaml.safe_load((mappings_dir() / f"{name}.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return False
    return isinstance(raw, dict) and raw.get("target") == target


def parse_mapping(raw: Any, default_name: str = "mapping") -> Mapping:
    """A Mapping from its YAML form, with errors that name the offending key."""
    if not isinstance(raw, dict):
        raise InvalidInput("mapping", "a mapping is a YAML dictionary with 'fields'")
    name = str(raw.get("name") or default_name)
    target = raw.get("target")
    if target is not None and target not in TARGETS:
        raise InvalidInput("mapping", f"{name}.target: {target!r} is not one of {', '.join(TARGETS)}")
    sections: dict[str, dict] = {}
    for key in ("fields", "values", "constants", "where"):
        value = raw.get(key) or {}
        if not isinstance(value, dict):
            raise InvalidInput("mapping", f"{name}.{key}: must be a dictionary")
        sections[key] = value
    fields: dict[str, tuple[str, ...]] = {}
    for target_field, given in sections["fields"].items():
        alternatives = given if isinstance(given, list) else [given]
        if not alternatives or not all(isinstance(a, str) and a.strip() for a in alternatives):
            raise InvalidInput("mapping", f"{name}.fields.{target_field}: must be a column name "
                                          "or template, or a list of them")
        for spec in alternatives:
            if _PLACEHOLDER.search(spec):
                try:
                    list(string.Formatter().parse(spec))
                except ValueError as exc:
                    raise InvalidInput("mapping", f"{name}.fields.{target_field}: {exc}") from None
        fields[str(target_field)] = tuple(str(a) for a in alternatives)
    for target_field, table in sections["values"].items():
        if not isinstance(table, dict):
            raise InvalidInput("mapping", f"{name}.values.{target_field}: must map source values to values")
    coordinates = raw.get("coordinates")
    if coordinates is not None:
        if not isinstance(coordinates, dict) or not all(
                isinstance(coordinates.get(k), str) and coordinates[k].strip() for k in ("x", "y")):
            raise InvalidInput("mapping", f"{name}.coordinates: must name the columns x and y "
                                          "(and may name their crs)")
        crs = coordinates.get("crs")
        if crs is not None and not isinstance(crs, (str, int)):
            raise InvalidInput("mapping", f"{name}.coordinates.crs: an EPSG code such as EPSG:3794")
        coordinates = Coordinates(coordinates["x"], coordinates["y"],
                                  str(crs) if crs is not None else None)
    return Mapping(
        name=name,
        target=target,
        fields=fields,
        values={str(k): v for k, v in sections["values"].items()},
        constants={str(k): v for k, v in sections["constants"].items()},
        where={str(k): v for k, v in sections["where"].items()},
        coordinates=coordinates,
        description=str(raw.get("description") or ""),
    )


def _spec_columns(spec: str) -> set[str]:
    """The columns a field's spec reads: a template's placeholders, or the column itself."""
    return _template_columns(spec) if _PLACEHOLDER.search(spec) else {spec}


def _template_columns(template: str) -> set[str]:
    return {
        name.split(".")[0].split("[")[0]
        for _, name, _, _ in string.Formatter().parse(template)
        if name
    }


def _text_or_none(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return None
    if isinstance(value, float) and value.is_integer():
        # Codes read as floats by spreadsheets (2105.0) are codes, not measures.
        return str(int(value))
    text = str(value).strip()
    return text or None


def _render_template(template: str, table: pd.DataFrame) -> pd.Series:
    """Fill ``template`` column-wise; a row with any placeholder empty gives None."""
    result = pd.Series("", index=table.index, dtype=object)
    empty = pd.Series(False, index=table.index)
    for literal, name, spec, conversion in string.Formatter().parse(template):
        result = result + literal
        if name is None:
            continue
        column = table[name]
        values = column.map(_text_or_none)
        empty |= values.isna()
        if spec:
            def formatted(value: str | None, spec: str = spec) -> str:
                if value is None:
                    return ""
                # Numeric specs (e.g. "04d") need a number; fill/align specs work on text.
                try:
                    return format(int(value), spec)
                except (ValueError, TypeError):
                    return format(value, spec)
            values = values.map(formatted)
        result = result + values.fillna("")
    return result.where(~empty, None)
