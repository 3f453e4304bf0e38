"""Download formats for plots and zones: GeoJSON, CSV (WKT + centroid lon/lat), GeoPackage, XLSX.

Everything starts from a GeoJSON FeatureCollection in CRS84 (what the reads in
``locations.features`` and ``locations.search`` return) or a GeoDataFrame; each
format comes with its media type and file extension so that the API and the
CLI name downloads the same way.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyogrio
import shapely

from locations.errors import InvalidInput

#: Excel refuses longer cell text; a longer WKT is left out of that cell rather than cut.
XLSX_MAX_CELL = 32_767
#: Rows of an Excel sheet, the header included: a larger table is refused, not cut.
XLSX_MAX_ROWS = 1_048_576
#: The platform's date fields, in every layout (plots, zones, search results): a workbook
#: gets them as date cells and a GeoPackage as date fields, which a spreadsheet or a GIS
#: sorts, filters and reckons with as dates.
DATE_FIELDS = frozenset({"available_from", "last_verified"})
#: How a text cell that a spreadsheet would run as a formula begins (CSV injection: a plot's
#: note "=HYPERLINK(...)" opened in Excel). Such text is written as text: an XLSX cell typed
#: as a string, a CSV cell with a single quote before it, as OWASP advises; the import takes
#: that quote off again (``imports.targets``), so an export imports back as it is.
FORMULA_START = "^[=+\\-@\\t\\r]"
#: GeoPackage 1.3, not the 1.4 of the GDAL bundled here: the GDAL of Debian 12, and the QGIS
#: built on it, warn that a 1.4 file "may only be partially supported"; it uses nothing of 1.4.
GEOPACKAGE_VERSION = {"VERSION": "1.3"}


@dataclass(frozen=True)
class Format:
    """A download format: its short name (``f=``), media type and file extension."""

    name: str
    media_type: str
    extension: str


FORMATS: dict[str, Format] = {
    "geojson": Format("geojson", "application/geo+json", "geojson"),
    "csv": Format("csv", "text/csv; charset=utf-8", "csv"),
    "gpkg": Format("gpkg", "application/geopackage+sqlite3", "gpkg"),
    "xlsx": Format(
        "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"
    ),
}

#: Media types a client may ask for in ``Accept``, and the format each means.
ACCEPTED_MEDIA_TYPES: dict[str, str] = {
    "application/geo+json": "geojson",
    "application/json": "geojson",
    "text/csv": "csv",
    "application/geopackage+sqlite3": "gpkg",
    "application/x-sqlite3": "gpkg",
    FORMATS["xlsx"].media_type: "xlsx",
}


def choose_format(f: str | None, accept: str | None = None) -> Format:
    """The format asked for by ``f`` (wins) or else the ``Accept`` header; GeoJSON by default.

    Raises:
        InvalidInput: ``f`` names no known format.
    """
    if f is not None:
        name = f.strip().lower()
        name = {"json": "geojson", "gpkg": "gpkg", "geopackage": "gpkg", "excel": "xlsx"}.get(name, name)
        if name not in FORMATS:
            raise InvalidInput("f", f"unknown format {f!r}; allowed: {', '.join(FORMATS)}")
        return FORMATS[name]
    for media_type in _accepted(accept or ""):
        if media_type in ACCEPTED_MEDIA_TYPES:
            return FORMATS[ACCEPTED_MEDIA_TYPES[media_type]]
    return FORMATS["geojson"]


def _accepted(accept: str) -> list[str]:
    """Media types of an Accept header, most preferred first (q-values honoured)."""
    ranked = []
    for position, part in enumerate(accept.split(",")):
        pieces = [p.strip() for p in part.split(";")]
        quality = 1.0
        for parameter in pieces[1:]:
            if parameter.startswith("q="):
                try:
                    quality = float(parameter[2:])
                except ValueError:
                    quality = 0.0
        if pieces[0] and quality > 0:
            ranked.append((-quality, position, pieces[0].lower()))
    return [media_type for _, _, media_type in sorted(ranked)]


def file_name(stem: str, fmt: Format) -> str:
    return f"{stem}.{fmt.extension}"


def to_geodataframe(collection: dict[str, Any] | gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A FeatureCollection (CRS84) as a GeoDataFrame in EPSG:4326 with ``id`` as first column."""
    if isinstance(collection, gpd.GeoDataFrame):
        return collection
    features = collection.get("features", [])
    records = [{"id": feature.get("id"), **(feature.get("properties") or {})} for feature in features]
    geometries = [feature.get("geometry") for feature in features]
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame({"id": []})
    geometry = shapely.from_geojson([json.dumps(g) for g in geometries]) if geometries else []
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geometry, crs=4326), crs=4326)


