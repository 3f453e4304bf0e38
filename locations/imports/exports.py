"""Exports of plot and zone searches to GeoPackage, GeoJSON, CSV and XLSX, each with its data dictionary.

Columns follow the generic import layout, so an export imports back as it is.
The GeoPackage keeps the storage CRS (EPSG:3035) so that a round trip is exact;
the other formats are CRS84 as the web expects. Writing itself is
``locations.formats``; this module adds the query and the dictionary.
"""

from __future__ import annotations

import binascii
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar, get_origin

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyogrio
import shapely
from pydantic import BaseModel, ValidationError
from sqlalchemy import Connection, Numeric, Table, text

from locations import current_scores, formats, tables
from locations.accounts import InternalReach
from locations.errors import InvalidInput
from locations.features import ZONE_AGGREGATE_JOIN
from locations.fields import COLLECTIONS, GEOMETRY_COLUMNS, PLOTS, ZONES, Collection
from locations.search import PlotFilter, conditions, sort_key
from locations.vocabulary import STORAGE_SRID
from locations.zone_search import ZoneFilter, zone_conditions

M = TypeVar("M", bound=BaseModel)

EXTENSIONS = {".gpkg": "gpkg", ".geojson": "geojson", ".json": "geojson", ".csv": "csv",
              ".xlsx": "xlsx"}


#: Distances an investor compares plots by (``plot_proximity``, km, straight line from the
#: boundary); read only: an import ignores them, as it does the area and the ids.
DISTANCE_COLUMNS = tuple(f.name for f in PLOTS.exported if f.unit == "km")
#: Exported columns that a select adds only when asked: a profile's score, the internal ones.
_OPTIONAL_COLUMNS = ("score", "score_profile")


def _export_columns(collection: Collection, alias: str, table: Table) -> str:
    """The SELECT list of ``collection``'s exports in the catalogue's order: each field's
    ``export_sql``, else its column as a file holds it (a list joined by ';', a date as
    text, a numeric as a float); the geometry, the score and internal fields aside."""
    selected = []
    for field in collection.exported:
        if (field.name in GEOMETRY_COLUMNS or field.name in _OPTIONAL_COLUMNS
                or field.internal):
            continue
        column = f"{alias}.{field.name}"
        sql = field.export_sql or column
        if field.export_sql is None and field.kind == "uses":
            sql = f"array_to_string({column}, ';')"
        elif field.export_sql is None and field.kind == "date":
            sql = f"{column}::text"
        elif field.export_sql is None and type(table.c[field.name].type) is Numeric:
            sql = f"{column}::float"
        selected.append(sql if sql == column else f"{sql} AS {field.name}")
    return ", ".join(selected)


#: The rows of a plot export: those of a plot search (``search.conditions`` over ``p``,
#: ``z`` and ``pp``), all of them, not a page; then its columns, in the layout's order.
PLOT_EXPORT_FROM = """
    FROM plot p
    JOIN zone z ON z.id = p.zone_id
    JOIN municipality m ON m.id = p.municipality_id
    JOIN region r ON r.id = m.region_id
    {proximity}
    WHERE {conditions}
"""
PLOT_EXPORT_SQL = f"""
    SELECT {_export_columns(PLOTS, "p", tables.plot)} {{score}} {{internal}},
           ST_AsBinary(p.boundary) AS boundary
""" + PLOT_EXPORT_FROM + """
    ORDER BY {order}
"""
#: The layout's own order, when the search gives none: region, municipality, zone, reference.
LAYOUT_ORDER = "r.code, m.name, z.name, p.cadastral_ref"

ZONE_EXPORT_SQL = f"""
    SELECT {_export_columns(ZONES, "z", tables.zone)}, ST_AsBinary(z.boundary) AS boundary
    FROM zone z
    JOIN municipality m ON m.id = z.municipality_id
    JOIN region r ON r.id = m.region_id
    {ZONE_AGGREGATE_JOIN}
    WHERE {{conditions}} AND (CAST(:zone_picked AS int[]) IS NULL
                              OR z.id = ANY (CAST(:zone_picked AS int[])))
    ORDER BY r.code, m.name, z.name
"""


def _named(conn: Connection, values: Mapping[str, Any]) -> dict[str, list[str]]:
    """The ids of the municipalities (by name, code or id) and the zones (by name or id) that
    ``values`` name, as the command line takes them.

    Raises:
        InvalidInput: no such municipality or zone.
    """
    found: dict[str, list[str]] = {}
    for name, sql in (
        ("municipality", ("SELECT id::text FROM municipality WHERE lower(name) = lower(:v) "
                          "OR code = :v OR id::text = :v")),
        ("zone", "SELECT id::text FROM zone WHERE lower(name) = lower(:v) OR id::text = :v"),
    ):
        given = values.get(name)
        for value in ([given] if isinstance(given, str | int) else given or []):
            ids = list(conn.execute(text(sql), {"v": str(value).strip()}).scalars())
            if not ids:
                raise InvalidInput(name, f"no {name} is named {str(value)!r} or has that "
                                         f"{'code or ' if name == 'municipality' else ''}id")
            found.setdefault(name, []).extend(ids)
    return found


