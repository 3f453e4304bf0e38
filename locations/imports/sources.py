"""Reading a GIS file as it comes (GeoPackage, zipped Shapefile, GeoJSON, FlatGeobuf, CSV, XLSX) into columns and WKB."""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd
import pyarrow as pa
import pyogrio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError
from python_calamine import CalamineError
from pyproj import CRS
from pyproj.exceptions import CRSError

from locations.errors import InvalidInput
from locations.limits import MAX_UNZIPPED_BYTES, MAX_ZIP_RATIO, ZIP_RATIO_FLOOR_BYTES
from locations.local_formats import ENCODINGS, codec_of, decode, numbers, with_header
from locations.mappings import Coordinates
from locations.values import check_text, parse_id

VECTOR_SUFFIXES = (".gpkg", ".zip", ".shp", ".geojson", ".json", ".fgb")
TABLE_SUFFIXES = (".csv", ".xlsx")
SUFFIXES = VECTOR_SUFFIXES + TABLE_SUFFIXES

#: Column names taken as a geometry in WKT, and as longitude / latitude (WGS84).
WKT_COLUMNS = ("wkt", "geometry", "geom", "the_geom")
LON_COLUMNS = ("lon", "lng", "long", "longitude")
LAT_COLUMNS = ("lat", "latitude")
#: ... and as projected coordinates, in the CRS that --crs names: a cadastre's or a
#: surveyor's table of points (GURS writes E and N in D96/TM, Austrian tables X and Y).
X_COLUMNS = ("x", "e", "easting")
Y_COLUMNS = ("y", "n", "northing")


@dataclass
class SourceTable:
    """A file's rows: attributes as text-friendly columns, geometry as WKB, and its CRS.

    ``row`` numbers in reports count features from 1 in file order.
    """

    attributes: pd.DataFrame
    wkb: np.ndarray  # object array of bytes or None, one per row
    srid: int | None
    crs_source: str  # where the CRS came from: "file", "--crs", "lon/lat columns", ...
    layer: str | None = None
    problems: list[tuple[int, str, str]] = field(default_factory=list)
    encoding: str | None = None  # a CSV's text encoding; a shapefile's when it had to be told

    def __len__(self) -> int:
        return len(self.attributes)


def epsg_of(crs_text: str) -> int:
    """The EPSG code of a CRS given as "EPSG:3794", "3794", WKT or a PROJ string.

    Raises:
        InvalidInput: PROJ does not know it, or it has no EPSG code.
    """
    # parse_id, not isdigit(): "²" passes isdigit() and then fails int() (a 500).
    code = parse_id(str(crs_text))
    try:
        crs = CRS.from_user_input(code if code is not None else check_text("crs", str(crs_text)))
    except CRSError as exc:
        raise InvalidInput("crs", f"{crs_text!r} is not a CRS that PROJ knows: {exc}") from None
    code = crs.to_epsg(min_confidence=70)
    if code is None and crs.to_authority() == ("OGC", "CRS84"):
        code = 4326  # same datum; PostGIS reads coordinates in lon/lat order for both
    if code is None:
        raise InvalidInput("crs", f"the CRS {crs.name!r} has no EPSG code; pass --crs EPSG:<code>")
    return code


#: Where the options that messages name by the command line's flags are given otherwise: a
#: message reaches the import page and POST /imports as well as the command line.
_ELSEWHERE = {
    "crs": " (the import page's coordinate system; crs in POST /imports)",
    "layer": " (the import page's layer or sheet; layer in POST /imports)",
}


def read_source(path: Path, *, layer: str | None = None, crs: str | None = None,
                encoding: str | None = None, coordinates: Coordinates | None = None,
                name: str | None = None) -> SourceTable:
    """Read ``path`` whole; its format comes from the extension.

    The CRS is the file's own, or ``crs`` when given (it overrides a wrong
    ``.prj``); lon/lat columns are WGS84. A file with neither is refused.
    ``coordinates`` (a mapping's) names two columns whose points are the geometry, in
    their own CRS unless ``crs`` is given, whatever else the file holds (GURS's
    municipalities carry their centroid's CEN_E/CEN_N beside the polygon).
    ``encoding`` names the text's encoding where the file cannot (CSV, a shapefile's
    ``.dbf``); without it, UTF-8 or else Windows-1250 (``local_formats``).
    ``name`` is the file's name as its user knows it, for the messages: an upload is kept
    on the server under a name of the server's (default: ``path``'s own name).

    Raises:
        InvalidInput: unknown format, unreadable file, no or unknown CRS, missing layer.
    """
    name = name or path.name
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise InvalidInput(
            "file", f"{name}: unknown format {suffix or '(no extension)'}; "
            f"use one of {', '.join(SUFFIXES)}"
        )
    if not path.is_file():
        raise InvalidInput("file", f"{name} does not exist")
    if suffix in TABLE_SUFFIXES:
        return _read_table(path, name, crs, encoding, layer, coordinates)
    source = _read_vector(path, name, layer, None if coordinates else crs, encoding,
                          need_crs=coordinates is None)
    if coordinates is not None:
        source = _points_from_columns(source, coordinates, crs, name)
    return source


