"""Imports: POST /imports uploads a GIS file, checked row by row, loaded all or nothing within the caller's scope."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, UploadFile

from api.auth import CurrentAccount
from api.deps import EngineDep
from locations.errors import Forbidden, InvalidInput
from locations.importer import import_file
from locations.imports.sources import SUFFIXES
from locations.mappings import available_mappings

router = APIRouter(tags=["imports"])

Target = Literal["regions", "municipalities", "zones", "plots", "infrastructure", "constraints"]


@router.post("/imports", summary="Import a GIS file (all or nothing)")
def create_import(
    engine: EngineDep,
    account: CurrentAccount,
    file: Annotated[UploadFile, File(description="GeoPackage, zipped Shapefile, GeoJSON, "
                                                 "FlatGeobuf, CSV (WKT or lon/lat) or XLSX")],
    target: Annotated[Target, Form()],
    layer: Annotated[str | None, Form()] = None,
    crs: Annotated[str | None, Form(description="e.g. EPSG:3794, when the file has none")] = None,
    encoding: Annotated[str | None, Form(
        description="a CSV's or shapefile's text encoding, e.g. iso-8859-2, when neither UTF-8 "
                    "nor Windows-1250")] = None,
    mapping: Annotated[str | None, Form(description="a shipped mapping, e.g. gurs-parcels")] = None,
    dry_run: Annotated[bool, Form()] = False,
    make_valid: Annotated[bool, Form()] = False,
    skip_invalid: Annotated[bool, Form()] = False,
) -> dict:
    """Check every row, then load: municipality editors only plots and zones of their own
    municipalities, agencies within their regions, admins everything.

    A file with any problem is refused whole (400, each problem with its row), unless
    ``skip_invalid``; rows outside the caller's scope are 403.
    """
    name = Path(file.filename or "upload").name
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise InvalidInput("file", f"{name}: unknown format; use one of {', '.join(SUFFIXES)}")
    if mapping is not None and mapping not in available_mappings() + ["generic"]:
        # Only shipped mappings: a path would let a caller read the server's files.
        raise InvalidInput("mapping", f"unknown mapping {mapping!r}; "
                                      f"shipped: {', '.join(available_mappings())}")
    with tempfile.TemporaryDirectory(prefix="locations-import-") as folder:
        path = Path(folder) / f"upload{suffix}"
        with path.open("wb") as handle:
            while chunk := file.file.read(1 << 20):
                handle.write(chunk)
        report = import_file(
            engine, target, path, layer=layer, crs=crs, encoding=encoding, mapping=mapping,
            dry_run=dry_run, make_valid=make_valid, skip_invalid=skip_invalid, account=account,
            display_name=name,
        )
    if any(field == "scope" for _, field, _ in report.problems) and not report.written:
        raise Forbidden(f"{report.summary()}:\n{report.describe_problems()}")
    if report.rejected:
        raise InvalidInput("file", f"{report.summary()}:\n{report.describe_problems()}")
    return report.as_dict()
