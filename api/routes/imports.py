"""Imports: POST /imports uploads a GIS file, checked row by row, loaded all or nothing within
the caller's scope; with ``Prefer: respond-async`` it runs as a job, followed at /imports/{id}."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, File, Form, Header, Response, UploadFile

from api.auth import CurrentAccount
from api.deps import ConnectionDep, EngineDep
from locations import import_jobs
from locations.errors import Forbidden, InvalidInput
from locations.importer import import_file
from locations.imports.sources import SUFFIXES
from locations.mappings import available_mappings

router = APIRouter(tags=["imports"])

Target = Literal["regions", "municipalities", "zones", "plots", "infrastructure", "constraints"]


def _save_upload(file: UploadFile, folder: Path, suffix: str) -> Path:
    path = folder / f"upload{suffix}"
    with path.open("wb") as handle:
        while chunk := file.file.read(1 << 20):
            handle.write(chunk)
    return path


@router.post("/imports", summary="Import a GIS file (all or nothing)")
def create_import(
    engine: EngineDep,
    account: CurrentAccount,
    background: BackgroundTasks,
    response: Response,
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
    prefer: Annotated[str | None, Header(
        description="respond-async: answer 202 at once and run the import as a job, "
                    "followed at the Location given (for files that take minutes)")] = None,
) -> dict:
    """Check every row, then load: municipality editors only plots and zones of their own
    municipalities, agencies within their regions, admins everything.

    A file with any problem is refused whole (400, each problem with its row), unless
    ``skip_invalid``; rows outside the caller's scope are 403. With ``Prefer:
    respond-async`` the answer is 202 with the job (``Location: /imports/{id}``): the
    same checks and load run after the response, and the job tells its step, rows done
    and, at the end, the same report or refusal.
    """
    name = Path(file.filename or "upload").name
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise InvalidInput("file", f"{name}: unknown format; use one of {', '.join(SUFFIXES)}")
    if mapping is not None and mapping not in available_mappings() + ["generic"]:
        # Only shipped mappings: a path would let a caller read the server's files.
        raise InvalidInput("mapping", f"unknown mapping {mapping!r}; "
                                      f"shipped: {', '.join(available_mappings())}")
    options: dict[str, Any] = {
        "layer": layer, "crs": crs, "encoding": encoding, "mapping": mapping,
        "dry_run": dry_run, "make_valid": make_valid, "skip_invalid": skip_invalid}
    if prefer and "respond-async" in prefer.lower():
        return _start_job(engine, account, target, file, name, suffix, options, background,
                          response)
    with tempfile.TemporaryDirectory(prefix="locations-import-") as folder:
        path = _save_upload(file, Path(folder), suffix)
        report = import_file(engine, target, path, account=account, display_name=name,
                             **options)
    if any(field == "scope" for _, field, _ in report.problems) and not report.written:
        raise Forbidden(f"{report.summary()}:\n{report.describe_problems()}")
    if report.rejected:
        raise InvalidInput("file", f"{report.summary()}:\n{report.describe_problems()}")
    return report.as_dict()


def _start_job(engine, account, target: str, file: UploadFile, name: str, suffix: str,
               options: dict[str, Any], background: BackgroundTasks,
               response: Response) -> dict[str, Any]:
    """Keep the upload, record the job, and run it after the response (202)."""
    folder = Path(tempfile.mkdtemp(prefix="locations-import-job-"))
    try:
        path = _save_upload(file, folder, suffix)
        with engine.begin() as conn:
            job_id = import_jobs.create_job(conn, account, target, name, options)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    # Queued after the response is sent: the import may not start before its 202 is out.
    background.add_task(import_jobs.start_job, engine, job_id, path, account=account,
                        remove=folder, target_name=target, display_name=name, **options)
    response.status_code = 202
    response.headers["Location"] = f"/imports/{job_id}"
    response.headers["Preference-Applied"] = "respond-async"
    with engine.connect() as conn:
        return import_jobs.get_job(conn, job_id, account)


@router.get("/imports", summary="Your import jobs, newest first")
def list_imports(conn: ConnectionDep, account: CurrentAccount) -> dict[str, Any]:
    """The caller's latest import jobs (an admin's: everyone's), each with its state and
    summary; the report is at each job's ``href``."""
    return {"jobs": import_jobs.list_jobs(conn, account)}


@router.get("/imports/{job_id}", summary="An import job: where it stands, then its report")
def get_import(conn: ConnectionDep, account: CurrentAccount, job_id: int) -> dict[str, Any]:
    """``state``: queued, running (``step``, ``done`` of ``total``), succeeded (``report``),
    refused (``report`` with the first problems and ``problems_total``, or ``error``),
    failed, or interrupted (the server stopped during it; nothing was written)."""
    return import_jobs.get_job(conn, job_id, account)


@router.get("/imports/{job_id}/problems", summary="Every problem of an import job's file, as CSV",
            response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
def get_import_problems(conn: ConnectionDep, account: CurrentAccount, job_id: int) -> Response:
    """``row,field,reason`` for every problem the job found (its report lists the first
    1,000 and ``problems_total``); 409 while the job is queued or running."""
    return Response(import_jobs.problems_csv(conn, job_id, account),
                    media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition":
                             f'attachment; filename="import-{job_id}-problems.csv"'})