def _points_from_columns(source: SourceTable, coordinates: Coordinates, crs: str | None,
                         name: str) -> SourceTable:
    """``source`` with its geometry replaced by the points of the ``coordinates`` columns."""
    lowered = {str(c).lower(): c for c in source.attributes.columns}
    x_column = lowered.get(coordinates.x.lower())
    y_column = lowered.get(coordinates.y.lower())
    if x_column is None or y_column is None:
        raise InvalidInput("mapping", f"{name}: the mapping reads points from columns "
                                      f"{coordinates.x} and {coordinates.y}, which the file "
                                      f"does not have; it has: "
                                      f"{', '.join(map(str, source.attributes.columns))}")
    given = crs or coordinates.crs
    if not given:
        raise InvalidInput("crs", f"{name}: {coordinates.x}/{coordinates.y} carry no coordinate "
                                  f"reference system; pass it with --crs{_ELSEWHERE['crs']}")
    problems = [p for p in source.problems if p[1] != "geometry"]
    geometry = _points(source.attributes, x_column, y_column, problems)
    attributes = source.attributes.drop(columns=[x_column, y_column])
    return SourceTable(attributes.reset_index(drop=True), shapely.to_wkb(geometry),
                       epsg_of(given), "--crs" if crs else "mapping's coordinates",
                       source.layer, problems, source.encoding)


def _dataset(path: Path, name: str) -> str:
    """What GDAL opens for ``path``: the path itself, or for a zip whose shapefiles sit in a
    folder (as downloads often pack them), that folder inside the zip."""
    if path.suffix.lower() != ".zip":
        return str(path)
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            unpacked = sum(entry.file_size for entry in archive.infolist())
    except zipfile.BadZipFile:
        raise InvalidInput("file", f"{name} is not a zip archive") from None
    _check_unpacked_size(path, unpacked)
    folders = sorted({PurePosixPath(name).parent.as_posix() for name in names
                      if name.lower().endswith(".shp") and not name.startswith("__MACOSX/")})
    if not folders and not any(name.lower().endswith(VECTOR_SUFFIXES) for name in names):
        held = [name for name in names if not name.endswith("/")]
        raise InvalidInput("file", f"{name} holds no Shapefile (.shp) or other GIS file; "
                                   f"it holds: {', '.join(held[:10]) or 'nothing'}"
                                   + (f" and {len(held) - 10} more" if len(held) > 10 else ""))
    if not folders or folders == ["."]:
        return str(path)
    if len(folders) > 1:
        raise InvalidInput("file", f"{name} holds shapefiles in several folders "
                                   f"({', '.join(folders)}); zip the one to import on its own")
    return f"/vsizip/{path.resolve()}/{folders[0]}"


def _check_unpacked_size(path: Path, unpacked: int) -> None:
    """Refuse a zip that unpacks to far more than a GIS file does (``limits``): by the
    sizes its entries declare, before GDAL reads a byte of them."""
    packed = path.stat().st_size
    if unpacked > MAX_UNZIPPED_BYTES or (unpacked > ZIP_RATIO_FLOOR_BYTES
                                         and unpacked > MAX_ZIP_RATIO * packed):
        mib = 1024 * 1024
        raise InvalidInput("file", f"the zip archive unpacks to {unpacked / mib:,.0f} MB from "
                                   f"{packed / mib:,.1f} MB; a GIS file packs at most "
                                   f"{MAX_ZIP_RATIO} times and unpacks to at most "
                                   f"{MAX_UNZIPPED_BYTES // mib // 1024} GB (a zip bomb?)")


def _valid_text(meta: dict, table: pa.Table) -> bool:
    """Whether every text column is UTF-8. GeoPackage, GeoJSON and FlatGeobuf are by their
    definition; a shapefile whose encoding GDAL had to guess (no .cpg) comes through Arrow
    as its bytes, so its text is checked (a million rows: 0.4 s, paid by such files only)."""
    if str(meta.get("encoding") or "UTF-8").upper().replace("-", "") == "UTF8":
        return True
    try:
        for column in table.columns:
            if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
                column.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _gdal_reason(exc: Exception, dataset: str, name: str) -> str:
    """GDAL's message about ``dataset`` told of the file ``name``: without the server's
    folder the upload was kept in, nor GDAL's advice to name a driver in the path, which
    only a command-line user of GDAL could follow."""
    reason = str(exc).replace(dataset, name)
    return reason.split("; It might help to specify the correct driver")[0].strip()