def _validated(model: type[M], values: dict[str, Any]) -> M:
    """``model`` from the given ``values`` (empty ones left out); its first refusal as an
    InvalidInput naming the field."""
    try:
        return model.model_validate({k: v for k, v in values.items() if v not in (None, [])})
    except ValidationError as exc:
        error = exc.errors()[0]
        raise InvalidInput(str(error["loc"][0]), error["msg"]) from None


def _listed(model: type[BaseModel], values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` with a single region, status ... given where ``model`` takes a list of
    them as that list; every other value as it is."""
    return {name: [value] if isinstance(value, str) and name in model.model_fields
            and get_origin(model.model_fields[name].annotation) is list else value
            for name, value in values.items()}


def plot_filter(conn: Connection, values: Mapping[str, Any]) -> PlotFilter:
    """The plot search (``PlotFilter``) of ``values``, its fields by name, with municipalities
    named by name, code or id and zones by name or id, as the command line takes them.

    Raises:
        InvalidInput: no such municipality or zone, or a filter the search refuses (named).
    """
    given = _listed(PlotFilter, values)
    return _validated(PlotFilter, given | _named(conn, given))


def select_plots(conn: Connection, filters: PlotFilter, *,
                 internal: InternalReach | None = None,
                 max_rows: int | None = None) -> gpd.GeoDataFrame:
    """Every plot the search ``filters`` finds (paging aside) in EPSG:3035, columns as in the
    dictionary; ``internal`` adds owner contacts and internal notes, filled within its reach.

    Raises:
        InvalidInput: a filter value the search refuses, or more than ``max_rows`` plots.
    """
    where, parameters = conditions(conn, filters)
    proximity = "LEFT JOIN plot_proximity pp ON pp.plot_id = p.id"
    score = ""
    if filters.profile:
        # As the search page shows it: the plot's current score for the chosen profile.
        _check_profile(conn, filters.profile)
        join, runs = current_scores.score_join(
            "p.id", current_scores.current_runs(conn, filters.profile))
        proximity += join
        parameters = parameters | runs | {"score_profile": filters.profile}
        score = (", round(cs.total::numeric, 1)::float AS score,"
                 " CAST(:score_profile AS text) AS score_profile")
    order = LAYOUT_ORDER
    if filters.sort != "id":
        # The page's order (its sort key, then the id, as the search pages it).
        key = sort_key(filters.sort)
        if "cs." in key.expression and not filters.profile:
            raise InvalidInput("profile", "sort=score needs a profile, e.g. profile=logistics")
        order = f"{key.expression} {'DESC' if key.descending else 'ASC'}, p.id"
    sql = PLOT_EXPORT_SQL.format(
        score=score, order=order,
        internal=", " + internal.columns_sql() if internal else "",
        proximity=proximity, conditions=" AND ".join(where))
    if max_rows is not None:
        # Counted without the distances unless the search filters on them.
        found = conn.execute(text("SELECT count(*)" + PLOT_EXPORT_FROM.format(
            proximity=proximity if any("pp." in c for c in where) else "",
            conditions=" AND ".join(where))), parameters).scalar_one()
        if found > max_rows:
            raise InvalidInput(
                "filters", f"the search finds {found:,} plots; a download holds at most "
                           f"{max_rows:,} (LOCATIONS_MAX_EXPORT_ROWS). Narrow the search, or "
                           "export it with `locations export plots`, which has no limit")
    return _frame(_copy_out(conn, sql, parameters))


def _check_profile(conn: Connection, profile: str) -> None:
    """Refuses a profile nothing has been scored for: its column would be silently empty.

    Raises:
        InvalidInput: on ``profile``, naming the profiles that have scores.
    """
    scored = list(conn.execute(text(
        "SELECT DISTINCT profile FROM score_run WHERE status = 'finished' ORDER BY 1")).scalars())
    if profile not in scored:
        raise InvalidInput("profile", f"no current scores for {profile!r}; scored: "
                                      f"{', '.join(scored) or 'none yet (locations score)'}")


def select(conn: Connection, kind: str, values: Mapping[str, Any] | None = None, *,
           internal: InternalReach | None = None) -> gpd.GeoDataFrame:
    """The plots or zones that the search of ``values`` finds (``plot_filter``,
    ``zone_filter``) in EPSG:3035, columns as in the dictionary.

    Raises:
        InvalidInput: unknown kind, municipality or zone, or a filter the search refuses.
    """
    values = values or {}
    if kind == "plots":
        return select_plots(conn, plot_filter(conn, values), internal=internal)
    if kind != "zones":
        raise InvalidInput("kind", f"can export plots or zones, not {kind!r}")
    return select_zones(conn, *zone_filter(conn, values))


def zone_filter(conn: Connection, values: Mapping[str, Any]
                ) -> tuple[ZoneFilter, list[int] | None]:
    """The zone search (``ZoneFilter``) of ``values``, its fields by name, with municipalities
    named as ``plot_filter`` takes them; and the zones picked by name or id (None: no zone
    named), which the zone search has no filter for.

    Raises:
        InvalidInput: no such municipality or zone, or a filter the search refuses (named).
    """
    given = _listed(ZoneFilter, {k: v for k, v in values.items() if k != "zone"})
    found = _named(conn, values)
    search = _validated(ZoneFilter, given | {k: v for k, v in found.items() if k != "zone"})
    picked = found.get("zone")
    return search, [int(i) for i in picked] if picked is not None else None


def select_zones(conn: Connection, filters: ZoneFilter, picked: list[int] | None = None
                 ) -> gpd.GeoDataFrame:
    """Every zone the zone search ``filters`` finds (``picked``: only these ids) in EPSG:3035,
    columns as in the dictionary, with plot counts and available area from zone_summary.

    Raises:
        InvalidInput: an unknown region or municipality.
    """
    where, parameters = zone_conditions(conn, filters)
    return _frame(_copy_out(conn, ZONE_EXPORT_SQL.format(conditions=where),
                            parameters | {"zone_picked": picked}))


def _frame(table: pa.Table) -> gpd.GeoDataFrame:
    geometry = shapely.from_wkb(_bytea_wkb(table.column("boundary")))
    frame = table.drop_columns(["boundary"]).to_pandas()
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geometry, crs=STORAGE_SRID),
                            crs=STORAGE_SRID)


def _bytea_wkb(column: pa.ChunkedArray) -> np.ndarray:
    """WKB values from COPY's bytea text (``\\x`` and hex), as bytes for ``shapely.from_wkb``.

    Unhexed in one call per chunk over its data buffer, the prefixes cut first: each value
    then is half as long, so the offsets just halve. shapely's own hex reading took 4.5 s
    a million plots, this 1.2 s with the reading of the WKB. Chunk by chunk, as Arrow read
    them: a single array of a few million boundaries' hex would pass 2 GB.
    """
    parts = [np.empty(0, dtype=object)]
    for chunk in column.chunks:
        hexed = pc.utf8_slice_codeunits(chunk, 2)
        offsets = np.frombuffer(hexed.buffers()[1], dtype=np.int32)[
            hexed.offset:hexed.offset + len(hexed) + 1]
        data = hexed.buffers()[2]
        unhexed = binascii.unhexlify(memoryview(data)[offsets[0]:offsets[-1]] if data else b"")
        binary = pa.Array.from_buffers(
            pa.binary(), len(hexed),
            [hexed.buffers()[0], pa.py_buffer(((offsets - offsets[0]) // 2).astype(np.int32)),
             pa.py_buffer(unhexed)], null_count=hexed.null_count)
        parts.append(binary.to_numpy(zero_copy_only=False))
    return np.concatenate(parts)


#: Arrow types of the PostgreSQL types an export selects, by type OID; anything else is text.
_ARROW_TYPES = {16: pa.bool_(), 20: pa.int64(), 21: pa.int64(), 23: pa.int64(),
                700: pa.float64(), 701: pa.float64()}


def _copy_out(conn: Connection, sql: str, parameters: dict[str, Any]) -> pa.Table:
    """The rows of ``sql`` as an Arrow table, sent by ``COPY ... TO STDOUT`` and parsed by Arrow.

    A million plots: 1.5 s to receive and parse, where fetching them as rows and building
    a frame from them took 25 s (and 3 GB). Each column gets its type from the query's own
    result description, so a text column of digits (a cadastral reference) stays text.
    """
    compiled = text(sql).compile(dialect=conn.dialect)
    buffer = io.BytesIO()
    with conn.connection.dbapi_connection.cursor() as cursor:
        query = cursor.mogrify(compiled.string, compiled.construct_params(parameters)).decode()
        cursor.execute(f"SELECT * FROM ({query}) q LIMIT 0")
        types = {column.name: _ARROW_TYPES.get(column.type_code, pa.string())
                 for column in cursor.description}
        cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER)", buffer)
    buffer.seek(0)
    return pa_csv.read_csv(buffer, convert_options=pa_csv.ConvertOptions(
        column_types=types, true_values=["t"], false_values=["f"],
        # COPY writes NULL as an empty field and an empty text as "": only the first is null.
        strings_can_be_null=True, quoted_strings_can_be_null=False))


def dictionary(kind: str) -> list[dict[str, Any]]:
    """The data dictionary of an export: one entry per column (name, type, unit, description),
    from the field catalogue."""
    if kind not in COLLECTIONS:
        raise InvalidInput("kind", f"no data dictionary for {kind!r}")
    return COLLECTIONS[kind].dictionary()


def dictionary_table(kind: str, present: list[str], lang: str | None = None) -> pd.DataFrame:
    """The dictionary rows for the columns a file actually has, as a plain table; with
    ``lang``, each column's heading in that language first, its code beside it."""
    entries = [c for c in dictionary(kind) if c["name"] in present]
    headings = {"heading": [heading(c, lang) for c in entries]} if lang else {}
    return pd.DataFrame({
        **headings,
        "column": [c["name"] for c in entries],
        "type": [c.get("type", "") for c in entries],
        "unit": [c.get("unit", "") for c in entries],
        "values": [", ".join(c.get("values", [])) for c in entries],
        "importable": [bool(c.get("import")) for c in entries],
        "description": [c.get("description", "") for c in entries],
    })


def _write_headed(frame: gpd.GeoDataFrame, path: Path, kind: str, fmt: str,
                  lang: str) -> list[Path]:
    web = frame.to_crs(4326)
    present = list(frame.columns.drop(frame.geometry.name)) + ["lon", "lat", "wkt"]
    names = headings(kind, lang)
    table = dictionary_table(kind, present, lang)
    if fmt == "xlsx":
        path.write_bytes(formats.render(web, fmt, layer=kind, sheets={"dictionary": table},
                                        headings=names))
        return [path]
    path.write_bytes(formats.render(web, fmt, layer=kind, headings=names))
    sidecar = path.with_name(path.stem + ".dictionary.csv")
    table.to_csv(sidecar, index=False)
    return [path, sidecar]


def format_for(path: Path) -> str:
    """The export format named by the file's extension, for a file that can be written
    there: checked before the search, which may take a while.

    Raises:
        InvalidInput: an extension the exporter does not write, or no folder to write in.
    """
    name = EXTENSIONS.get(path.suffix.lower())
    if name is None:
        raise InvalidInput("output", f"{path.name}: use one of {', '.join(EXTENSIONS)}")
    folder = path.parent
    if not folder.is_dir():
        raise InvalidInput("output", f"{path}: there is no folder {folder}")
    if path.is_dir():
        raise InvalidInput("output", f"{path} is a folder; give a file name")
    return name


def heading(column: Mapping[str, Any], lang: str | None) -> str:
    """A column's heading in ``lang`` (its dictionary label), or its code without one."""
    return (column.get("label") or {}).get(lang or "", column["name"])


def headings(kind: str, lang: str) -> dict[str, str]:
    """Each column code of ``kind``'s exports and its heading in ``lang``."""
    return {column["name"]: heading(column, lang) for column in dictionary(kind)}


def write(frame: gpd.GeoDataFrame, path: Path, kind: str, lang: str | None = None) -> list[Path]:
    """Write ``frame`` to ``path`` (format from the extension) with its dictionary; returns the files.

    GeoPackage and XLSX carry the dictionary inside (a ``dictionary`` table or
    sheet); GeoJSON and CSV get a sidecar ``<name>.dictionary.csv``. With ``lang``, the
    tables people read (CSV and XLSX) have headings in that language, and the dictionary
    gives each heading's code; GeoPackage and GeoJSON keep the codes GIS tools match on.
    The importer takes the headings in any language back as their codes.
    """
    fmt = format_for(path)
    if lang and fmt in ("csv", "xlsx"):
        return _write_headed(frame, path, kind, fmt, lang)
    if fmt == "gpkg":
        path.write_bytes(formats.render(frame, "gpkg", layer=kind))
        present = list(frame.columns.drop(frame.geometry.name))
        pyogrio.write_dataframe(dictionary_table(kind, present), path, layer="dictionary",
                                driver="GPKG", append=False)
        return [path]
    web = frame.to_crs(4326)
    if fmt == "geojson":
        path.write_bytes(formats.render(web, "geojson"))
        present = list(frame.columns.drop(frame.geometry.name))
    else:
        present = list(frame.columns.drop(frame.geometry.name)) + ["lon", "lat", "wkt"]
    if fmt == "xlsx":
        path.write_bytes(formats.render(web, fmt, layer=kind,
                                        sheets={"dictionary": dictionary_table(kind, present)}))
        return [path]
    if fmt == "csv":
        path.write_bytes(formats.render(web, fmt, layer=kind))
    sidecar = path.with_name(path.stem + ".dictionary.csv")
    dictionary_table(kind, present).to_csv(sidecar, index=False)
    return [path, sidecar]

