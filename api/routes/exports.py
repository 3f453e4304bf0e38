"""Exports: every plot a plot search finds, or every zone a zone search finds, as one file; and their data dictionary."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from api.auth import OptionalAccount
from api.deps import EngineDep, read_connection
from api.responses import AUTH_ERRORS, DOWNLOADS, OPTIONAL_TOKEN, error_responses
from api.routes.plots import PlotSearch, filters_from_query, query_parameter_docs
from api.routes.zones import ZoneSearch
from locations import formats
from locations.errors import InvalidInput
from locations.imports import exports
from locations.settings import get_settings
from locations.vocabulary import LANGUAGES

router = APIRouter(tags=["exports"])
#: The plot exports take an optional bearer token, as the plot search does.
PLOT_EXPORT_ERRORS = DOWNLOADS | error_responses(*AUTH_ERRORS)

#: Search parameters about pages: an export holds every match, in the search's ``sort``
#: (else the layout's order: region, municipality, zone, cadastral reference).
PAGE_PARAMETERS = ("limit", "cursor", "count", "distances")
#: The language of a CSV's or XLSX's headings and dictionary (codes when not given).
LANG_PARAMETER = {"name": "lang", "in": "query", "required": False,
                  "schema": {"type": "string", "enum": list(LANGUAGES)},
                  "description": "Headings of a CSV or XLSX, and its dictionary, in this "
                                 "language; the dictionary keeps each column's code"}


def _language(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if value not in LANGUAGES:
        raise InvalidInput("lang", f"{value!r}: one of {', '.join(LANGUAGES)}")
    return value


def _file(frame, kind: str, fmt: formats.Format, lang: str | None = None) -> FileResponse:
    """``frame`` written as ``fmt`` by the exporter (the GeoPackage and XLSX with their
    dictionary inside), streamed from a temporary file that is removed once sent."""
    folder = Path(tempfile.mkdtemp(prefix="locations-export-"))
    try:
        path = folder / formats.file_name(kind, fmt)
        exports.write(frame, path, kind, lang)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(
        path, media_type=fmt.media_type, filename=path.name,
        # GeoJSON and CSV carry no dictionary inside: say where it is.
        headers={"Link": f'</exports/dictionary/{kind}>; rel="describedby"'},
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True))


@router.get("/exports/plots", summary="Every plot a search finds, as one file",
            response_class=FileResponse,
            responses=PLOT_EXPORT_ERRORS,
            openapi_extra={"parameters": [p for p in query_parameter_docs()
                                          if p["name"] not in PAGE_PARAMETERS]
                            + [LANG_PARAMETER]} | OPTIONAL_TOKEN)
def export_plots(request: Request, engine: EngineDep, account: OptionalAccount) -> FileResponse:
    """The filters of ``GET /plots``; the file holds every match, not a page, in the order of
    ``sort``, with each plot's score when a ``profile`` is given, as the search page shows
    them. ``f``: gpkg, geojson (default), csv or xlsx. Accounts that see internal fields get
    them."""
    _refuse_paging(set(request.query_params))
    filters = filters_from_query(request, also=frozenset({"lang"}))
    lang = _language(request.query_params.get("lang"))
    fmt = formats.choose_format(request.query_params.get("f"), request.headers.get("accept"))
    return _plots_file(engine, account, filters, fmt, lang)


def _refuse_paging(given: set[str]) -> None:
    paging = [name for name in PAGE_PARAMETERS if name in given]
    if paging:
        raise InvalidInput(paging[0], "an export holds every plot the search finds; paging "
                                      "is for the search")


def _plots_file(engine, account, filters, fmt: formats.Format,
                lang: str | None = None) -> FileResponse:
    """Every plot ``filters`` finds, up to LOCATIONS_MAX_EXPORT_ROWS, written as ``fmt``;
    internal fields for the accounts that see them, as in the search."""
    internal = account.internal_reach if account else None
    with read_connection(engine) as conn:
        frame = exports.select_plots(conn, filters, internal=internal,
                                     max_rows=get_settings().max_export_rows)
    return _file(frame, "plots", fmt, lang)


@router.post("/exports/plots", summary="Every plot a search with a geometry finds, as one file",
             response_class=FileResponse,
             responses=PLOT_EXPORT_ERRORS, openapi_extra=OPTIONAL_TOKEN)
def export_plots_by_body(
    request: Request,
    engine: EngineDep,
    account: OptionalAccount,
    body: PlotSearch,
    f: Annotated[str | None, Query(description="gpkg, geojson (default), csv or xlsx")] = None,
    lang: Annotated[Literal[LANGUAGES] | None,
                    Query(description=LANG_PARAMETER["description"])] = None,
) -> FileResponse:
    """The body of ``POST /plots/search`` (filters, and a GeoJSON ``geometry`` with
    ``within_m``); the file holds every match, not a page, in the order of ``sort``."""
    _refuse_paging(body.model_fields_set)
    fmt = formats.choose_format(f, request.headers.get("accept"))
    return _plots_file(engine, account, body, fmt, lang)


@router.get("/exports/zones", summary="Every zone a zone search finds, as one file",
            response_class=FileResponse, responses=DOWNLOADS)
def export_zones(
    request: Request,
    engine: EngineDep,
    filters: ZoneSearch,
    f: Annotated[str | None, Query(description="gpkg, geojson (default), csv or xlsx")] = None,
) -> FileResponse:
    """The filters of ``GET /zones``; the file has the export layout and its dictionary."""
    fmt = formats.choose_format(f, request.headers.get("accept"))
    with read_connection(engine) as conn:
        frame = exports.select_zones(conn, filters)
    return _file(frame, "zones", fmt)


@router.get("/exports/dictionary/{kind}", summary="Data dictionary of plot or zone exports")
def export_dictionary(kind: Literal["plots", "zones"]) -> dict:
    """What each column of a plot or zone download (``GET /plots?f=...``, ``GET /exports/...``)
    means."""
    return {"table": kind, "columns": exports.dictionary(kind)}