def _read_vector(path: Path, name: str, layer: str | None, crs: str | None,
                 given_encoding: str | None, need_crs: bool = True) -> SourceTable:
    dataset = _dataset(path, name)
    try:
        layers = pyogrio.list_layers(dataset)
    except (DataSourceError, DataLayerError) as exc:
        raise InvalidInput("file", f"{name} cannot be read as GIS data: "
                                   f"{_gdal_reason(exc, dataset, name)}") from None
    names = [str(row[0]) for row in layers]
    # A table without geometry beside one layer (the data dictionary of an export) leaves
    # no choice to make.
    spatial = [str(row[0]) for row in layers if row[1] is not None]
    if layer is None and len(names) > 1 and len(spatial) == 1:
        layer = spatial[0]
    if layer is None:
        if len(names) > 1:
            raise InvalidInput("layer", f"{name} has several layers ({', '.join(names)}); "
                               f"choose one with --layer{_ELSEWHERE['layer']}")
        layer = names[0] if names else None
    elif layer not in names:
        raise InvalidInput("layer", f"{name} has no layer {layer!r}; it has: {', '.join(names)}")
    try:
        # GDAL's Arrow stream: whole columns at once instead of a Python object per cell
        # (a million plots in 1.3 s instead of 17 s), and text stays in Arrow memory.
        if given_encoding:
            encoding = given_encoding
            meta, table = pyogrio.raw.read_arrow(dataset, layer=layer,
                                                 encoding=codec_of(given_encoding))
        else:
            meta, table = pyogrio.raw.read_arrow(dataset, layer=layer)
            encoding = None
        if not given_encoding and not _valid_text(meta, table):
            # A shapefile without a .cpg that names its encoding: GDAL hands its bytes on
            # as they are. Excel and GIS on a Slovenian or Austrian Windows write
            # Windows-1250 (local_formats.ENCODINGS).
            codec, encoding = ENCODINGS[-1]
            meta, table = pyogrio.raw.read_arrow(dataset, layer=layer, encoding=codec)
    except (DataSourceError, DataLayerError) as exc:
        raise InvalidInput("file", f"{name} cannot be read: "
                                   f"{_gdal_reason(exc, dataset, name)}") from None
    geometry_name = meta.get("geometry_name") or "wkb_geometry"
    if meta.get("geometry_type") is None or geometry_name not in table.column_names:
        raise InvalidInput("file", f"{name}: layer {layer!r} has no geometry")
    geometry = table.column(geometry_name).to_numpy(zero_copy_only=False)
    # Dates as datetime64, so that they are turned into text column-wise, not cell by cell.
    attributes = table.drop_columns([geometry_name]).to_pandas(date_as_object=False)
    if need_crs or crs or meta.get("crs"):
        srid, crs_source = _choose_srid(meta.get("crs"), crs, name)
    else:
        srid, crs_source = None, ""  # the points come from columns of a CRS of their own
    return SourceTable(attributes, geometry, srid, crs_source, layer, encoding=encoding)


def _choose_srid(file_crs: str | None, given: str | None, name: str) -> tuple[int, str]:
    if given:
        return epsg_of(given), "--crs"
    if file_crs:
        return epsg_of(file_crs), "file"
    raise InvalidInput(
        "crs", f"{name} does not say which coordinate reference system it is in; "
        f"pass it with --crs{_ELSEWHERE['crs']}, e.g. EPSG:3794 for Slovenia D96/TM, EPSG:31259 "
        "for Austria MGI M34"
    )


#: How far (degrees, about 100 m) a row's lon/lat may lie outside its WKT's bounding box.
LON_LAT_SLACK_DEG = 0.001