def _flat(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns that every tabular format holds: lists joined by ';', mappings as JSON text."""
    frame = frame.copy()
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = frame[column].map(_flat_value)
    return frame


def _flat_value(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return ";".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


def _table(frame: gpd.GeoDataFrame) -> pd.DataFrame:
    """Attributes plus the geometry as WKT and the centroid's lon/lat (centroid taken in metres)."""
    table = _flat(pd.DataFrame(frame.drop(columns=frame.geometry.name)))
    present = ~frame.geometry.isna()
    centroids = gpd.GeoSeries([None] * len(frame), crs=4326, index=frame.index)
    if present.any():
        centroids[present] = frame.geometry[present].to_crs(3035).centroid.to_crs(4326)
    table["lon"] = centroids.x.round(7)
    table["lat"] = centroids.y.round(7)
    table["wkt"] = shapely.to_wkt(frame.geometry.values, rounding_precision=7)
    return table


def render(collection: dict[str, Any] | gpd.GeoDataFrame, fmt: Format | str,
           *, layer: str = "plots", sheets: dict[str, pd.DataFrame] | None = None,
           headings: dict[str, str] | None = None) -> bytes:
    """``collection`` written in ``fmt``, as the bytes of the file; an XLSX also gets the
    further ``sheets`` (e.g. a data dictionary). ``headings`` renames the columns of a CSV
    or XLSX (codes to the words of a language); the other formats keep the codes.

    Raises:
        InvalidInput: more rows than an XLSX sheet holds.
    """
    fmt = FORMATS[fmt] if isinstance(fmt, str) else fmt
    if fmt.name == "xlsx" and _row_count(collection) >= XLSX_MAX_ROWS:
        raise InvalidInput("format", f"an XLSX sheet holds {XLSX_MAX_ROWS - 1:,} rows and "
                                     f"this has {_row_count(collection):,}: use GeoPackage or "
                                     "CSV, or narrow the search")
    if fmt.name == "geojson":
        if isinstance(collection, gpd.GeoDataFrame):
            return _geojson(collection.to_crs(4326))
        return json.dumps(collection, ensure_ascii=False).encode()
    frame = to_geodataframe(collection)
    if fmt.name == "gpkg":
        return _geopackage(frame, layer)
    table = _table(frame)
    if fmt.name == "csv":
        return _csv(table.rename(columns=headings) if headings else table)
    return _xlsx({layer: table, **(sheets or {})}, headings or {})


def _row_count(collection: dict[str, Any] | gpd.GeoDataFrame) -> int:
    if isinstance(collection, gpd.GeoDataFrame):
        return len(collection)
    return len(collection.get("features", []))


def _geopackage(frame: gpd.GeoDataFrame, layer: str) -> bytes:
    flat = gpd.GeoDataFrame(_flat(pd.DataFrame(frame.drop(columns=frame.geometry.name))),
                            geometry=frame.geometry, crs=frame.crs)
    # Date fields, not text, so that a GIS filters and sorts them as dates. Cast by Arrow
    # (a million in 0.02 s; through Python dates 0.7 s), which pyogrio writes as they are.
    for column in DATE_FIELDS.intersection(flat.columns):
        dates = pc.cast(pa.array(flat[column], type=pa.string(), from_pandas=True), pa.date32())
        flat[column] = pd.Series(pd.array(dates, dtype=pd.ArrowDtype(pa.date32())),
                                 index=flat.index)
    # GeoPackage is SQLite: it needs a real file to write into.
    with tempfile.TemporaryDirectory(prefix="locations-export-") as folder:
        path = Path(folder) / f"{layer}.gpkg"
        # Through Arrow: a million plots in 5.5 s instead of 13.7 s row by row.
        pyogrio.write_dataframe(flat, path, layer=layer, driver="GPKG", use_arrow=True,
                                dataset_options=GEOPACKAGE_VERSION)
        return path.read_bytes()


def _csv(table: pd.DataFrame) -> bytes:
    """CSV written by Arrow, a tenth of pandas' time (a million plots: 1 s, not 14 s). Text
    is quoted, booleans are true/false. A column Arrow cannot type (mixed values in one
    property of a feature collection) leaves the writing to pandas."""
    try:
        arrow = pa.Table.from_pandas(table, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        quoted = table.copy()
        for column in quoted.columns[quoted.dtypes == object]:
            quoted[column] = quoted[column].map(
                lambda v: "'" + v if isinstance(v, str) and re.match(FORMULA_START, v) else v)
        return quoted.to_csv(index=False).encode("utf-8")
    for i, column in enumerate(arrow.columns):
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            formula = pc.match_substring_regex(column, FORMULA_START)
            arrow = arrow.set_column(i, arrow.field(i), pc.if_else(
                formula, pc.utf8_replace_slice(column, start=0, stop=0, replacement="'"), column))
    # The header as pandas writes it (quoted only where needed); Arrow would quote every name.
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow(table.columns)
    buffer = io.BytesIO(header.getvalue().encode("utf-8"))
    buffer.seek(0, io.SEEK_END)
    pa_csv.write_csv(arrow, buffer, pa_csv.WriteOptions(include_header=False))
    return buffer.getvalue()


def _geojson(frame: gpd.GeoDataFrame) -> bytes:
    """RFC 7946 GeoJSON written by GDAL through Arrow: a million plots in half the time of
    building each feature as a Python dict; coordinates to 7 decimals (about 1 cm)."""
    with tempfile.TemporaryDirectory(prefix="locations-export-") as folder:
        path = Path(folder) / "export.geojson"
        pyogrio.write_dataframe(frame, path, driver="GeoJSON", use_arrow=True,
                                layer_options={"RFC7946": "YES", "WRITE_NAME": "NO"})
        return path.read_bytes()


def _xlsx(sheets: dict[str, pd.DataFrame], headings: dict[str, str] | None = None) -> bytes:
    """One workbook of ``sheets``, written row by row in one pass: opening a written
    workbook again to add a sheet held a million rows in memory (12 GB, 15 minutes).
    ``headings`` gives the first row's words for column codes (dates found by the code)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    for sheet, table in sheets.items():
        worksheet = workbook.create_sheet(sheet[:31])
        worksheet.append([str((headings or {}).get(c, c)) for c in table.columns])
        # One formatted cell per date column, given each row's value: appending a date
        # alone makes openpyxl style a new cell every time (a third slower in all).
        dates = {i: WriteOnlyCell(worksheet) for i, column in enumerate(table.columns)
                 if column in DATE_FIELDS}
        for cell in dates.values():
            cell.number_format = "yyyy-mm-dd"
        for row in table.itertuples(index=False, name=None):
            cells = [_cell(value, worksheet) for value in row]
            for i, cell in dates.items():
                if isinstance(cells[i], str):
                    cell.value = dt.date.fromisoformat(cells[i])
                    cells[i] = cell
            worksheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _cell(value: Any, worksheet: Any) -> Any:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, str) and len(value) > XLSX_MAX_CELL:
        return None
    if isinstance(value, str) and re.match(FORMULA_START, value):
        from openpyxl.cell import WriteOnlyCell

        # openpyxl makes "=..." a formula; typed a string, Excel shows the text as it is.
        cell = WriteOnlyCell(worksheet, value)
        cell.data_type = "s"
        return cell
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value