def _wkt_lies_at_lon_lat(geometry: np.ndarray, table: pd.DataFrame, lon_column: str | None,
                         lat_column: str | None) -> bool:
    """Whether the WKT is in lon/lat: every row's lon/lat (WGS84, as the columns always are)
    lies within its geometry's bounding box. The platform's own CSV and XLSX exports write
    both, so that they import back as they are; WKT in metres (a projected CRS) beside
    lon/lat lies nowhere near them, and still needs --crs."""
    if lon_column is None or lat_column is None:
        return False
    lon = numbers(table[lon_column]).to_numpy(dtype=float)
    lat = numbers(table[lat_column]).to_numpy(dtype=float)
    present = ~shapely.is_missing(geometry)
    if not present.any() or np.isnan(lon[present]).any() or np.isnan(lat[present]).any():
        return False
    west, south, east, north = shapely.bounds(geometry[present]).T
    return bool(np.all((west - LON_LAT_SLACK_DEG <= lon[present])
                       & (lon[present] <= east + LON_LAT_SLACK_DEG)
                       & (south - LON_LAT_SLACK_DEG <= lat[present])
                       & (lat[present] <= north + LON_LAT_SLACK_DEG)))


def _points(table: pd.DataFrame, x_column: str, y_column: str,
            problems: list[tuple[int, str, str]]) -> np.ndarray:
    """Points from two coordinate columns; a row missing either is a problem, named by them."""
    x = numbers(table[x_column]).to_numpy(dtype=float)
    y = numbers(table[y_column]).to_numpy(dtype=float)
    bad = np.isnan(x) | np.isnan(y)
    for index in np.flatnonzero(bad):
        problems.append((int(index) + 1, "geometry",
                         f"{x_column}/{y_column} missing or not a number"))
    return np.where(bad, None, shapely.points(np.where(bad, 0, x), np.where(bad, 0, y)))


def _has_geometry_columns(names: set[str]) -> bool:
    """Whether a row of column names is a table's header: it names the geometry's columns."""
    return (bool(names & set(WKT_COLUMNS))
            or bool(names & set(LON_COLUMNS) and names & set(LAT_COLUMNS))
            or bool(names & set(X_COLUMNS) and names & set(Y_COLUMNS)))


def _sheet(path: Path, name: str, sheet: str | None) -> tuple[pd.DataFrame, list[str]]:
    """The cells of a workbook's sheet ``sheet`` (its name), or of its first sheet, and the
    names of all its sheets."""
    workbook = pd.ExcelFile(path, engine="calamine")
    names = [str(sheet_name) for sheet_name in workbook.sheet_names]
    if sheet is not None and sheet not in names:
        raise InvalidInput("layer", f"{name} has no sheet {sheet!r}; its sheets: "
                                    f"{', '.join(names)}")
    # calamine (Rust) reads a sheet of 100,000 plots in 2.7 s; openpyxl took 15.4 s.
    cells = pd.read_excel(workbook, sheet_name=sheet if sheet is not None else 0, dtype=object,
                          header=None)
    return cells, names


#: Byte order marks and the encoding each announces; UTF-32's first, as they begin with UTF-16's.
BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32"), (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"), (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
)


def table_text(raw: bytes, encoding: str | None, name: str) -> tuple[str, str]:
    """The text of a CSV file and the name of the encoding it was read in.

    A byte order mark names the encoding: Excel's "Unicode text" is UTF-16 with one, which
    read as Windows-1250 was a garble of letters and NULs. Without a mark, ``encoding`` or
    else UTF-8 or Windows-1250 (``local_formats.decode``); a text in which every other byte
    is NUL is UTF-16 without its mark, and is refused saying which encoding to give.

    Raises:
        InvalidInput: the text is not in the encoding its mark or ``encoding`` names, or
            looks like UTF-16 without a mark.
    """
    for mark, codec, label in BYTE_ORDER_MARKS:
        if not raw.startswith(mark):
            continue
        if encoding and not codec_of(encoding).startswith(codec.split("-sig")[0]):
            raise InvalidInput("encoding", f"{name} begins with the byte order mark of {label}, "
                                           f"not {encoding}: leave the encoding out, or save the "
                                           "file as CSV UTF-8")
        try:
            return raw.decode(codec), label
        except UnicodeDecodeError as exc:
            raise InvalidInput("encoding", f"{name} begins with the byte order mark of {label} "
                                           f"but is not {label} from byte {exc.start} on: save it "
                                           "as CSV UTF-8") from None
    head = raw[:4096]
    if not encoding and len(head) >= 8:
        # Latin text in UTF-16 has a NUL in every other byte: odd ones little-endian.
        odd, even = head[1::2].count(0) / (len(head) // 2), head[0::2].count(0) / (len(head) // 2)
        if max(odd, even) > 0.4:
            variant = "utf-16-le" if odd > even else "utf-16-be"
            raise InvalidInput("encoding", f"{name} looks like UTF-16 text without a byte order "
                                           f"mark: save it as CSV UTF-8, or give its encoding "
                                           f"(--encoding {variant}, encoding in POST /imports)")
    return decode(raw, encoding)


def _read_table(path: Path, name: str, crs: str | None, given_encoding: str | None,
                sheet: str | None = None, coordinates: Coordinates | None = None
                ) -> SourceTable:
    encoding = None
    sheets: list[str] = []
    try:
        if path.suffix.lower() == ".csv":
            content, encoding = table_text(path.read_bytes(), given_encoding, name)
            if not content.strip():
                # pandas would fail sniffing the separator of nothing (csv.Error).
                raise InvalidInput("file", f"{name} is empty: it holds no header nor rows")
            # Text as written: codes like "052" must keep their leading zeros. The separator
            # is sniffed: Slovenian and Austrian spreadsheets write ';'.
            table = pd.read_csv(io.StringIO(content), dtype=str, keep_default_na=False,
                                na_values=[""], sep=None, engine="python")
        else:
            cells, sheets = _sheet(path, name, sheet)
            table = with_header(cells, _has_geometry_columns)
    except (ValueError, OSError, zipfile.BadZipFile, pd.errors.ParserError, csv.Error,
            CalamineError) as exc:
        raise InvalidInput("file", f"{name} cannot be read as a table: {exc}") from None
    table.columns = [str(c).strip() for c in table.columns]
    lowered = {c.lower(): c for c in table.columns}
    if coordinates is not None:
        # The mapping names the point's columns: the table's other columns, WKT or lon/lat
        # among them, are attributes.
        return _points_from_columns(
            SourceTable(table.reset_index(drop=True), np.full(len(table), None, dtype=object),
                        None, "", None, [], encoding), coordinates, crs, name)
    wkt_column = next((lowered[c] for c in WKT_COLUMNS if c in lowered), None)
    lon_column = next((lowered[c] for c in LON_COLUMNS if c in lowered), None)
    lat_column = next((lowered[c] for c in LAT_COLUMNS if c in lowered), None)
    x_column = next((lowered[c] for c in X_COLUMNS if c in lowered), None)
    y_column = next((lowered[c] for c in Y_COLUMNS if c in lowered), None)
    problems: list[tuple[int, str, str]] = []
    if wkt_column is not None:
        text = table[wkt_column].map(lambda v: None if v is None or pd.isna(v) else str(v))
        geometry = shapely.from_wkt(text.to_numpy(dtype=object), on_invalid="ignore")
        unreadable = text.notna().to_numpy() & shapely.is_missing(geometry)
        for index in np.flatnonzero(unreadable):
            problems.append((int(index) + 1, "geometry", "not readable as WKT"))
        table = table.drop(columns=[wkt_column])
        if crs:
            srid, crs_source = epsg_of(crs), "--crs"
        elif _wkt_lies_at_lon_lat(geometry, table, lon_column, lat_column):
            srid, crs_source = 4326, "lon/lat columns, which each WKT surrounds"
        else:
            raise InvalidInput(
                "crs", f"{name} holds WKT, which carries no coordinate reference system; "
                f"pass it with --crs{_ELSEWHERE['crs']}, e.g. EPSG:4326 for lon/lat degrees"
            )
    elif lon_column is not None and lat_column is not None:
        geometry = _points(table, lon_column, lat_column, problems)
        table = table.drop(columns=[lon_column, lat_column])
        srid, crs_source = (epsg_of(crs), "--crs") if crs else (4326, "lon/lat columns")
    elif x_column is not None and y_column is not None:
        if not crs:
            raise InvalidInput(
                "crs", f"{name} holds {x_column}/{y_column} coordinates, which carry no "
                f"coordinate reference system; pass it with --crs{_ELSEWHERE['crs']}, e.g. "
                "EPSG:3794 for Slovenia's D96/TM, EPSG:31255 for Austria's MGI GK Central")
        geometry = _points(table, x_column, y_column, problems)
        table = table.drop(columns=[x_column, y_column])
        srid, crs_source = epsg_of(crs), "--crs"
    elif sheet is None and len(sheets) > 1:
        # The first sheet of several holds no geometry: a cover, instructions. Which one?
        raise InvalidInput("layer", f"{name}: its first sheet, {sheets[0]!r}, has no geometry "
                                    f"columns; its sheets: {', '.join(sheets)}: choose one with "
                                    f"--layer{_ELSEWHERE['layer']}")
    else:
        raise InvalidInput(
            "geometry", f"{name} has no geometry: give a WKT column ({', '.join(WKT_COLUMNS)}), "
            f"lon and lat columns, or x and y (or e and n) with --crs{_ELSEWHERE['crs']}"
        )
    wkb = shapely.to_wkb(geometry)
    return SourceTable(table.reset_index(drop=True), wkb, srid, crs_source, None, problems,
                       encoding)
